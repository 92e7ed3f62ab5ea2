import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../../proxy/dist/main.js', import.meta.url));

/** `gatewire-proxy` as a real process (built dist/main.js), with its JSON log lines on stdout. */
export class ProxyProcess {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>> = [];
  stderr = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;

  constructor(configPath: string, args: string[] = []) {
    this.child = spawn(process.execPath, [MAIN, '--config', configPath, '--log-format', 'json', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
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

  /** Waits for the "listening" line and returns the port. */
  async port(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.lines.find((entry) => entry.msg === 'gatewire proxy listening');
      if (line) return Number(String(line.address).split(':').pop());
      if (this.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`proxy did not start (exit ${this.exitCode}): ${this.stderr}`);
  }

  async stop(): Promise<void> {
    if (this.exitCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * Writes a config file for a ProxyProcess. The admin listener is off unless the config names one:
 * proxies running side by side would all try its default 127.0.0.1:9090.
 */
export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, `gatewire-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ listen: { host: '127.0.0.1', port: 0 }, admin: false, ...config }));
  return path;
}
