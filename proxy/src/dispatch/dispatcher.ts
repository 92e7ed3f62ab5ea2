import type { Logger } from 'pino';
import { PROXY_ERRORS } from '../errors/proxy-error.js';
import type { Dispatcher, Exchange } from '../http/exchange.js';
import { serverNameOf } from './environ-builder.js';
import { ForwardingCache } from './forwarding-cache.js';
import { ProxiedRequest, type RequestContext, type UpstreamRoute } from './proxied-request.js';
import { RequestSweep, sweepIntervalFor } from './request-sweep.js';
import { pathBelow, type RouteMatch, type Router } from './router.js';
import type { TrustedProxies } from './trusted-proxies.js';
import { IGNORED_OUTCOMES, type UpstreamOutcomes } from './upstream-outcomes.js';

/** Serves a static route; StaticFiles (proxy/src/static) is one. */
export interface StaticHandler {
  /** `relativePath`: the path below the route; null for the route's own path without its slash. */
  handle(exchange: Exchange, relativePath: string | null): void;
}

export type RouteTarget =
  | { readonly kind: 'upstream'; readonly route: UpstreamRoute }
  | { readonly kind: 'static'; readonly files: StaticHandler };

export interface DispatcherOptions {
  readonly router: Router<RouteTarget>;
  readonly trustedProxies: TrustedProxies;
  readonly serverName: string;
  readonly responseTimeoutMs: number;
  readonly tunnelIdleTimeoutMs: number;
  readonly maxAttempts: number;
  readonly retryAfterSeconds: number;
  readonly bufferMemoryBytes: number;
  readonly bufferMaxBytes: number;
  readonly tempDir: string;
  readonly logger: Logger;
  /** Upstream latency and errors (metrics); ignored when absent. */
  readonly outcomes?: UpstreamOutcomes;
}

/**
 * Routes each exchange by host and path prefix to an upstream group (one ProxiedRequest per
 * request) or a static directory, and counts requests in flight for graceful shutdown.
 */
export class GatewireDispatcher implements Dispatcher, RequestContext {
  readonly trustedProxies: TrustedProxies;
  readonly forwardingCache: ForwardingCache;
  readonly serverName: string;
  readonly responseTimeoutMs: number;
  readonly tunnelIdleTimeoutMs: number;
  readonly maxAttempts: number;
  readonly retryAfterSeconds: number;
  readonly bufferMemoryBytes: number;
  readonly bufferMaxBytes: number;
  readonly tempDir: string;
  readonly logger: Logger;
  readonly outcomes: UpstreamOutcomes;
  readonly #router: Router<RouteTarget>;
  /** The upstream timeouts of every request in flight, on one interval. */
  readonly #sweep: RequestSweep;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  #closing = false;

  constructor(options: DispatcherOptions) {
    this.#router = options.router;
    this.trustedProxies = options.trustedProxies;
    this.forwardingCache = new ForwardingCache(options.trustedProxies);
    this.serverName = options.serverName;
    this.responseTimeoutMs = options.responseTimeoutMs;
    this.tunnelIdleTimeoutMs = options.tunnelIdleTimeoutMs;
    this.maxAttempts = options.maxAttempts;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.bufferMemoryBytes = options.bufferMemoryBytes;
    this.bufferMaxBytes = options.bufferMaxBytes;
    this.tempDir = options.tempDir;
    this.logger = options.logger;
    this.outcomes = options.outcomes ?? IGNORED_OUTCOMES;
    this.#sweep = new RequestSweep(sweepIntervalFor(options.responseTimeoutMs, options.tunnelIdleTimeoutMs));
  }

  /** Upstream requests not yet finished. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Which route a request would take (status page, tests). */
  route(host: string, path: string): RouteMatch<RouteTarget> | null {
    return this.#router.match(serverNameOf(host, this.serverName), path);
  }

  dispatch(exchange: Exchange): void {
    const head = exchange.head;
    if (this.#closing) {
      exchange.upstream = '-';
      exchange.respondError(PROXY_ERRORS.SHUTTING_DOWN.status, PROXY_ERRORS.SHUTTING_DOWN.message, [
        ['retry-after', String(this.retryAfterSeconds)],
      ]);
      return;
    }
    const serverName = serverNameOf(head.host, this.serverName);
    const match = this.#router.match(serverName, head.path);
    if (match === null) {
      exchange.upstream = '-';
      exchange.respondError(PROXY_ERRORS.NO_ROUTE.status, PROXY_ERRORS.NO_ROUTE.message);
      return;
    }
    const target = match.target;
    if (target.kind === 'static') {
      exchange.upstream = 'static';
      // `/static` for a `/static/` route names the directory without its slash: StaticFiles redirects.
      target.files.handle(
        exchange,
        head.path === match.base && match.base !== '' ? null : pathBelow(match, head.path),
      );
      return;
    }
    this.#inFlight++;
    const request = new ProxiedRequest(exchange, target.route, this, serverName);
    this.#sweep.add(request);
    request.start();
  }

  requestFinished(request: ProxiedRequest): void {
    this.#sweep.remove(request);
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** New exchanges are answered 503 from now on (the front stops accepting separately). */
  stopAccepting(): void {
    this.#closing = true;
  }

  /** Stops the timeout sweep (the proxy has closed). */
  close(): void {
    this.#sweep.close();
  }

  /** Resolves when no upstream request is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
