import type { Environ } from '@gatewire/protocol';

/**
 * What the runtime passes to an app as `env`: the environ extras of SPEC §7.2 that a web
 * `Request` has no place for. With Hono, it is `c.env` (`new Hono<{ Bindings: WorkerEnv }>()`).
 *
 * @example
 * ```ts
 * export default {
 *   async fetch(request: Request, env: WorkerEnv) {
 *     console.log(env.requestId, env.clientAddr, env.scheme);
 *     const body = await request.text();
 *     const trailers = await env.trailers; // after the body: request trailers, if any
 *     return new Response(`${body.length} bytes, checksum ${trailers.get('x-checksum')}`);
 *   },
 * };
 * ```
 */
export interface WorkerEnv {
  /** The client's IP address (from a trusted X-Forwarded-For where the proxy is configured so); '' if not on IP. */
  readonly clientAddr: string;
  /** The client's port; 0 if unknown. */
  readonly clientPort: number;
  /** The address the proxy accepted the connection on. */
  readonly serverAddr: string;
  readonly serverPort: number;
  /** The host the request is for (Host header's host, lowercased, no port). */
  readonly serverName: string;
  /** `http` or `https`: what the client used. */
  readonly scheme: string;
  /** The request id, as in the proxy's access log. Log it to correlate. */
  readonly requestId: string;
  /** The raw request-target as received (a ByteString: one character per byte). */
  readonly target: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  readonly httpVersion: string;
  /** Mount prefix of the path consumed by the proxy's route (WSGI SCRIPT_NAME); '' at the root. */
  readonly scriptName: string;
  /** The lowercased Upgrade value on an upgrade request (`websocket`); '' otherwise. */
  readonly upgrade: string;
  /** The body length when known in advance; null for a chunked body. */
  readonly bodyLength: number | null;
  /**
   * The request trailers (SPEC §8.3), once the request body has ended: an empty Headers when
   * there were none. Rejects with the abort reason if the stream is cancelled before the body ends.
   */
  readonly trailers: Promise<Headers>;
  /** The decoded environ itself, for anything not listed above. */
  readonly environ: Readonly<Environ>;
}

/**
 * The `ctx` argument (the shape Hono and Cloudflare-style apps expect as the execution context).
 * One object per process: `props` is shared by all requests.
 *
 * @example
 * ```ts
 * export default {
 *   fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext) {
 *     ctx.waitUntil(sendAnalytics(request.url)); // a draining process waits for it
 *     return new Response('ok');
 *   },
 * };
 * ```
 */
export interface ExecutionContext {
  /** Keeps the process from exiting while it drains until `promise` settles. */
  waitUntil(promise: Promise<unknown>): void;
  /** Accepted for compatibility; there is no origin to fall back to. */
  passThroughOnException(): void;
  /** Free-form properties, for compatibility with runtimes that pass them. */
  readonly props: Record<string, unknown>;
}

/**
 * A fetch handler: `(request, env, ctx) => Response | Promise<Response>`. An app module may
 * export one as its default export.
 *
 * @example
 * ```ts
 * const handler: FetchHandler = (request) => new Response(`you asked for ${new URL(request.url).pathname}`);
 * export default handler;
 * ```
 */
export type FetchHandler = (
  request: Request,
  env: WorkerEnv,
  ctx: ExecutionContext,
) => Response | Promise<Response>;

/**
 * The app contract: `export default { fetch(request, env, ctx) }` (a Hono app is one).
 *
 * @example
 * ```ts
 * const app: FetchApp = { fetch: () => Response.json({ ok: true }) };
 * export default app;
 * ```
 */
export interface FetchApp {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response>;
}
