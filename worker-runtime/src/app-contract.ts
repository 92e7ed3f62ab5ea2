import type { Environ } from '@gatewire/protocol';

/**
 * What the runtime passes to an app as `env`: the environ extras of SPEC §7.2 that a web
 * `Request` has no place for. Every property is read lazily from the decoded environ.
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
 */
export interface ExecutionContext {
  /** Keeps the process from exiting while it drains until `promise` settles. */
  waitUntil(promise: Promise<unknown>): void;
  /** Accepted for compatibility; there is no origin to fall back to. */
  passThroughOnException(): void;
  /** Free-form properties, for compatibility with runtimes that pass them. */
  readonly props: Record<string, unknown>;
}

/** A fetch handler: `(request, env, ctx) => Response | Promise<Response>`. */
export type FetchHandler = (
  request: Request,
  env: WorkerEnv,
  ctx: ExecutionContext,
) => Response | Promise<Response>;

/** The app contract: `export default { fetch(request, env, ctx) }` (a Hono app is one). */
export interface FetchApp {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response>;
}
