import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { WorkerError } from './errors.js';
import { CHILD_CONFIG_ENV, heartbeatIntervalMs } from './ipc-messages.js';
import { ProcessSlot, type SlotListener, type SlotState } from './process-slot.js';
import { socketPathFor } from './socket-listener.js';
import type { WorkerConfig } from './worker-config.js';

/**
 * Options of the Supervisor; the crash-loop and backoff figures default to 5 quick failures and
 * 100 ms doubling up to 5 s.
 *
 * @example
 * ```ts
 * new Supervisor({ config, logger, workerScript: '/app/node_modules/@gatewire/worker/dist/main.js', env: process.env });
 * ```
 */
export interface SupervisorOptions {
  config: WorkerConfig;
  logger: Logger;
  /** The script each worker process runs (the CLI's main.js). */
  workerScript: string;
  /** Environment of the worker processes; the supervisor adds their config. */
  env: Readonly<Record<string, string | undefined>>;
  /** Node flags for the worker processes. */
  execArgv?: string[];
  /** A process not ready after this long is killed. Default 60 s. */
  startTimeoutMs?: number;
  /** First respawn delay after a quick failure; doubles per failure in a row. Default 100 ms. */
  respawnDelayMs?: number;
  maxRespawnDelayMs?: number;
  /** This many quick failures in a row is a crash loop. Default 5. */
  crashLoopLimit?: number;
  /** A process that dies sooner than this after it was spawned failed quickly. Default 10 s. */
  minUptimeMs?: number;
}

/**
 * Lifecycle (STYLE #7): created → starting → running → stopping → stopped.
 *
 * @example
 * ```ts
 * if (supervisor.state === 'running') void supervisor.reload();
 * ```
 */
export type SupervisorState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * A snapshot of one worker process.
 *
 * @example
 * ```ts
 * for (const { pid, state, requests } of supervisor.processes) console.log(pid, state, requests);
 * ```
 */
export interface ProcessInfo {
  readonly pid: number;
  readonly state: SlotState;
  readonly address: string;
  readonly requests: number;
}

/**
 * The pre-fork master (uWSGI's master, gunicorn's arbiter) for fetch apps: keeps `processes`
 * worker processes serving, each on its own socket (SPEC §16) or on connections it hands over
 * from one TCP listener.
 *
 * - respawns a process that dies, with exponential backoff after quick failures, and gives up
 *   on a crash loop (event 'fatal', a WorkerError CRASH_LOOP);
 * - `reload()`: rolling, one process at a time, the new one ready before the old one drains;
 * - `stop()`: every process drains (SPEC §11) within the grace period, then is killed;
 * - `addProcess()`/`removeProcess()`: scale by one;
 * - recycles a process that asks for it (max-requests, max-memory) the same way as a reload;
 * - kills a process whose heartbeat stops for longer than the request timeout (stuck event loop).
 *
 * Signals are main.ts's business; it calls these methods.
 *
 * @example
 * ```ts
 * const supervisor = new Supervisor({ config, logger, workerScript, env: process.env });
 * await supervisor.start();
 * process.on('SIGHUP', () => void supervisor.reload());
 * process.on('SIGTERM', () => void supervisor.stop('SIGTERM').then(() => process.exit(0)));
 * ```
 */
export class Supervisor extends EventEmitter implements SlotListener {
  readonly config: WorkerConfig;
  readonly logger: Logger;
  #options: SupervisorOptions;
  #state: SupervisorState = 'created';
  #target: number;
  /** Processes counted toward the target (starting or ready). */
  #active: ProcessSlot[] = [];
  /** Replacements being started (reload, recycle), not yet counted. */
  #incoming = new Set<ProcessSlot>();
  /** Processes draining on their way out. */
  #retiring = new Set<ProcessSlot>();
  #readyWaiters = new Map<ProcessSlot, (ready: boolean) => void>();
  #respawnTimers = new Set<NodeJS.Timeout>();
  #quickFailures = 0;
  #nextIndex = 0;
  #reloading: Promise<void> | null = null;
  #reloadAgain = false;
  #tcp: Server | null = null;
  #tcpAddress = '';
  /** The config handed to worker processes (on TCP, with the port actually bound). */
  #childConfig: WorkerConfig;
  #roundRobin = 0;
  #watchdog: NodeJS.Timeout | null = null;
  #heartbeatMs: number;
  #startWaiter: { resolve(): void; reject(error: unknown): void } | null = null;
  #stopped: Promise<void> | null = null;
  #resolveStopped: (() => void) | null = null;

