/**
 * The transfer benchmark's app on gatewire: `POST /upload` counts the request body's bytes as they
 * stream in (nothing buffered) and answers the count; `GET /download?bytes=N` streams N bytes of
 * `a` in 64 KiB chunks, pulled as the proxy grants credit. bench/apps/transfer-node.mjs is the
 * same on node:http, behind nginx.
 */
const CHUNK = new Uint8Array(65_536).fill(0x61);

export default {
  async fetch(request: Request): Promise<Response> {
    if (request.method === 'POST' || request.method === 'PUT') {
      let bytes = 0;
      if (request.body !== null) {
        const reader = request.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
        }
      }
      return new Response(String(bytes), { headers: { 'content-type': 'text/plain' } });
    }
    const total = Number(new URL(request.url).searchParams.get('bytes') ?? '0');
    let sent = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const size = Math.min(CHUNK.byteLength, total - sent);
          if (size <= 0) {
            controller.close();
            return;
          }
          // The same bytes every time: a chunk still referenced by a pending write is unchanged.
          controller.enqueue(size === CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, size));
          sent += size;
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) },
    });
  },
};
