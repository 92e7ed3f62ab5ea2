/**
 * The example app `npm start` serves: a small page, a JSON route, an echo POST and a streaming
 * route, written against the web-standard fetch contract only.
 *
 *   node worker-runtime/dist/main.js examples/hello/app.ts --socket-dir /tmp/gatewire --processes 2
 */
import type { WorkerEnv } from '@gatewire/worker';

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>gatewire hello</title></head>
<body>
<h1>Hello from gatewire</h1>
<ul>
<li><a href="/json">/json</a>: the request as JSON</li>
<li>POST /echo: the body, echoed back as it arrives</li>
<li><a href="/stream">/stream</a>: ten lines, one every 100 ms</li>
</ul>
</body>
</html>
`;

const encoder = new TextEncoder();

function ticks(count: number, everyMs: number, signal: AbortSignal): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === count || signal.aborted) {
        controller.close();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      sent += 1;
      controller.enqueue(encoder.encode(`tick ${sent} of ${count}\n`));
    },
  });
}

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/':
        return new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } });
      case '/json':
        return Response.json({
          method: request.method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          client: `${env.clientAddr}:${env.clientPort}`,
          requestId: env.requestId,
          userAgent: request.headers.get('user-agent'),
        });
      case '/echo':
        if (request.method !== 'POST')
          return new Response('POST a body here\n', { status: 405, headers: { allow: 'POST' } });
        return new Response(request.body, {
          headers: { 'content-type': request.headers.get('content-type') ?? 'application/octet-stream' },
        });
      case '/stream':
        return new Response(ticks(10, 100, request.signal), {
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        });
      default:
        return new Response('not found\n', { status: 404 });
    }
  },
};
