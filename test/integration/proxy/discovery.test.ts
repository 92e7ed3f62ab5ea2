import { afterEach, describe, expect, it } from 'vitest';
import { spawnWorker, startWorker, type WorkerProcess } from './helpers/worker-process.js';
import { sleep, startTestProxy, tempDir, waitFor, type TestProxy } from './helpers/test-proxy.js';

/** Runs `concurrency` request loops until stopped; counts statuses. */
class RequestLoop {
  readonly statuses = new Map<number, number>();
  readonly pids = new Set<string>();
  #running = true;
  #loops: Promise<void>[];

  constructor(proxy: TestProxy, concurrency: number) {
    this.#loops = Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < 100_000 && this.#running; i++) {
        const exchange = proxy.request({ path: '/delay', query: 'ms=5' });
        const outcome = await exchange.done;
        this.statuses.set(outcome.status, (this.statuses.get(outcome.status) ?? 0) + 1);
        const pid = exchange.header('x-worker-pid');
        if (pid !== undefined) this.pids.add(pid);
      }
    });
  }

  get failures(): number {
    let failures = 0;
    for (const [status, count] of this.statuses) if (status !== 200) failures += count;
    return failures;
  }

  get total(): number {
    let total = 0;
    for (const count of this.statuses.values()) total += count;
    return total;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

describe('socket directory discovery', () => {
  const workers: WorkerProcess[] = [];
  let proxy: TestProxy | null = null;
  const dirs: Array<{ remove(): void }> = [];

  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    for (const dir of dirs.splice(0)) dir.remove();
  });

  it('uses a new socket as soon as fs.watch sees it and drops a vanished one, with zero failed requests', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const start = (): Promise<WorkerProcess> =>
      startWorker('echo-worker', ['--socket-dir', dir.path, '--max-streams', '4']).then((worker) => {
        workers.push(worker);
        return worker;
      });
    // A stale socket from a crashed worker is there from the start: ignored.
    const crashed = spawnWorker('crash-on-start', ['--socket-dir', dir.path]);
    workers.push(crashed);
    await crashed.exited;
    const first = await start();
    proxy = startTestProxy({
      upstream: { socketRescanMs: 3_600_000 },
      upstreams: { app: { socketDir: dir.path } },
    });
    await proxy.waitForReady('app', 1);
    const loop = new RequestLoop(proxy, 4);

    // The periodic rescan is off (1 h): only fs.watch can have found the new socket.
    const second = await start();
    await waitFor(
      () => loop.pids.has(String(second.pid)),
      10_000,
      () => 'a request served by the new worker',
    );

    first.kill('SIGTERM'); // removes its socket, GOAWAY, finishes, exits
    await first.exited;
    const third = await start();
    await waitFor(
      () => loop.pids.has(String(third.pid)),
      5000,
      () => 'a request served by the third worker',
    );
    second.kill('SIGTERM');
    await second.exited;
    await sleep(100);
    await loop.stop();

    expect(loop.failures).toBe(0);
    expect(loop.total).toBeGreaterThan(50);
    await waitFor(() => proxy!.proxy.group('app')!.endpoints.length === 2); // third + the stale one
    expect(
      proxy.proxy
        .group('app')!
        .endpoints.filter((endpoint) => endpoint.ready)
        .map((e) => e.label),
    ).toEqual([third.address]);
    expect(proxy.logs.find('worker connection failed')).toEqual([]);
  });

  it('waits for a directory that does not exist yet', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const sub = `${dir.path}/later`;
    proxy = startTestProxy({ upstream: { socketRescanMs: 50 }, upstreams: { app: { socketDir: sub } } });
    await sleep(100);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(sub);
    const worker = await startWorker('echo-worker', ['--socket-dir', sub]);
    workers.push(worker);
    await proxy.waitForReady('app', 1, 5000);
    expect((await proxy.request({ path: '/hello' }).done).status).toBe(200);
  });
});

