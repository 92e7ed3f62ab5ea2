import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ErrorCode, type Health } from '@gatewire/protocol';
import { pino, type Logger } from 'pino';
import type { ExecutionContext, FetchApp, FetchHandler } from './app-contract.js';
import type { LoadedApp } from './app-loader.js';
import { WorkerError } from './errors.js';
import { HealthMonitor } from './health-monitor.js';
import type { RequestStream } from './request-stream.js';
import { SocketListener } from './socket-listener.js';
import { installWebGlobals } from './web-globals.js';
import { DEFAULTS, type ListenTarget } from './worker-config.js';
import { WorkerConnection, type ConnectionHost, type ConnectionSettings } from './worker-connection.js';

/** The version in HELLO's `server`. */
export const SOFTWARE = 'gatewire-worker/0.1.0';

/**
 * Options of WorkerServer (and serve()).
 *
 * @example
 * ```ts
 * new WorkerServer({ app, name: 'shop', concurrency: 128, timeoutMs: 30_000, maxRequests: 10_000 });
 * ```
 */
export interface WorkerServerOptions {
  /** The app: a loaded app, an object with fetch (a Hono app), or a bare fetch function. */
  app: LoadedApp | FetchApp | FetchHandler;
  logger?: Logger;
  /** SPEC §16 label and HELLO `name`. Default 'app'. */
  name?: string;
  /** `max_streams` per connection. Default 256. */
  concurrency?: number;
  initialWindow?: number;
  maxFrameSize?: number;
  /** Per-request limit, ms; 0 = none. A stream past it is reset with TIMEOUT and its signal aborts. */
  timeoutMs?: number;
  /** Emit 'recycle' after this many completed requests; 0 = never. */
  maxRequests?: number;
  /** Emit 'recycle' when the resident set exceeds this; 0 = never. */
  maxMemoryBytes?: number;
  /** Shared secret the proxy must prove (SPEC §5.4); required on TCP. */
  secret?: string | Uint8Array | null;
  /** Lightweight Request and Response (installs the fast global Response). Default true. */
  fastWebObjects?: boolean;
}

/**
 * Lifecycle (STYLE #7): created → serving → draining → closed.
 *
 * @example
 * ```ts
 * if (server.state === 'serving') await server.drain('deploy');
 * ```
 */
export type WorkerServerState = 'created' | 'serving' | 'draining' | 'closed';

/**
 * Why a server asks to be replaced (its 'recycle' event).
 *
 * @example
 * ```ts
 * server.on('recycle', (reason: RecycleReason) => void server.drain(`recycling: ${reason}`));
 * ```
 */
export type RecycleReason = 'max-requests' | 'max-memory';

function asLoadedApp(app: LoadedApp | FetchApp | FetchHandler): LoadedApp {
  if (typeof app === 'function') return { path: '', target: undefined, fetch: app };
  if ('path' in app && 'target' in app && typeof app.fetch === 'function') return app;
  return { path: '', target: app, fetch: (app as FetchApp).fetch as FetchHandler };
}

/** ctx.waitUntil bookkeeping, one object per server (no per-request allocation). */
class ServerContext implements ExecutionContext {
  readonly props: Record<string, unknown> = {};
  #pending = new Set<Promise<unknown>>();
  #onSettled: () => void;

  constructor(onSettled: () => void) {
    this.#onSettled = onSettled;
  }

  get pending(): number {
    return this.#pending.size;
  }

  waitUntil(promise: Promise<unknown>): void {
    const tracked = Promise.resolve(promise).then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(tracked);
    void tracked.then(() => {
      this.#pending.delete(tracked);
      this.#onSettled();
    });
  }

  passThroughOnException(): void {}
}

/**
 * The per-process server: accepts proxy connections, runs the app for each stream, counts,
 * times out and drains (SPEC §11). Events: 'recycle' (reason: RecycleReason, detail: string),
 * once, when max-requests or max-memory is reached; 'drained' when draining has finished.
 *
 * @example
 * ```ts
 * const server = new WorkerServer({ app: { fetch: () => new Response('hi') } });
 * await server.listen({ kind: 'socket', path: '/run/gatewire/app.sock' });
 * process.on('SIGTERM', () => void server.drain().then(() => process.exit(0)));
 * ```
 */
