/**
 * The worker app of the topology tests, as a user's image would add it (FROM gatewire/worker, COPY,
 * ENV GATEWIRE_APP): /whoami and /slow?ms=N answer with the container's hostname and the process
 * id (so the test sees which container and which process served each request; /slow answers only
 * after N ms, so that requests are in flight on a worker that gets killed); everything else is the
 * image's examples/hello app, next to it in the image.
 */
import { hostname } from 'node:os';

interface FetchApp {
  fetch(request: Request, env: unknown): Response | Promise<Response>;
}

let hello: FetchApp | null = null;

function whoami(): Response {
  return Response.json({ host: hostname(), pid: process.pid });
}

export default {
  async fetch(request: Request, env: unknown): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/whoami') return whoami();
    if (url.pathname === '/slow') {
      await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? '100')));
      return whoami();
    }
    if (hello === null) {
      const module = (await import(new URL('../examples/hello/app.ts', import.meta.url).href)) as {
        default: FetchApp;
      };
      hello = module.default;
    }
    return hello.fetch(request, env);
  },
};
