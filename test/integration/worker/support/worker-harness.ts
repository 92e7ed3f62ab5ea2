/**
 * Runs the real CLI (worker-runtime/dist/main.js) as a child process, collects its JSON log lines
 * and stops it (and any worker processes it spawned) when the test is done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogLine } from './log-capture.js';

export const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
export const MAIN = join(ROOT, 'worker-runtime/dist/main.js');
export const FIXTURE_APPS = join(ROOT, 'test/fixtures/apps');

/** Fails clearly when dist/ is missing or older than the sources it is built from. */
export function assertBuilt(): void {
  let built: number;
  try {
    statSync(MAIN);
    built = statSync(join(ROOT, 'worker-runtime/dist/.tsbuildinfo')).mtimeMs;
  } catch {
    throw new Error('worker-runtime/dist is missing: run `npx tsc -b worker-runtime` first');
  }
  const src = join(ROOT, 'worker-runtime/src');
  for (const file of readdirSync(src)) {
    if (statSync(join(src, file)).mtimeMs > built + 1000) {
      throw new Error(
        `worker-runtime/dist is older than src/${file}: run \`npx tsc -b worker-runtime\` first`,
      );
    }
  }
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  /** Wait for this log event before resolving (default 'ready' for --socket, 'running' otherwise). */
  waitFor?: string | null;
  timeoutMs?: number;
}

export class WorkerHarness {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  #waiters: Array<{ predicate: (line: LogLine) => boolean; resolve(line: LogLine): void }> = [];

  private constructor(args: string[], env: Record<string, string | undefined>) {
    this.child = spawn(process.execPath, [MAIN, ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        GATEWIRE_APP: undefined,
        GATEWIRE_SOCKET: undefined,
        GATEWIRE_SOCKET_DIR: undefined,
        GATEWIRE_SECRET: undefined,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.stdout += text;
      partial += text;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const part of parts) {
        if (part.trim() === '') continue;
        let line: LogLine;
        try {
          line = JSON.parse(part) as LogLine;
        } catch {
          continue;
        }
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((waiter) => {
          if (!waiter.predicate(line)) return true;
          waiter.resolve(line);
          return false;
        });
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    // 'close', not 'exit': by then every line the process wrote has been read.
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve({ code, signal });
      });
    });
  }

  /** Starts `node dist/main.js ...args` and waits for its readiness event. */
  static async start(args: string[], options: StartOptions = {}): Promise<WorkerHarness> {
    assertBuilt();
    const harness = new WorkerHarness(args, options.env ?? {});
    running.add(harness);
    const single = args.includes('--socket') || options.env?.GATEWIRE_SOCKET !== undefined;
    const event = options.waitFor === undefined ? (single ? 'ready' : 'running') : options.waitFor;
    if (event !== null) await harness.waitForEvent(event, options.timeoutMs ?? 30_000);
    return harness;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.#exit;
  }

  /** Resolves with the first log line (already seen or future) that matches. */
  waitForLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs = 20_000): Promise<LogLine> {
    const seen = this.lines.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`timed out waiting for ${what}; log so far:\n${this.stdout}\nstderr:\n${this.stderr}`),
        );
      }, timeoutMs);
      const onExit = (): void => {
        clearTimeout(timer);
        reject(
          new Error(
            `the process exited while waiting for ${what}; log:\n${this.stdout}\nstderr:\n${this.stderr}`,
          ),
        );
      };
      this.child.once('close', onExit);
      this.#waiters.push({
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          this.child.off('close', onExit);
          resolve(line);
        },
      });
    });
  }

  waitForEvent(event: string, timeoutMs?: number): Promise<LogLine> {
    return this.waitForLog((line) => line.event === event, `event "${event}"`, timeoutMs);
  }

  /** Lines with this event, in order. */
  events(event: string): LogLine[] {
    return this.lines.filter((line) => line.event === event);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.#exit === null) this.child.kill(signal);
  }

  /** Worker process pids the supervisor spawned (from its log). */
  childPids(): number[] {
    return this.events('spawn').map((line) => line.child_pid as number);
  }

  /** Kills the process and every worker process it spawned, by pid. */
  async stop(): Promise<void> {
    running.delete(this);
    for (const pid of this.childPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (this.#exit === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

const running = new Set<WorkerHarness>();

// If the test process ends without its afterEach (a crash, a timeout), leave no worker behind.
process.on('exit', () => {
  for (const harness of running) {
    for (const pid of [...harness.childPids(), harness.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

/** Stops every harness still running (call in afterEach). */
export async function stopAllWorkers(): Promise<void> {
  await Promise.all([...running].map((harness) => harness.stop()));
}

/** The `*.sock` files of a socket directory. */
export function socketsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.sock'))
      .sort()
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}
