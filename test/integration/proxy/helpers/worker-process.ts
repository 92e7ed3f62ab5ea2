import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/workers/', import.meta.url));

/** A fixture worker process (test/fixtures/workers/<name>.mjs). */
export class WorkerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** `unix:/path` or `tcp://host:port` from its READY line. */
  address = '';
  readonly lines: string[] = [];
  stderr = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;

  constructor(name: string, args: string[], env: Record<string, string> = {}) {
    this.name = name;
    this.child = spawn(process.execPath, [`${FIXTURES}${name}.mjs`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let pending = '';
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        this.lines.push(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The socket path of a unix: address. */
  get socketPath(): string {
    return this.address.slice('unix:'.length);
  }

  /** The port of a tcp:// address. */
  get port(): number {
    return Number(this.address.slice(this.address.lastIndexOf(':') + 1));
  }

  /** Waits for a stdout line starting with `prefix` (bounded). */
  async waitForLine(prefix: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.lines.find((candidate) => candidate.startsWith(prefix));
      if (line !== undefined) return line;
      if (this.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(
      `${this.name}: no "${prefix}" line (exit ${this.exitCode}); stderr: ${this.stderr.slice(-2000)}`,
    );
  }

  count(prefix: string): number {
    return this.lines.filter((line) => line.startsWith(prefix)).length;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.exitCode === null) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.exitCode !== null || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Starts a fixture worker and waits for its READY line. */
export async function startWorker(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  const worker = new WorkerProcess(name, args, env);
  const line = await worker.waitForLine('READY ');
  worker.address = line.slice('READY '.length);
  return worker;
}

/** Starts a fixture worker that is expected to exit or never print READY; does not wait. */
export function spawnWorker(name: string, args: string[], env: Record<string, string> = {}): WorkerProcess {
  return new WorkerProcess(name, args, env);
}