  constructor(options: SupervisorOptions) {
    super();
    this.#options = options;
    this.config = options.config;
    this.logger = options.logger;
    this.#target = options.config.processes;
    this.#childConfig = options.config;
    this.#heartbeatMs = heartbeatIntervalMs(options.config.timeoutMs);
  }

  get state(): SupervisorState {
    return this.#state;
  }

  /** The TCP address the supervisor listens on, or '' for socket directories. */
  get tcpAddress(): string {
    return this.#tcpAddress;
  }

  /** The worker processes counted toward the target, and those draining. */
  get processes(): ProcessInfo[] {
    return [...this.#active, ...this.#retiring].map((slot) => ({
      pid: slot.pid,
      state: slot.state,
      address: slot.address,
      requests: slot.requests,
    }));
  }

  /** Starts the processes; resolves when all are ready. Rejects with START_FAILED or CRASH_LOOP. */
  async start(): Promise<void> {
    if (this.#state !== 'created')
      throw new WorkerError('INVALID_STATE', `start() on a ${this.#state} supervisor`);
    this.#state = 'starting';
    const config = this.config;
    this.logger.info(
      {
        event: 'start',
        app: config.app,
        processes: this.#target,
        listen: config.listen.kind === 'tcp' ? 'tcp' : config.listen.kind,
        concurrency: config.concurrency,
        timeout_s: config.timeoutMs / 1000,
        max_requests: config.maxRequests,
        max_memory_mb: Math.round(config.maxMemoryBytes / 1048576),
      },
      `supervisor starting ${this.#target} worker process${this.#target === 1 ? '' : 'es'}`,
    );
    if (config.listen.kind === 'tcp') await this.#listenTcp(config.listen.host, config.listen.port);
    const started = new Promise<void>((resolve, reject) => {
      this.#startWaiter = { resolve, reject };
    });
    for (let i = 0; i < this.#target; i++) this.#active.push(this.#spawn());
    this.#watchdog = setInterval(() => this.#watch(), this.#heartbeatMs);
    this.#watchdog.unref();
    await started;
  }

  /** Rolling reload: for each process, a new one is started and ready before the old one drains. */
  reload(): Promise<void> {
    if (this.#state !== 'running') {
      this.logger.warn(
        { event: 'reload-ignored', state: this.#state },
        `reload ignored: supervisor is ${this.#state}`,
      );
      return Promise.resolve();
    }
    if (this.#reloading !== null) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = this.#rollingReload().finally(() => {
      this.#reloading = null;
      if (this.#reloadAgain && this.#state === 'running') {
        this.#reloadAgain = false;
        void this.reload();
      }
    });
    return this.#reloading;
  }

  /** Graceful stop: every process drains; after the grace period, survivors are killed. */
  stop(reason = 'stop'): Promise<void> {
    if (this.#stopped !== null) return this.#stopped;
    const previous = this.#state;
    this.#state = 'stopping';
    this.#stopped = new Promise<void>((resolve) => {
      this.#resolveStopped = resolve;
    });
    this.logger.info(
      { event: 'stop', reason, processes: this.#active.length + this.#retiring.size + this.#incoming.size },
      `supervisor stopping (${reason}); draining workers`,
    );
    for (const timer of this.#respawnTimers) clearTimeout(timer);
    this.#respawnTimers.clear();
    this.#tcp?.close();
    if (previous === 'starting' && this.#startWaiter !== null) {
      const waiter = this.#startWaiter;
      this.#startWaiter = null;
      waiter.reject(new WorkerError('START_FAILED', `stopped (${reason}) before all workers were ready`));
    }
    for (const slot of this.#allSlots()) this.#retire(slot, reason);
    this.#checkStopped();
    return this.#stopped;
  }

  /** Kills every process at once (a second SIGTERM/SIGINT). */
  kill(): void {
    for (const slot of this.#allSlots()) slot.kill('SIGKILL');
  }

  /** SIGTTIN: one more process. */
  addProcess(): void {
    if (this.#state !== 'running') return;
    this.#target++;
    this.logger.info(
      { event: 'scale', processes: this.#target },
      `adding a worker process (now ${this.#target})`,
    );
    this.#active.push(this.#spawn());
  }

  /** SIGTTOU: one process fewer (never below one). */
  removeProcess(): void {
    if (this.#state !== 'running') return;
    if (this.#target <= 1) {
      this.logger.warn({ event: 'scale', processes: this.#target }, 'not removing the last worker process');
      return;
    }
    this.#target--;
    this.logger.info(
      { event: 'scale', processes: this.#target },
      `removing a worker process (now ${this.#target})`,
    );
    const slot = this.#active.pop();
    if (slot !== undefined) this.#retire(slot, 'scale down');
  }

  // ── SlotListener ──

  slotReady(slot: ProcessSlot): void {
    this.logger.debug({ event: 'worker-ready', child_pid: slot.pid, address: slot.address }, 'worker ready');
    const waiter = this.#readyWaiters.get(slot);
    if (waiter !== undefined) {
      this.#readyWaiters.delete(slot);
      waiter(true);
    }
    if (this.#state === 'stopping') {
      this.#retire(slot, 'stop');
      return;
    }
    if (
      this.#state === 'starting' &&
      this.#active.length >= this.#target &&
      this.#active.every((s) => s.state === 'ready')
    ) {
      this.#state = 'running';
      this.logger.info(
        { event: 'running', processes: this.#active.length, pids: this.#active.map((s) => s.pid) },
        'all worker processes ready',
      );
      const started = this.#startWaiter;
      this.#startWaiter = null;
      started?.resolve();
    }
  }

  slotExited(slot: ProcessSlot): void {
    const wasActive = this.#removeSlot(slot);
    const waiter = this.#readyWaiters.get(slot);
    if (waiter !== undefined) {
      this.#readyWaiters.delete(slot);
      waiter(false);
    }
    this.#removeSocketOf(slot);
    const expected = slot.retiring;
    const exit = {
      event: 'exit',
      child_pid: slot.pid,
      code: slot.exitCode,
      signal: slot.exitSignal,
      expected,
      uptime_s: Math.round(slot.uptimeMs) / 1000,
    };
    if (expected && slot.exitCode === 0) this.logger.info(exit, 'worker process exited');
    else
      this.logger.warn(
        exit,
        `worker process exited ${slot.exitSignal ? `on ${slot.exitSignal}` : `with code ${slot.exitCode}`}`,
      );
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      this.#checkStopped();
      return;
    }
    if (expected || !wasActive) return;
    this.#unexpectedExit(slot);
  }

  slotRecycle(slot: ProcessSlot, reason: string, detail: string): void {
    if (this.#state !== 'running' || !this.#active.includes(slot)) return;
    this.logger.info(
      { event: 'recycle', child_pid: slot.pid, reason, detail },
      `recycling worker ${slot.pid}: ${detail}`,
    );
    void this.#replace(slot, `recycle (${reason})`);
  }

  // ── internals ──

  #spawn(): ProcessSlot {
    const index = ++this.#nextIndex;
    const options = this.#options;
    const child = fork(options.workerScript, [], {
      env: { ...options.env, [CHILD_CONFIG_ENV]: JSON.stringify(this.#childConfig) },
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const slot = new ProcessSlot(child, index, this, options.startTimeoutMs ?? 60_000);
    this.logger.info({ event: 'spawn', child_pid: slot.pid, index }, `spawned worker process ${slot.pid}`);
    return slot;
  }

  #whenReady(slot: ProcessSlot): Promise<boolean> {
    if (slot.state === 'ready') return Promise.resolve(true);
    if (slot.state === 'exited') return Promise.resolve(false);
    return new Promise<boolean>((resolve) => this.#readyWaiters.set(slot, resolve));
  }

  /** Starts a replacement for `old`; once it is ready, `old` drains. Returns whether it worked. */
  async #replace(old: ProcessSlot, reason: string): Promise<boolean> {
    const fresh = this.#spawn();
    this.#incoming.add(fresh);
    const ready = await this.#whenReady(fresh);
    this.#incoming.delete(fresh);
    if (!ready) {
      this.logger.error(
        {
          event: 'replace-failed',
          reason,
          child_pid: fresh.pid,
          code: fresh.exitCode,
          signal: fresh.exitSignal,
          detail: fresh.fatal?.message,
        },
        `the replacement worker failed to start; ${old.pid} keeps serving${fresh.fatal ? `: ${fresh.fatal.message}` : ''}`,
      );
      old.recycleRequested = false;
      return false;
    }
    if (this.#state !== 'running') {
      this.#retire(fresh, 'stop');
      return false;
    }
    const position = this.#active.indexOf(old);
    if (position >= 0) {
      this.#active[position] = fresh;
      this.#retire(old, reason);
    } else if (this.#active.length < this.#target) this.#active.push(fresh);
    else this.#retire(fresh, 'not needed');
    return true;
  }

  async #rollingReload(): Promise<void> {
    const old = [...this.#active];
    const started = performance.now();
    this.logger.info({ event: 'reload', phase: 'begin', processes: old.length }, 'rolling reload: begin');
    let replaced = 0;
    for (const slot of old) {
      if (this.#state !== 'running') return;
      if (!this.#active.includes(slot)) continue; // it died meanwhile; its respawn runs the new code
      if (!(await this.#replace(slot, 'reload'))) {
        this.logger.error(
          { event: 'reload', phase: 'failed', replaced, remaining: old.length - replaced },
          'rolling reload aborted: a new worker failed to start; the others keep serving',
        );
        return;
      }
      replaced++;
    }
    this.logger.info(
      { event: 'reload', phase: 'done', replaced, duration_ms: Math.round(performance.now() - started) },
      'rolling reload: done',
    );
  }

  #retire(slot: ProcessSlot, reason: string): void {
    this.#removeSlot(slot);
    if (slot.state === 'exited') return;
    this.#retiring.add(slot);
    if (slot.state === 'starting') {
      slot.retiring = true;
      slot.kill('SIGTERM'); // not serving yet: nothing to drain
      return;
    }
    slot.drain(reason, this.config.graceMs);
  }

  /** Removes a slot from every set; returns whether it was counted toward the target. */
  #removeSlot(slot: ProcessSlot): boolean {
    const position = this.#active.indexOf(slot);
    if (position >= 0) this.#active.splice(position, 1);
    this.#incoming.delete(slot);
    if (slot.state === 'exited') this.#retiring.delete(slot);
    return position >= 0;
  }

  #allSlots(): ProcessSlot[] {
    return [...this.#active, ...this.#incoming, ...this.#retiring];
  }

  #unexpectedExit(slot: ProcessSlot): void {
    if (this.#state === 'starting' && slot.fatal !== null && slot.fatal.code.startsWith('APP_')) {
      this.#fail(
        new WorkerError('START_FAILED', `worker process ${slot.pid} could not start: ${slot.fatal.message}`),
      );
      return;
    }
    const quick = !slot.killedForTimeout && slot.uptimeMs < (this.#options.minUptimeMs ?? 10_000);
    this.#quickFailures = quick ? this.#quickFailures + 1 : 0;
    const limit = this.#options.crashLoopLimit ?? 5;
    if (this.#quickFailures >= limit) {
      const last =
        slot.fatal?.message ??
        (slot.exitSignal ? `killed by ${slot.exitSignal}` : `exit code ${slot.exitCode}`);
      this.#fail(
        new WorkerError(
          'CRASH_LOOP',
          `crash loop: worker processes died ${this.#quickFailures} times in a row within ${Math.round((this.#options.minUptimeMs ?? 10_000) / 1000)} s of starting (last: ${last}); giving up`,
        ),
      );
      return;
    }
    const initial = this.#options.respawnDelayMs ?? 100;
    const delay = quick
      ? Math.min(this.#options.maxRespawnDelayMs ?? 5000, initial * 2 ** (this.#quickFailures - 1))
      : 0;
    this.logger.warn(
      {
        event: 'respawn',
        after_pid: slot.pid,
        code: slot.exitCode,
        signal: slot.exitSignal,
        delay_ms: delay,
        failures_in_a_row: this.#quickFailures,
      },
      `respawning a worker process in ${delay} ms`,
    );
    const timer = setTimeout(() => {
      this.#respawnTimers.delete(timer);
      if ((this.#state === 'running' || this.#state === 'starting') && this.#active.length < this.#target) {
        this.#active.push(this.#spawn());
      }
    }, delay);
    this.#respawnTimers.add(timer);
  }

  #fail(error: WorkerError): void {
    this.logger.error(
      { event: error.code === 'CRASH_LOOP' ? 'crash-loop' : 'start-failed', detail: error.message },
      error.message,
    );
    const waiter = this.#startWaiter;
    this.#startWaiter = null;
    void this.stop(error.code === 'CRASH_LOOP' ? 'crash loop' : 'start failed');
    if (waiter !== null) waiter.reject(error);
    else this.emit('fatal', error);
  }

  #checkStopped(): void {
    if (this.#state !== 'stopping') return;
    if (this.#allSlots().some((slot) => slot.state !== 'exited')) return;
    this.#state = 'stopped';
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    this.logger.info({ event: 'stopped' }, 'supervisor stopped');
    const resolve = this.#resolveStopped;
    this.#resolveStopped = null;
    resolve?.();
  }

  /** Heartbeat watchdog (--timeout: a stuck event loop) and crash-streak reset. */
  #watch(): void {
    const now = performance.now();
    const minUptime = this.#options.minUptimeMs ?? 10_000;
    const timeoutMs = this.config.timeoutMs;
    for (const slot of this.#allSlots()) {
      if (slot.state !== 'ready' && slot.state !== 'draining') continue;
      if (this.#quickFailures > 0 && slot.state === 'ready' && now - slot.readyAt >= minUptime)
        this.#quickFailures = 0;
      const silentMs = now - slot.lastHeartbeat;
      if (timeoutMs > 0 && !slot.killedForTimeout && silentMs > timeoutMs + this.#heartbeatMs) {
        slot.killedForTimeout = true;
        this.logger.warn(
          {
            event: 'kill',
            reason: 'timeout',
            child_pid: slot.pid,
            silent_ms: Math.round(silentMs),
            timeout_s: timeoutMs / 1000,
          },
          `worker ${slot.pid} stuck: its event loop has not run for ${Math.round(silentMs)} ms (--timeout ${timeoutMs / 1000} s); killing it`,
        );
        slot.kill('SIGKILL');
      }
    }
  }

  #removeSocketOf(slot: ProcessSlot): void {
    const listen = this.config.listen;
    if (listen.kind !== 'socket-dir') return;
    try {
      unlinkSync(socketPathFor(listen.dir, this.config.name, slot.pid));
      this.logger.info(
        { event: 'stale-socket-removed', child_pid: slot.pid },
        'removed the socket of an exited worker',
      );
    } catch {
      // it removed its socket itself
    }
  }

  async #listenTcp(host: string, port: number): Promise<void> {
    const server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#handOff(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) =>
      this.logger.error({ event: 'tcp-error', err: error }, 'TCP listener error'),
    );
    const address = server.address();
    const boundPort = typeof address === 'object' && address !== null ? address.port : port;
    this.#tcp = server;
    this.#childConfig = Object.freeze({
      ...this.config,
      listen: Object.freeze({ kind: 'tcp' as const, host, port: boundPort }),
    });
    this.#tcpAddress = `tcp://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    this.logger.info({ event: 'listening', address: this.#tcpAddress }, `listening on ${this.#tcpAddress}`);
  }

  /** Hands a TCP connection to the next ready process, round robin. */
  #handOff(socket: Socket): void {
    const ready = this.#active.filter((slot) => slot.state === 'ready');
    for (let attempt = 0; attempt < ready.length; attempt++) {
      const slot = ready[this.#roundRobin++ % ready.length];
      if (slot.send({ type: 'connection' }, socket)) return;
    }
    socket.destroy();
  }
}
