/**
 * The worker app of the observability tests (TS worker). Every response carries `x-pid`.
 *
 *   GET  /obs/ok           200 `ok`
 *   GET  /obs/missing      404 `missing`
 *   POST /obs/upload       201, the body's length as text
 *   GET  /obs/sleep?ms=N   answers after N ms (the request's signal ends the wait)
 *   GET  /obs/throw        the app throws: the worker answers 500 and logs an app-error line
 *                          carrying the request id
 *   GET  /obs/hold?file=F  writes F.started, answers once F.release exists (or the request ends)
 *   GET  /obs/exit         the worker process exits under the request (the proxy sees its
 *                          connection die: 502 WORKER_DIED)
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { WorkerEnv } from '@gatewire/worker';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const url = new URL(request.url);
    const headers = { 'x-pid': String(process.pid), 'content-type': 'text/plain' };
    switch (url.pathname) {
      case '/obs/ok':
        return new Response('ok', { headers });
      case '/obs/missing':
        return new Response('missing', { status: 404, headers });
      case '/obs/upload': {
        const body = await request.arrayBuffer();
        return new Response(String(body.byteLength), { status: 201, headers });
      }
      case '/obs/sleep': {
        const ms = Number(url.searchParams.get('ms') ?? '100');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          request.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        return new Response('slept', { headers });
      }
      case '/obs/hold': {
        const file = url.searchParams.get('file') ?? '';
        writeFileSync(`${file}.started`, String(process.pid));
        while (!existsSync(`${file}.release`) && !request.signal.aborted) await sleep(10);
        return new Response('released', { headers });
      }
      case '/obs/exit':
        process.exit(1);
      // eslint-disable-next-line no-fallthrough -- process.exit does not return
      case '/obs/throw':
        throw new Error(`boom for ${env.requestId}`);
      default:
        return new Response('no such page', { status: 404, headers });
    }
  },
};
