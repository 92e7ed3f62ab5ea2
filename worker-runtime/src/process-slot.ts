import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { isWorkerMessage, type SupervisorMessage, type WorkerMessage } from './ipc-messages.js';

/** Lifecycle of one worker process as the supervisor sees it (STYLE #7). */
export type SlotState = 'starting' | 'ready' | 'draining' | 'exited';

/** What a slot reports to its supervisor. */
export interface SlotListener {
  slotReady(slot: ProcessSlot): void;
  slotExited(slot: ProcessSlot): void;
  slotRecycle(slot: ProcessSlot, reason: string, detail: string): void;
}

/**
 * One worker process of the supervisor: its state, its IPC, its timers (start timeout, grace
 * period), its last heartbeat. The supervisor decides; the slot carries out and reports.
 */
export class ProcessSlot {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Position in the supervisor's numbering, for logs. */
  readonly index: number;
  readonly spawnedAt = performance.now();
  state: SlotState = 'starting';
  address = '';
  readyAt = 0;
  lastHeartbeat = 0;
  requests = 0;
  rss = 0;
  /** Set when the supervisor asked it to drain (reload, recycle, scale down, stop): its exit is expected. */
  retiring = false;
  /** Set when the supervisor killed it for a stuck event loop (--timeout). */
  killedForTimeout = false;
  recycleRequested = false;
  /** What the process said before it gave up starting. */
  fatal: { code: string; message: string } | null = null;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  #listener: SlotListener;
  #startTimer: NodeJS.Timeout | null = null;
  #graceTimer: NodeJS.Timeout | null = null;
  #exited: Promise<void>;

  constructor(child: ChildProcess, index: number, listener: SlotListener, startTimeoutMs: number) {
    this.child = child;
    this.pid = child.pid ?? 0;
    this.index = index;
    this.#listener = listener;
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.state = 'exited';
        this.#clearTimers();
        resolve();
        this.#listener.slotExited(this);
      });
    });
    child.on('message', (message: unknown) => this.#onMessage(message));
    // A dead IPC channel (EPIPE on send) must not crash the supervisor.
    child.on('error', () => undefined);
    this.#startTimer = setTimeout(() => {
      this.#startTimer = null;
      if (this.state === 'starting') {
        this.fatal ??= {
          code: 'START_FAILED',
          message: `not ready after ${Math.round(startTimeoutMs / 1000)} s`,
        };
        this.kill('SIGKILL');
      }
    }, startTimeoutMs);
    this.#startTimer.unref();
  }

  /** Resolves when the process has exited. */
  get exited(): Promise<void> {
    return this.#exited;
  }

  get uptimeMs(): number {
    return performance.now() - this.spawnedAt;
  }

  /** Asks the process to drain (SPEC §11) and kills it if it has not exited within graceMs. */
  drain(reason: string, graceMs: number): void {
    this.retiring = true;
    if (this.state === 'exited') return;
    this.state = 'draining';
    this.send({ type: 'drain', reason });
    if (this.#graceTimer === null) {
      // The process enforces the grace period itself; this is the backstop.
      this.#graceTimer = setTimeout(() => this.kill('SIGKILL'), graceMs + 2000);
      this.#graceTimer.unref();
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.state === 'exited') return;
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }

  send(message: SupervisorMessage, handle?: Socket): boolean {
    if (!this.child.connected) return false;
    try {
      if (handle === undefined) this.child.send(message);
      else this.child.send(message, handle);
      return true;
    } catch {
      return false;
    }
  }

  #onMessage(message: unknown): void {
    if (!isWorkerMessage(message)) return;
    const typed: WorkerMessage = message;
    switch (typed.type) {
      case 'ready':
        if (this.state !== 'starting') return;
        this.state = 'ready';
        this.address = typed.address;
        this.readyAt = performance.now();
        this.lastHeartbeat = this.readyAt;
        if (this.#startTimer !== null) {
          clearTimeout(this.#startTimer);
          this.#startTimer = null;
        }
        this.#listener.slotReady(this);
        return;
      case 'heartbeat':
        this.lastHeartbeat = performance.now();
        this.requests = typed.requests;
        this.rss = typed.rss;
        return;
      case 'recycle':
        if (this.recycleRequested || this.retiring) return;
        this.recycleRequested = true;
        this.#listener.slotRecycle(this, typed.reason, typed.detail);
        return;
      case 'fatal':
        this.fatal = { code: typed.code, message: typed.message };
        return;
    }
  }

  #clearTimers(): void {
    if (this.#startTimer !== null) clearTimeout(this.#startTimer);
    if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
    this.#startTimer = null;
    this.#graceTimer = null;
  }
}
