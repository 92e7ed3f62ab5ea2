/**
 * The `queue` feature end to end (SPEC §6.4): the real proxy process in front of the real Python
 * worker (a pre-fork master, 2 processes, --threads 1 --backlog 1: one run slot and one queue slot
 * each). A fast request queued behind a request that blocks is recalled from that process once it
 * has made no progress for upstream.queueStallMs, and served by the other process as soon as it is
 * free, while the blocked request is still running.
 *
 * Deterministic: the slow requests block on files the test creates (testapp's /wait-file), not on
 * sleeps. Needs Python with the worker's requirements (pip install -r
 * worker-runtime/python/requirements.txt) and the built proxy (npx tsc -b proxy).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProxyProcess, writeConfig } from '../../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../../integration/worker/support/temp-dir.js';
import { ROOT } from '../../integration/worker/support/worker-harness.js';

const PYTHON = process.env.PYTHON ?? 'python3';
const TEST_APPS = join(ROOT, 'worker-runtime/python/tests/apps');
const PROXY_MAIN = join(ROOT, 'proxy/dist/main.js');
/** Long enough that the fast request is surely placed in a queue slot on a loaded machine. */
const STALL_MS = 1500;

function pythonEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: [join(ROOT, 'worker-runtime/python'), process.env.PYTHONPATH].filter(Boolean).join(delimiter),
    PYTHONUNBUFFERED: '1',
  };
}

function missingDependency(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import msgpack, gatewire_wsgi'], {
    env: pythonEnv(),
    encoding: 'utf8',
  });
  if (probe.error || probe.status !== 0)
    return `${PYTHON} cannot import msgpack or gatewire_wsgi (${probe.error?.message ?? probe.stderr.trim()}): pip install -r worker-runtime/python/requirements.txt`;
  if (!existsSync(PROXY_MAIN)) return `${PROXY_MAIN} is missing: build the proxy with npx tsc -b proxy`;
  return null;
}

async function text(url: string): Promise<{ status: number; body: string }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.text() };
}

describe('queue slots and RECALL through the proxy and the Python worker (2 processes, --threads 1 --backlog 1)', () => {
  const missing = missingDependency();
  const dir = freshTempDir('queue');
  const socketDir = join(dir.path, 'sockets');
  let worker: ChildProcess;
  let workerExit: Promise<void>;
  let proxy: ProxyProcess;
  let port = 0;
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;

  beforeAll(async () => {
    if (missing !== null) throw new Error(missing);
    mkdirSync(socketDir, { mode: 0o750 });
    worker = spawn(
      PYTHON,
      [
        '-m',
        'gatewire_wsgi',
        'testapp:application',
        '--chdir',
        TEST_APPS,
        '--socket-dir',
        socketDir,
        '--processes',
        '2',
        '--threads',
        '1',
        '--backlog',
        '1',
        '--grace',
        '2',
      ],
      { env: pythonEnv(), stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    workerExit = new Promise((resolve) => worker.once('exit', () => resolve()));
    await waitFor(
      () => readdirSync(socketDir).filter((name) => name.endsWith('.sock')).length === 2,
      30_000,
      () => `2 worker sockets in ${socketDir}`,
    );
    proxy = new ProxyProcess(
      writeConfig(dir.path, {
        // maxAttempts 1: a recall is the proxy taking a request back, not a failed attempt.
        upstream: { queueStallMs: STALL_MS, maxAttempts: 1 },
        upstreams: { app: { socketDir } },
        admin: false,
        log: { level: 'debug', access: true },
      }),
    );
    port = await proxy.port();
    // Both processes handshaken: two requests that block at once land on both.
    const pids = new Set<string>();
    await waitFor(
      () => proxy.lines.filter((line) => line.msg === 'worker connection ready').length >= 2,
      15_000,
    );
    for (let i = 0; i < 20 && pids.size < 2; i++) pids.add((await text(url('/pid'))).body);
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    if (worker !== undefined && worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-worker.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await workerExit;
      clearTimeout(timer);
    }
    dir.remove();
  }, 30_000);

  /** Names of the requests blocked by the running test. */
  const blocked: string[] = [];

  /** Starts a request that blocks in the worker until `release(name)`; resolves the pid it ran on once it started. */
  async function blocking(
    name: string,
  ): Promise<{ pid: string; done: Promise<{ status: number; body: string }> }> {
    blocked.push(name);
    const started = join(dir.path, `${name}.started`);
    const release = join(dir.path, `${name}.release`);
    const done = text(
      url(`/wait-file?started=${encodeURIComponent(started)}&release=${encodeURIComponent(release)}`),
    );
    await waitFor(
      () => existsSync(started),
      15_000,
      () => `${name} to start in a worker`,
    );
    return { pid: readFileSync(started, 'utf8'), done };
  }

  const release = (name: string) => writeFileSync(join(dir.path, `${name}.release`), '');

  // A failed test must not leave a process blocked for the next one.
  afterEach(() => {
    for (const name of blocked.splice(0)) release(name);
  });

  it('recalls a request queued behind a blocked one and serves it on the process that became free', async () => {
    const first = await blocking('first');
    const second = await blocking('second'); // the other process: it had the only free run slot
    expect(second.pid).not.toBe(first.pid);
    // No run slot is free: the fast request goes to a queue slot, on the process that progressed
    // last (the second one), behind the blocked request.
    const fast = text(url('/pid'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    release('first'); // the first process is free; the second stays blocked
    expect(await first.done).toEqual({ status: 200, body: first.pid });
    // Once the second process has made no progress for queueStallMs, the proxy recalls the queued
    // request and it runs on the first process while the second is still blocked.
    const answer = await fast;
    expect(answer).toEqual({ status: 200, body: first.pid });
    expect(existsSync(join(dir.path, 'second.release'))).toBe(false);
    const retried = proxy.lines.filter(
      (line) => line.msg === 'retrying on another worker' && String(line.reason).includes('recalled'),
    );
    expect(retried).toHaveLength(1);
    release('second');
    expect(await second.done).toEqual({ status: 200, body: second.pid });
  }, 30_000);

  it('queues nothing behind a process that has stalled: the next request waits in the proxy for a free one', async () => {
    const first = await blocking('third');
    const second = await blocking('fourth');
    // Both processes have been busy longer than queueStallMs: no queue slot is offered.
    await new Promise((resolve) => setTimeout(resolve, STALL_MS + 200));
    const fast = text(url('/pid'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    release('fourth');
    expect(await fast).toEqual({ status: 200, body: second.pid });
    expect(await second.done).toEqual({ status: 200, body: second.pid });
    const recalls = proxy.lines.filter(
      (line) => line.msg === 'retrying on another worker' && String(line.reason).includes('recalled'),
    );
    expect(recalls).toHaveLength(1); // only the first test's
    release('third');
    expect(await first.done).toEqual({ status: 200, body: first.pid });
  }, 30_000);
});
