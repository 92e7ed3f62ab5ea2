import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerStartError } from './errors.js';
import { OutputTail } from './output-tail.js';

/** How to start a worker: a shell command that listens on `$GATEWIRE_SOCKET`. */
export interface WorkerCommand {
  /** Run by `/bin/sh -c`, so `"$GATEWIRE_SOCKET"` expands. */
  command: string;
  /** Working directory (default: the current one). */
  cwd?: string;
  /** Environment for the worker; GATEWIRE_SOCKET is added. Default: this process's, inherited. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Receives everything the worker prints, as it prints it (e.g. to pass it through). */
  onOutput?: (chunk: Buffer) => void;
}

const POLL_MS = 20;

/**
 * Workers not stopped yet. If this process exits with some still running (a crash, an
 * interrupted test run), they are killed and their temp dirs removed, so none is left behind.
 */
const live = new Set<WorkerProcess>();

function killLeftovers(): void {
  for (const worker of live) worker.killNow();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Processes of a process group that are still alive (not zombies), read from /proc. */
function livePidsInGroup(pgid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    // No /proc: ask the kernel whether anything in the group can receive a signal.
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') pids.push(Number(entry));
  }
  return pids;
}

/**
 * A worker started from a shell command, in a fresh temp dir, on `$GATEWIRE_SOCKET` in it. The
 * command runs in its own process group, so signals reach the worker behind the shell.
 */
export class WorkerProcess {
  readonly dir: string;
  readonly socketPath: string;
  readonly command: string;
  readonly output = new OutputTail();
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  #child: ChildProcess;
  #exited = false;
  #stopped = false;
  readonly #exitPromise: Promise<void>;

  private constructor(spec: WorkerCommand) {
    this.command = spec.command;
    this.dir = mkdtempSync(join(tmpdir(), 'gatewire-conformance-'));
    this.socketPath = join(this.dir, 'worker.sock');
    // Inherit the environment (not configuration of the suite: the worker's own).
    const env = { ...(spec.env ?? process.env), GATEWIRE_SOCKET: this.socketPath };
    this.#child = spawn('/bin/sh', ['-c', spec.command], {
      cwd: spec.cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onOutput = (chunk: Buffer) => {
      this.output.push(chunk);
      spec.onOutput?.(chunk);
    };
    this.#child.stdout!.on('data', onOutput);
    this.#child.stderr!.on('data', onOutput);
    if (live.size === 0) process.once('exit', killLeftovers);
    live.add(this);
    this.#exitPromise = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exited = true;
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      this.#child.once('error', (error) => {
        this.output.push(`spawn failed: ${error.message}\n`);
        this.#exited = true;
        resolve();
      });
    });
  }

  /** Starts the command and waits until its socket accepts connections. */
  static async start(spec: WorkerCommand, startTimeoutMs: number): Promise<WorkerProcess> {
    const worker = new WorkerProcess(spec);
    try {
      await worker.#waitForSocket(startTimeoutMs);
    } catch (error) {
      await worker.stop();
      throw error;
    }
    return worker;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The shell (the process group leader) has exited. */
  get shellExited(): boolean {
    return this.#exited;
  }

  /**
   * Whether any process of the worker's group is still running. While the shell runs, its command
   * does (the shell waits for it); once it has exited, a command that outlived it is looked for.
   */
  get running(): boolean {
    const pid = this.#child.pid;
    if (pid === undefined) return false;
    if (!this.#exited) return true;
    return livePidsInGroup(pid).length > 0;
  }

  /** Waits (bounded) for the shell's exit event once its group is gone, so describeExit() can tell. */
  async settled(timeoutMs = 1000): Promise<void> {
    if (!this.#exited) await Promise.race([this.#exitPromise, sleep(timeoutMs)]);
  }

  describeExit(): string {
    if (!this.#exited) return 'stopped (its processes are gone)';
    return this.exitSignal ? `killed by ${this.exitSignal}` : `exited with code ${this.exitCode}`;
  }

  /** Sends a signal to every process of the worker's group (the shell and the worker behind it). */
  signal(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits until no process of the group is left; false on timeout. Polls, bounded. */
  async waitGone(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.running) {
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS * 2);
    }
    return true;
  }

  /** Synchronous last resort (process exit): SIGKILL to the group, temp dir removed. */
  killNow(): void {
    this.signal('SIGKILL');
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops the worker: SIGTERM, then SIGKILL after a grace period; removes the temp dir. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.running) {
      this.signal('SIGTERM');
      if (!(await this.waitGone(graceMs))) {
        this.signal('SIGKILL');
        await this.waitGone(2000);
      }
    }
    if (!this.#exited) await Promise.race([this.#exitPromise, sleep(1000)]);
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
    if (live.size === 0) process.off('exit', killLeftovers);
  }

  async #waitForSocket(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#exited && !this.running) {
        throw new WorkerStartError(
          `the worker command ${this.describeExit()} before listening on ${this.socketPath}: ${this.command}`,
          this.output.text(),
        );
      }
      if (isSocket(this.socketPath) && (await canConnect(this.socketPath))) return;
      if (Date.now() >= deadline) {
        throw new WorkerStartError(
          `the worker did not listen on $GATEWIRE_SOCKET (${this.socketPath}) within ${timeoutMs} ms: ${this.command}`,
          this.output.text(),
        );
      }
      await sleep(POLL_MS);
    }
  }
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
