import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Dispatcher, ExchangeObserver } from './exchange.js';
import { HttpFrontUsageError } from './http-errors.js';
import { ClientConnectionInfo, type FrontContext, HttpConnection } from './http-connection.js';
import type { HttpExchange } from './http-exchange.js';
import { type HttpFrontOptions, resolveHttpFrontOptions } from './http-front-options.js';

/** What an HttpFront serves and whom it tells. */
export interface HttpFrontConfig {
  /** Receives one Exchange per accepted request head. */
  readonly dispatcher: Dispatcher;
  /** Hears about every finished exchange and every request refused before dispatch (access log, metrics). */
  readonly observer?: ExchangeObserver | null;
  /** Timeouts and limits; defaults in DEFAULT_HTTP_FRONT_OPTIONS. */
  readonly options?: Partial<HttpFrontOptions>;
  /**
   * A dispatcher or handler callback threw. The front has already answered 500 (or closed the
   * connection); this is for logging. Default: `process.emitWarning`.
   */
  readonly onInternalError?: (error: unknown) => void;
}

/** Where to listen: TCP host (default 127.0.0.1; '0.0.0.0' or '::' for every interface) and port (0 = any free port), or a Unix socket path. */
export type HttpFrontListenTarget =
  { readonly host?: string; readonly port: number } | { readonly path: string };

export interface HttpFrontCloseOptions {
  /** How long in-flight exchanges may run on after close() before they are aborted with 'shutdown'. Default 10000. */
  readonly graceMs?: number;
}

/** Lifecycle states (STYLE §7): ready → serving → draining → closed. */
export type HttpFrontState = 'ready' | 'serving' | 'draining' | 'closed';

function defaultInternalError(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'GatewireHttpFrontWarning');
}

function runDeferredFlushes(state: FrontState): void {
  state.flushDeferred();
}

/** What the connections of one front share (FrontContext), kept apart from the front's own lifecycle. */
class FrontState implements FrontContext {
  draining = false;
  activeExchanges = 0;
  /** Exchanges whose heads wait for body bytes to share their write, until the end of this tick. */
  readonly #deferred: HttpExchange[] = [];
  #deferScheduled = false;

  constructor(
    readonly options: Readonly<HttpFrontOptions>,
    readonly dispatcher: Dispatcher,
    readonly observer: ExchangeObserver | null,
    readonly onInternalError: (error: unknown) => void,
    readonly onConnectionClosed: (connection: HttpConnection) => void,
  ) {}

  connectionClosed(connection: HttpConnection): void {
    this.onConnectionClosed(connection);
  }

  internalError(error: unknown): void {
    try {
      this.onInternalError(error);
    } catch {
      // A throwing error hook must not take the connection loop down with it.
    }
  }

  /**
   * One nextTick for every head held in this tick, not one each: a dispatcher answering many
   * requests from one upstream read (a worker's batch of responses) schedules a single callback.
   */
  deferFlush(exchange: HttpExchange): void {
    this.#deferred.push(exchange);
    if (this.#deferScheduled) return;
    this.#deferScheduled = true;
    process.nextTick(runDeferredFlushes, this);
  }

  flushDeferred(): void {
    this.#deferScheduled = false;
    const deferred = this.#deferred;
    // A flush may defer another exchange: the loop reads the length each time.
    for (let i = 0; i < deferred.length; i++) {
      try {
        deferred[i].flushPending();
      } catch (error) {
        this.internalError(error);
      }
    }
    deferred.length = 0;
  }
}

/**
 * The HTTP/1.1 front of the proxy: accepts client connections, parses requests strictly and hands
 * each one to the dispatcher as an Exchange (proxy/src/http/exchange.ts).
 *
 * @example
 * const front = new HttpFront({ dispatcher, observer, options: { maxBodyBytes: 10 << 20 } });
 * await front.listen({ host: '0.0.0.0', port: 8080 });
 * // …
 * await front.close({ graceMs: 10_000 });
 */
export class HttpFront {
  readonly options: Readonly<HttpFrontOptions>;
  #context: FrontState;
  #server: Server;
  #connections = new Set<HttpConnection>();
  #state: HttpFrontState = 'ready';
  #draining = false;
  #accepted = 0;
  #sweepTimer: NodeJS.Timeout | null = null;
  #sweepIntervalMs: number;
  #graceTimer: NodeJS.Timeout | null = null;
  #closed: Promise<void> | null = null;
  #resolveClosed: (() => void) | null = null;
  #serverClosed = false;
  #unixSocket = false;

