/**
 * `npm start` (scripts/start.mjs): the proxy and two workers of examples/hello serve the example
 * page on the port PORT names, and Ctrl-C (SIGINT) stops every process it started, exit status 0.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../integration/worker/support/worker-harness.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Every descendant of `pid` (children, their children, …), from /proc. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is gone for our purposes (its parent may not have reaped it yet).
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'latin1'));
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it(
    'serves the example app through the proxy and stops every process on Ctrl-C',
    { timeout: 90_000 },
    async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [join(ROOT, 'scripts/start.mjs')], {
        cwd: ROOT,
        env: { ...process.env, PORT: String(port), GATEWIRE_LOG_FORMAT: 'json' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let processes: number[] = [];
      try {
        let page = '';
        // Up when the page answers (it builds first if dist is stale; workers join within a second).
        for (let i = 0; i < 600 && page === ''; i++) {
          try {
            const response = await request(`http://127.0.0.1:${port}/`);
            const body = await response.body.text();
            if (response.statusCode === 200) page = body;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        expect(page, output).toContain('Hello from gatewire');
        const json = await request(`http://127.0.0.1:${port}/json?x=1`);
        expect(((await json.body.json()) as { query: unknown }).query).toEqual({ x: '1' });
        processes = descendants(child.pid!);
        // The proxy, the supervisor and its two workers at least.
        expect(processes.length).toBeGreaterThanOrEqual(4);
        child.kill('SIGINT');
        expect(await exited).toBe(0);
      } finally {
        if (child.exitCode === null) {
          // A failed assertion above: leave nothing behind (the children run in their own groups).
          for (const pid of [...processes, ...descendants(child.pid!)]) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // gone
            }
          }
          child.kill('SIGKILL');
        }
      }
      for (let i = 0; i < 100 && processes.some(alive); i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(processes.filter(alive), output).toEqual([]);
      expect(output).toContain('[start] stopped');
    },
  );
});
