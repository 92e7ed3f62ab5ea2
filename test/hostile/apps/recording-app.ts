/**
 * The worker app behind the hostile-input tests: it records every request it receives (method,
 * raw target, host, the headers that decide framing, body length and the first bytes of the body),
 * so a test can prove what got through the proxy and what never did (the canary requests embedded
 * in smuggling shapes). Run with one process: the record lives in its memory.
 *
 *   GET  /__seen               JSON: every request recorded so far (this one excluded), oldest first
 *   GET  /upgrade-required     426 with `Upgrade: h2c` (RFC 9110 §15.5.22)
 *   GET  /sleep?ms=N           answers after N ms
 *   GET  /big?bytes=N          N bytes in 64 KiB pieces, produced only as they are read
 *   GET  /env                  JSON: the forwarding headers and the header names the app was given
 *   anything else              200 `ok <method> <target>` after reading the whole body
 */
import type { WorkerEnv } from '@gatewire/worker';

interface Seen {
  method: string;
  target: string;
  host: string | null;
  contentLength: string | null;
  transferEncoding: string | null;
  bodyLength: number;
  bodyStart: string;
  pid: number;
}

const seen: Seen[] = [];
const PIECE = new Uint8Array(64 * 1024).fill(0x61);

function bytes(total: number): ReadableStream<Uint8Array> {
  let left = total;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left === 0) {
        controller.close();
        return;
      }
      const size = Math.min(left, PIECE.length);
      left -= size;
      controller.enqueue(size === PIECE.length ? PIECE : PIECE.subarray(0, size));
    },
  });
}

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const url = new URL(request.url);
    const headers = { 'x-pid': String(process.pid), 'x-request-id': env.requestId };
    if (url.pathname === '/__seen') return Response.json(seen, { headers });
    const body = new Uint8Array(await request.arrayBuffer());
    seen.push({
      method: request.method,
      target: env.target,
      host: request.headers.get('host'),
      contentLength: request.headers.get('content-length'),
      transferEncoding: request.headers.get('transfer-encoding'),
      bodyLength: body.length,
      bodyStart: Buffer.from(body.subarray(0, 200)).toString('latin1'),
      pid: process.pid,
    });
    switch (url.pathname) {
      case '/upgrade-required':
        return new Response('use h2c\n', { status: 426, headers: { ...headers, upgrade: 'h2c' } });
      case '/sleep':
        await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? 100)));
        return new Response('slept\n', { headers });
      case '/big':
        return new Response(bytes(Number(url.searchParams.get('bytes') ?? 1 << 20)), { headers });
      case '/env': {
        const names: string[] = [];
        request.headers.forEach((_value, name) => names.push(name));
        return Response.json(
          {
            clientAddr: env.clientAddr,
            scheme: env.scheme,
            forwardedFor: request.headers.get('x-forwarded-for'),
            forwardedProto: request.headers.get('x-forwarded-proto'),
            forwardedHost: request.headers.get('x-forwarded-host'),
            requestId: request.headers.get('x-request-id'),
            names,
          },
          { headers },
        );
      }
      default:
        return new Response(`ok ${request.method} ${env.target}\n`, { headers });
    }
  },
};
