/**
 * The conformance app for the TypeScript worker runtime: the route contract of
 * test/conformance/README.md as a fetch app (`export default { fetch(request, env, ctx) }`).
 *
 *   node worker-runtime/dist/main.js test/conformance/apps/conformance-app.ts --socket "$GATEWIRE_SOCKET"
 *
 * The suite knows what each route does, so it can tell a worker bug from an app answer. Keep it in
 * step with conformance_app.py, its WSGI twin.
 */
import { upgradeTunnel, type WorkerEnv } from '@gatewire/worker';

/** Ids /wait (and /bytes?id=) have seen, and those whose request was cancelled (SPEC §10). */
const started = new Set<string>();
const cancelled = new Set<string>();

/** Byte i of /bytes is i mod 251; a chunk of 251 × 256 bytes always starts at pattern offset 0. */
const CHUNK = (() => {
  const bytes = new Uint8Array(251 * 256);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
  return bytes;
})();

/** How long /wait waits when nobody cancels it (a bound, so that nothing hangs forever). */
const WAIT_LIMIT_MS = 30_000;

function text(body: string, status = 200): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The request body streamed back as it arrives. */
function echo(request: Request): Response {
  return new Response(request.body, { headers: { 'content-type': 'application/octet-stream' } });
}

/** How long OPTIONS holds its stream open after the body ended (see `options`). */
const OPTIONS_LINGER_MS = 100;

/**
 * OPTIONS (the vectors' sequences send OPTIONS *): an echo that ends its response only
 * OPTIONS_LINGER_MS after the request body ended, so that the stream is still open when the
 * script's next frames arrive (protocol/vectors/README.md, `requires`).
 */
function options(request: Request): Response {
  const linger = () => new Promise<void>((resolve) => setTimeout(resolve, OPTIONS_LINGER_MS));
  const body =
    request.body === null
      ? new ReadableStream<Uint8Array>({
          start: async (controller) => {
            await linger();
            controller.close();
          },
        })
      : request.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ flush: linger }));
  return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
}

function bytes(request: Request, n: number, id: string | null): Response {
  if (id) {
    started.add(id);
    request.signal.addEventListener('abort', () => cancelled.add(id), { once: true });
  }
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= n) {
        controller.close();
        return;
      }
      const size = Math.min(CHUNK.length, n - offset);
      controller.enqueue(CHUNK.slice(0, size));
      offset += size;
    },
    cancel() {
      if (id) cancelled.add(id);
    },
  });
  return new Response(body, {
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(n) },
  });
}

async function wait(request: Request, id: string): Promise<Response> {
  started.add(id);
  try {
    await sleep(WAIT_LIMIT_MS, request.signal);
  } catch (reason) {
    cancelled.add(id);
    throw reason;
  }
  return text('waited');
}

function environ(request: Request, env: WorkerEnv): Response {
  const url = new URL(request.url);
  return Response.json({
    method: request.method,
    path: url.pathname,
    query: url.search.slice(1),
    headers: [...request.headers],
    client_addr: env.clientAddr,
    client_port: env.clientPort,
    scheme: env.scheme,
    server_name: env.serverName,
    request_id: env.requestId,
  });
}

function tunnel(request: Request, env: WorkerEnv): Response {
  if (!env.upgrade) return text('upgrade required', 426);
  const { response, tunnel } = upgradeTunnel(request, {
    headers: { upgrade: env.upgrade, connection: 'upgrade' },
  });
  // Raw echo both ways; ends our direction when the client ends its own.
  tunnel.readable.pipeTo(tunnel.writable).catch(() => undefined);
  return response;
}

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    if (request.method === 'OPTIONS') return options(request);
    const url = new URL(request.url);
    const query = url.searchParams;
    switch (url.pathname) {
      case '/hello':
        return text('Hello, World!');
      case '/echo':
        return echo(request);
      case '/bytes':
        return bytes(request, Number(query.get('n') ?? '0'), query.get('id'));
      case '/slow': {
        const ms = Number(query.get('ms') ?? '0');
        await sleep(ms, request.signal);
        return text(`slept ${ms} ms`);
      }
      case '/wait':
        return wait(request, query.get('id') ?? '');
      case '/started':
        return text(started.has(query.get('id') ?? '') ? 'yes' : 'no');
      case '/cancelled':
        return text(cancelled.has(query.get('id') ?? '') ? 'yes' : 'no');
      case '/environ':
        return environ(request, env);
      case '/tunnel':
        return tunnel(request, env);
      case '/error':
        throw new Error('the conformance app fails on purpose');
      default:
        return text('not found', 404);
    }
  },
};
