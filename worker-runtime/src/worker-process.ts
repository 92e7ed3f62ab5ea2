import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { loadApp } from './app-loader.js';
import {
  heartbeatIntervalMs,
  isSupervisorMessage,
  type SupervisorMessage,
  type WorkerMessage,
} from './ipc-messages.js';
import { installWebGlobals } from './web-globals.js';
import type { WorkerConfig } from './worker-config.js';
import { WorkerServer, type RecycleReason } from './worker-server.js';

/** The IPC channel to the supervisor (the `process` object of a forked worker). */
export interface SupervisorChannel {
  send(message: WorkerMessage): void;
  onMessage(listener: (message: SupervisorMessage, handle: Socket | undefined) => void): void;
  /** Called once when the supervisor goes away. */
  onDisconnect(listener: () => void): void;
}

export interface WorkerProcessOptions {
  config: WorkerConfig;
  logger: Logger;
  secret: string | undefined;
  /** null in single-process mode. */
  channel: SupervisorChannel | null;
}

/**
 * One worker process: loads the app, serves it on its socket (or on TCP connections the
 * supervisor hands over), reports to the supervisor (ready, heartbeat, recycle) and drains when
 * told to. Exit is main.ts's business: it awaits `finished`.
 */
export class WorkerProcess {
  readonly server: WorkerServer;
  readonly config: WorkerConfig;
  readonly logger: Logger;
  #channel: SupervisorChannel | null;
  #heartbeat: NodeJS.Timeout | null = null;
  #graceTimer: NodeJS.Timeout | null = null;
  #finished: Promise<'drained' | 'forced'>;
  #resolveFinished!: (how: 'drained' | 'forced') => void;
  #draining = false;

  private constructor(server: WorkerServer, options: WorkerProcessOptions) {
    this.server = server;
    this.config = options.config;
    this.logger = options.logger;
    this.#channel = options.channel;
    this.#finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
  }

  /** Loads the app and starts serving. Throws WorkerError (APP_*, SOCKET_*) on failure. */
  static async start(options: WorkerProcessOptions): Promise<WorkerProcess> {
    const { config, logger, channel } = options;
    // Before the app loads, so that the app's `new Response(...)` builds the fast one.
    if (config.fastWebObjects) installWebGlobals();
    const app = await loadApp(config.app);
    const server = new WorkerServer({
      app,
      logger,
      name: config.name,
      concurrency: config.concurrency,
      initialWindow: config.initialWindow,
      maxFrameSize: config.maxFrameSize,
      timeoutMs: config.timeoutMs,
      maxRequests: config.maxRequests > 0 ? config.maxRequests + jitter(config.maxRequestsJitter) : 0,
      maxMemoryBytes: config.maxMemoryBytes,
      secret: options.secret ?? null,
      fastWebObjects: config.fastWebObjects,
    });
    const worker = new WorkerProcess(server, options);
    let address: string;
    if (config.listen.kind === 'tcp' && channel !== null) {
      // The supervisor owns the TCP listener and hands connections over.
      server.serveHandedConnections();
      address = `tcp://${config.listen.host}:${config.listen.port}`;
    } else {
      address = await server.listen(config.listen);
    }
    server.on('recycle', (reason: RecycleReason, detail: string) => worker.#recycle(reason, detail));
    if (channel !== null) {
      channel.onMessage((message, handle) => worker.#onMessage(message, handle));
      channel.onDisconnect(() => void worker.drain('the supervisor went away'));
      const interval = heartbeatIntervalMs(config.timeoutMs);
      worker.#heartbeat = setInterval(() => worker.#sendHeartbeat(), interval);
      worker.#heartbeat.unref();
      channel.send({ type: 'ready', address });
    }
    logger.info(
      {
        event: 'ready',
        address,
        app: config.app,
        concurrency: config.concurrency,
        mode: channel === null ? 'single' : 'supervised',
      },
      `worker ready on ${address}`,
    );
    return worker;
  }

  /** Resolves when the process may exit: drained, or forced after the grace period. */
  get finished(): Promise<'drained' | 'forced'> {
    return this.#finished;
  }

  /** Graceful drain (SPEC §11), bounded by the grace period; idempotent. */
  drain(reason: string): Promise<'drained' | 'forced'> {
    if (!this.#draining) {
      this.#draining = true;
      this.#graceTimer = setTimeout(() => {
        this.logger.warn(
          { event: 'grace-expired', in_flight: this.server.inFlight, grace_s: this.config.graceMs / 1000 },
          'grace period over; closing the remaining connections',
        );
        this.server.close('grace period over');
        this.#resolveFinished('forced');
      }, this.config.graceMs);
      this.#graceTimer.unref();
      void this.server.drain(reason).then(() => {
        if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
        this.#resolveFinished('drained');
      });
    }
    return this.#finished;
  }

  /**
   * An uncaught exception: the process state is suspect. Stop taking requests once a replacement
   * runs (supervised) or now (single), let in-flight requests finish, then exit.
   */
  crashed(error: unknown): void {
    this.logger.fatal(
      { event: 'uncaught-exception', err: error },
      'uncaught exception; this process will be replaced',
    );
    if (this.#draining) return;
    if (this.#channel !== null) {
      this.#channel.send({ type: 'recycle', reason: 'uncaught-exception', detail: String(error) });
    } else void this.drain('uncaught exception');
  }

  /** Cleanup for process exit: the socket file goes (SPEC §16). */
  removeSocketFile(): void {
    this.server.removeSocketFile();
  }

  #onMessage(message: SupervisorMessage, handle: Socket | undefined): void {
    if (!isSupervisorMessage(message)) return;
    if (message.type === 'drain') void this.drain(message.reason);
    else if (message.type === 'connection' && handle !== undefined) this.server.handleConnection(handle);
  }

  #sendHeartbeat(): void {
    this.#channel?.send({
      type: 'heartbeat',
      requests: this.server.requests,
      inFlight: this.server.inFlight,
      rss: process.memoryUsage.rss(),
    });
  }

  #recycle(reason: RecycleReason, detail: string): void {
    if (this.#channel !== null) this.#channel.send({ type: 'recycle', reason, detail });
    // Without a supervisor, whoever runs this process (an orchestrator) restarts it.
    else void this.drain(`recycling: ${detail}`);
  }
}

function jitter(max: number): number {
  return max > 0 ? Math.floor(Math.random() * (max + 1)) : 0;
}