export class WorkerServer extends EventEmitter implements ConnectionHost {
  readonly app: LoadedApp;
  readonly ctx: ExecutionContext;
  readonly logger: Logger;
  readonly settings: ConnectionSettings;
  #state: WorkerServerState = 'created';
  #connections = new Set<WorkerConnection>();
  #listener: SocketListener | null = null;
  #health = new HealthMonitor();
  #requests = 0;
  #inFlight = 0;
  #timeoutMs: number;
  #maxRequests: number;
  #maxMemoryBytes: number;
  #recycleRequested = false;
  #ticker: NodeJS.Timeout;
  #ticks = 0;
  #drained: Promise<void> | null = null;
  #resolveDrained: (() => void) | null = null;
  #serverContext: ServerContext;

  constructor(options: WorkerServerOptions) {
    super();
    this.app = asLoadedApp(options.app);
    this.logger = options.logger ?? pino({ level: 'silent' });
    const secret = options.secret ?? null;
    const fastWebObjects = options.fastWebObjects ?? DEFAULTS.fastWebObjects;
    this.settings = Object.freeze({
      name: options.name ?? 'app',
      maxStreams: options.concurrency ?? DEFAULTS.concurrency,
      initialWindow: options.initialWindow ?? DEFAULTS.initialWindow,
      maxFrameSize: options.maxFrameSize ?? DEFAULTS.maxFrameSize,
      secret: secret === null ? null : typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret,
      fastWebObjects,
      software: SOFTWARE,
    });
    if (fastWebObjects) installWebGlobals();
    this.#timeoutMs = options.timeoutMs ?? 0;
    this.#maxRequests = options.maxRequests ?? 0;
    this.#maxMemoryBytes = options.maxMemoryBytes ?? 0;
    this.#serverContext = new ServerContext(() => this.#checkDrained());
    this.ctx = this.#serverContext;
    const tickMs = this.#timeoutMs > 0 ? Math.max(50, Math.min(1000, this.#timeoutMs / 4)) : 1000;
    this.#ticker = setInterval(() => this.#tick(), tickMs);
    this.#ticker.unref();
  }

  get state(): WorkerServerState {
    return this.#state;
  }

  /** Where the server listens (`unix:/path` or `tcp://host:port`), or null. */
  get address(): string | null {
    return this.#listener?.address ?? null;
  }

  /** The socket file, or null. */
  get socketPath(): string | null {
    return this.#listener?.path ?? null;
  }

  /** Requests completed since start. */
  get requests(): number {
    return this.#requests;
  }

  /** Streams active now, over all connections. */
  get inFlight(): number {
    return this.#inFlight;
  }

  get connections(): number {
    return this.#connections.size;
  }