describe('tcp:// upstreams with DNS re-resolution', () => {
  const workers: WorkerProcess[] = [];
  let proxy: TestProxy | null = null;

  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  it('follows a name whose addresses change (a compose service scaled up, then down)', async () => {
    const secret = 'dns-test-secret';
    const a = await startWorker('echo-worker', ['--tcp', '127.0.0.1:0', '--secret', secret]);
    workers.push(a);
    const b = await startWorker('echo-worker', ['--tcp', `127.0.0.2:${a.port}`, '--secret', secret]);
    workers.push(b);
    let answer = ['127.0.0.1'];
    let lookups = 0;
    proxy = startTestProxy(
      {
        upstream: { dnsRefreshMs: 100 },
        upstreams: { app: { tcp: [`tcp://workers.internal:${a.port}`], secret } },
      },
      async (hostname) => {
        expect(hostname).toBe('workers.internal');
        lookups++;
        return answer;
      },
    );
    await proxy.waitForReady('app', 1);
    answer = ['127.0.0.1', '127.0.0.2'];
    await proxy.waitForReady('app', 2, 5000);
    const pids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const exchange = proxy.request({ path: '/hello' });
      await exchange.done;
      pids.add(exchange.header('x-worker-pid')!);
    }
    expect(pids).toEqual(new Set([String(a.pid), String(b.pid)]));
    answer = ['127.0.0.2'];
    await waitFor(() => proxy!.proxy.group('app')!.endpoints.length === 1, 5000);
    expect(proxy.proxy.group('app')!.endpoints[0].label).toBe(`tcp://127.0.0.2:${a.port}`);
    expect(lookups).toBeGreaterThan(2);
  });

  it('resolves a real host name (localhost) with dns.lookup', async () => {
    const a = await startWorker('echo-worker', ['--tcp', '127.0.0.1:0', '--secret', 's']);
    workers.push(a);
    proxy = startTestProxy({ upstreams: { app: { tcp: [`tcp://localhost:${a.port}`], secret: 's' } } });
    await proxy.waitForReady('app', 1);
    expect((await proxy.request({ path: '/hello' }).done).status).toBe(200);
  });
});

describe('shared-secret authentication (SPEC §5.4)', () => {
  const workers: WorkerProcess[] = [];
  let proxy: TestProxy | null = null;

  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  it('serves through a TCP worker when both sides share the secret', async () => {
    const worker = await startWorker('echo-worker', ['--tcp', '127.0.0.1:0', '--secret', 'right']);
    workers.push(worker);
    proxy = startTestProxy({ upstreams: { app: { tcp: [worker.address], secret: 'right' } } });
    await proxy.waitForReady('app', 1);
    expect((await proxy.request({ path: '/hello' }).done).status).toBe(200);
  });

  it('refuses a worker with another secret, and says why', async () => {
    const worker = await startWorker('echo-worker', ['--tcp', '127.0.0.1:0', '--secret', 'right']);
    workers.push(worker);
    proxy = startTestProxy({
      upstream: { queueTimeoutMs: 300 },
      upstreams: { app: { tcp: [worker.address], secret: 'wrong' } },
    });
    await waitFor(
      () =>
        proxy!.logs.find(
          'worker authentication failed: check that the proxy and the worker share the same secret',
        ).length > 0,
    );
    expect((await proxy.request({ path: '/hello' }).done).status).toBe(503);
  });

  it('refuses a worker that asks for a secret the proxy does not have', async () => {
    const worker = await startWorker('echo-worker', ['--tcp', '127.0.0.1:0', '--secret', 'right']);
    workers.push(worker);
    proxy = startTestProxy({
      upstream: { queueTimeoutMs: 300 },
      upstreams: { app: { tcp: [worker.address] } },
    });
    await waitFor(() =>
      proxy!.logs.entries.some((entry) => String(entry.detail).includes('no secret is configured')),
    );
    expect((await proxy.request({ path: '/hello' }).done).status).toBe(503);
  });

  it('refuses an unauthenticated TCP worker when a secret is configured', async () => {
    const worker = await startWorker('echo-worker', ['--tcp', '127.0.0.1:0']);
    workers.push(worker);
    proxy = startTestProxy({
      upstream: { queueTimeoutMs: 300 },
      upstreams: { app: { tcp: [worker.address], secret: 's' } },
    });
    await waitFor(() =>
      proxy!.logs.entries.some((entry) => String(entry.detail).includes('does not ask for authentication')),
    );
    expect((await proxy.request({ path: '/hello' }).done).status).toBe(503);
  });
});