  constructor(config: HttpFrontConfig) {
    const options = resolveHttpFrontOptions(config.options);
    this.options = options;
    this.#context = new FrontState(
      options,
      config.dispatcher,
      config.observer ?? null,
      config.onInternalError ?? defaultInternalError,
      (connection) => this.#connectionClosed(connection),
    );
    // The sweep runs often enough that no timeout fires more than a quarter of itself late.
    const shortest = Math.min(
      options.headerTimeoutMs,
      options.bodyTimeoutMs,
      options.sendTimeoutMs,
      options.keepAliveTimeoutMs || Number.POSITIVE_INFINITY,
      options.lingerMs || Number.POSITIVE_INFINITY,
    );
    this.#sweepIntervalMs = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, this.#onConnection);
  }

  get state(): HttpFrontState {
    return this.#state;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Exchanges dispatched and not finished yet (requests in flight). */
  get exchangeCount(): number {
    return this.#context.activeExchanges;
  }

  /** Client connections accepted since the front started. */
  get acceptedCount(): number {
    return this.#accepted;
  }

  /** Starts accepting connections. Resolves once listening; rejects on a listen error (EADDRINUSE…). */
  listen(target: HttpFrontListenTarget): Promise<void> {
    if (this.#state !== 'ready')
      return Promise.reject(new HttpFrontUsageError('INVALID_STATE', `listen() in state ${this.#state}`));
    this.#state = 'serving';
    const server = this.#server;
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        this.#state = 'closed';
        reject(error);
      };
      server.once('error', onError);
      const onListening = (): void => {
        server.off('error', onError);
        this.#startSweep();
        resolve();
      };
      if ('path' in target) {
        this.#unixSocket = true;
        server.listen(target.path, onListening);
      } else {
        server.listen(target.port, target.host ?? '127.0.0.1', onListening);
      }
    });
  }

  /** The bound address (TCP), the socket path (Unix), or null when not listening. */
  address(): AddressInfo | string | null {
    return this.#server.address();
  }

  /**
   * Stops accepting, closes idle keep-alive connections, lets in-flight exchanges finish (their
   * responses carry `Connection: close`), and after `graceMs` aborts the rest with 'shutdown'
   * (503 when no response was started, else the connection is cut). Resolves when every
   * connection is closed. Calling it again returns the same promise.
   */
  close(options: HttpFrontCloseOptions = {}): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    const graceMs = options.graceMs ?? 10_000;
    this.#closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#state = 'draining';
    this.#draining = true;
    this.#context.draining = true;
    if (this.#server.listening) {
      this.#server.close(() => {
        this.#serverClosed = true;
        this.#checkClosed();
      });
    } else {
      this.#serverClosed = true;
    }
    for (const connection of this.#connections) connection.requestClose();
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = null;
      for (const connection of this.#connections) connection.forceClose();
    }, graceMs);
    this.#graceTimer.unref();
    this.#checkClosed();
    return this.#closed;
  }

  #onConnection = (socket: Socket): void => {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    this.#accepted++;
    const info = new ClientConnectionInfo(
      socket.remoteAddress ?? '',
      socket.remotePort ?? 0,
      this.#unixSocket ? '' : (socket.localAddress ?? ''),
      socket.localPort ?? 0,
      'http',
    );
    const connection = new HttpConnection(this.#context, socket, info, performance.now());
    this.#connections.add(connection);
  };

  #connectionClosed(connection: HttpConnection): void {
    this.#connections.delete(connection);
    if (this.#draining) this.#checkClosed();
  }

  #checkClosed(): void {
    if (!this.#draining || !this.#serverClosed || this.#connections.size > 0 || this.#resolveClosed === null)
      return;
    this.#state = 'closed';
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
    if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
    const resolve = this.#resolveClosed;
    this.#resolveClosed = null;
    resolve();
  }

  #startSweep(): void {
    // One timer for all connections: each checks its own deadlines against one clock reading.
    this.#sweepTimer = setInterval(this.#sweep, this.#sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  #sweep = (): void => {
    const now = performance.now();
    for (const connection of this.#connections) connection.sweep(now);
  };
}