  /** Listens (SPEC §16 for Unix sockets: temp name, 0660, rename into place). Returns the address. */
  async listen(target: ListenTarget): Promise<string> {
    if (this.#state !== 'created' || this.#listener !== null) {
      throw new WorkerError('INVALID_STATE', `listen() on a server that is ${this.#state}`);
    }
    if (target.kind === 'tcp' && this.settings.secret === null) {
      throw new WorkerError('SECRET_REQUIRED', 'refusing to listen on TCP without a shared secret (SPEC §2)');
    }
    this.#listener = await SocketListener.listen(target, {
      name: this.settings.name,
      logger: this.logger,
      onConnection: (socket) => this.handleConnection(socket),
    });
    this.#state = 'serving';
    return this.#listener.address;
  }

  /** Marks the server serving without a listener of its own (connections are handed in). */
  serveHandedConnections(): void {
    if (this.#state === 'created') this.#state = 'serving';
  }

  /** Serves a connection accepted elsewhere (the supervisor's TCP listener hands them over). */
  handleConnection(socket: Socket): void {
    if (this.#state === 'closed') {
      socket.destroy();
      return;
    }
    const connection = new WorkerConnection(socket, this);
    this.#connections.add(connection);
    if (this.#state === 'draining') connection.drain();
  }

  /**
   * Graceful drain (SPEC §11): remove the socket file and stop accepting, GOAWAY every connection,
   * let active streams and ctx.waitUntil promises finish. Resolves when all connections are closed.
   */
  drain(reason = 'draining'): Promise<void> {
    if (this.#drained !== null) return this.#drained;
    this.#drained = new Promise<void>((resolve) => {
      this.#resolveDrained = resolve;
    });
    this.#state = 'draining';
    this.logger.info(
      { event: 'drain', reason, in_flight: this.#inFlight, connections: this.#connections.size },
      `draining: ${reason}`,
    );
    this.#listener?.close();
    for (const connection of this.#connections) connection.drain();
    this.#checkDrained();
    return this.#drained;
  }

  /** Closes at once: every connection is destroyed and its streams aborted. */
  close(reason = 'worker shutting down'): void {
    if (this.#state === 'closed') return;
    this.#listener?.close();
    this.#state = 'closed';
    for (const connection of this.#connections) connection.destroy(reason);
    clearInterval(this.#ticker);
    this.#health.stop();
    const resolve = this.#resolveDrained;
    this.#resolveDrained = null;
    resolve?.();
  }

  /** Removes the socket file (synchronously; for process exit). */
  removeSocketFile(): void {
    this.#listener?.removeSocketFile();
  }

  // ── ConnectionHost ──

  streamOpened(): void {
    this.#inFlight++;
  }

  streamClosed(_stream: RequestStream): void {
    this.#inFlight--;
    this.#requests++;
    if (this.#maxRequests > 0 && this.#requests >= this.#maxRequests) {
      this.#requestRecycle('max-requests', `served ${this.#requests} requests (--max-requests)`);
    }
  }

  connectionClosed(connection: WorkerConnection): void {
    this.#connections.delete(connection);
    this.#checkDrained();
  }

  health(): Health {
    return this.#health.snapshot(this.#requests, this.#inFlight);
  }

  #requestRecycle(reason: RecycleReason, detail: string): void {
    if (this.#recycleRequested) return;
    this.#recycleRequested = true;
    this.logger.info({ event: 'recycle', reason, detail }, `asking to be recycled: ${detail}`);
    this.emit('recycle', reason, detail);
  }

  #checkDrained(): void {
    if (this.#state !== 'draining' || this.#connections.size > 0 || this.#serverContext.pending > 0) return;
    this.#state = 'closed';
    clearInterval(this.#ticker);
    this.#health.stop();
    this.logger.info({ event: 'drained', requests: this.#requests }, 'drained');
    const resolve = this.#resolveDrained;
    this.#resolveDrained = null;
    resolve?.();
    this.emit('drained');
  }

  #tick(): void {
    this.#ticks++;
    if (this.#timeoutMs > 0) this.#expireStreams();
    if (this.#maxMemoryBytes > 0 && !this.#recycleRequested) {
      const rss = process.memoryUsage.rss();
      if (rss > this.#maxMemoryBytes) {
        this.#requestRecycle(
          'max-memory',
          `resident set ${Math.round(rss / 1048576)} MiB is above ${Math.round(this.#maxMemoryBytes / 1048576)} MiB (--max-memory)`,
        );
      }
    }
    if (this.#ticks % 5 === 0) this.#health.roll();
  }

  /** SPEC §10: a stream past the time limit gets RESET TIMEOUT; its signal aborts with a TimeoutError. */
  #expireStreams(): void {
    const deadline = performance.now() - this.#timeoutMs;
    for (const connection of this.#connections) {
      for (const stream of connection.streams()) {
        if (stream.tunnelOpen || stream.startedAt > deadline) continue;
        const seconds = this.#timeoutMs / 1000;
        this.logger.warn(
          {
            event: 'request-timeout',
            request_id: stream.environ.requestId,
            method: stream.environ.method,
            path: stream.environ.path,
            timeout_s: seconds,
          },
          `request exceeded the ${seconds} s time limit; stream reset with TIMEOUT`,
        );
        stream.reset(
          ErrorCode.TIMEOUT,
          `the request exceeded the worker's time limit of ${seconds} s`,
          new DOMException(`the request exceeded the time limit of ${seconds} s`, 'TimeoutError'),
        );
      }
    }
  }
}
