/**
 * The worker app of the proxy's end-to-end tests (run by the real TS worker supervisor). Every
 * response carries `x-pid` (the worker process) and `x-request-id` (the request id the proxy gave
 * it), so a test can tell which worker served a request and find its access-log line.
 *
 *   GET  /hello                 `Hello, World!`
 *   GET  /env                   JSON: what the app was told (environ extras, forwarding headers)
 *   POST /echo                  the body, streamed back as it arrives (chunked: no length)
 *   POST /collect               the body read whole; `x-body-length`, `x-trailer-checksum`, `x-had-length`
 *   GET  /sleep?ms=N            answers after N ms
 *   GET  /hold?file=F           writes F.started (holding its pid), answers once F.release exists:
 *                               a request a test can see arrive and then let go, no timing guesses
 *   GET  /stream?n=N&ms=M       N lines, one every M ms (chunked)
 *   GET  /big?bytes=N           N bytes in 64 KiB pieces, produced only as they are read
 *   GET  /not-modified          304 with an ETag and the content-length a GET would have had
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { WorkerEnv } from '@gatewire/worker';

const PIECE = new Uint8Array(64 * 1024).fill(0x61);
const encoder = new TextEncoder();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function lines(count: number, everyMs: number, signal: AbortSignal): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === count || signal.aborted) {
        controller.close();
        return;
      }
      await sleep(everyMs);
      sent += 1;
      controller.enqueue(encoder.encode(`line ${sent} of ${count}\n`));
    },
  });
}

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
    // Below a mounted route the app sees its own paths (WSGI PATH_INFO): the mount is script_name.
    const mount = env.scriptName;
    const path =
      mount !== '' && url.pathname.startsWith(mount) ? url.pathname.slice(mount.length) || '/' : url.pathname;
    const headers = new Headers({ 'x-pid': String(process.pid), 'x-request-id': env.requestId });
    const number = (name: string, fallback: number): number => Number(url.searchParams.get(name) ?? fallback);
    switch (path) {
      case '/hello':
        headers.set('content-type', 'text/plain');
        return new Response('Hello, World!', { headers });
      case '/env':
        return Response.json(
          {
            clientAddr: env.clientAddr,
            clientPort: env.clientPort,
            scheme: env.scheme,
            serverName: env.serverName,
            scriptName: env.scriptName,
            path,
            target: env.target,
            forwardedFor: request.headers.get('x-forwarded-for'),
            forwardedProto: request.headers.get('x-forwarded-proto'),
            forwardedHost: request.headers.get('x-forwarded-host'),
            requestIdHeader: request.headers.get('x-request-id'),
            connection: request.headers.get('connection'),
            keepAlive: request.headers.get('keep-alive'),
            secretHop: request.headers.get('x-secret-hop'),
            underscore: request.headers.get('x_user'),
          },
          { headers },
        );
      case '/echo':
        headers.set('content-type', request.headers.get('content-type') ?? 'application/octet-stream');
        return new Response(request.body, { headers });
      case '/collect': {
        const body = new Uint8Array(await request.arrayBuffer());
        const trailers = await env.trailers;
        headers.set('x-body-length', String(body.length));
        headers.set('x-had-length', String(env.bodyLength !== null));
        headers.set('x-trailer-checksum', trailers.get('x-checksum') ?? '');
        return new Response(body, { headers });
      }
      case '/sleep':
        await sleep(number('ms', 100));
        return new Response('slept\n', { headers });
      case '/hold': {
        const file = url.searchParams.get('file') ?? '';
        writeFileSync(`${file}.started`, String(process.pid));
        while (!existsSync(`${file}.release`) && !request.signal.aborted) await sleep(10);
        return new Response('released\n', { headers });
      }
      case '/stream':
        headers.set('content-type', 'text/plain');
        return new Response(lines(number('n', 10), number('ms', 50), request.signal), { headers });
      case '/big':
        headers.set('content-type', 'application/octet-stream');
        return new Response(bytes(number('bytes', 1 << 20)), { headers });
      case '/not-modified':
        headers.set('etag', '"v1"');
        headers.set('content-length', '13');
        return new Response(null, { status: 304, headers });
      default:
        return new Response('not found\n', { status: 404, headers });
    }
  },
};
