import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawnWorker, startWorker, type WorkerProcess } from './helpers/worker-process.js';
import { sleep, startTestProxy, tempDir, waitFor, type TestProxy } from './helpers/test-proxy.js';

describe('workers that fail', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const workers: WorkerProcess[] = [];
  let proxy: TestProxy | null = null;
  let seq = 0;

  async function worker(fixture: string, args: string[] = []): Promise<WorkerProcess> {
    const socket = `${dir.path}/${fixture}-${++seq}.sock`;
    const started = await startWorker(fixture, ['--socket', socket, ...args]);
    workers.push(started);
    return started;
  }

  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  it('fails only the requests of a worker killed mid-stream (502); the other worker finishes its own', async () => {
    const a = await worker('echo-worker', ['--max-streams', '4']);
    const b = await worker('echo-worker', ['--max-streams', '4']);
    proxy = startTestProxy({ upstreams: { app: { sockets: [a.socketPath, b.socketPath] } } });
    await proxy.waitForReady('app', 2);
    const exchanges = Array.from({ length: 8 }, () => proxy!.request({ path: '/delay', query: 'ms=1500' }));
    const onA = exchanges.filter((exchange) => exchange.upstream === a.address);
    const onB = exchanges.filter((exchange) => exchange.upstream === b.address);
    expect(onA.length).toBe(4);
    expect(onB.length).toBe(4);
    await sleep(100);
    a.kill('SIGKILL');
    const outA = await Promise.all(onA.map((exchange) => exchange.done));
    expect(outA.map((outcome) => outcome.status)).toEqual([502, 502, 502, 502]);
    expect(outA[0].error?.message).toMatch(/went away/);
    const outB = await Promise.all(onB.map((exchange) => exchange.done));
    expect(outB.map((outcome) => outcome.status)).toEqual([200, 200, 200, 200]);
    // New requests go to the survivor.
    const after = await proxy.request({ path: '/hello' }).done;
    expect(after.status).toBe(200);
    expect(
      proxy.logs.find('upstream request failed').every((entry) => typeof entry.requestId === 'string'),
    ).toBe(true);
  });

  it('truncates the response of a worker that exits after the head', async () => {
    const exiting = await worker('exit-mid-response');
    proxy = startTestProxy({ upstreams: { app: { sockets: [exiting.socketPath] } } });
    await proxy.waitForReady('app', 1);
    const outcome = await proxy.request({ path: '/x' }).done;
    expect(outcome.status).toBe(200);
    expect(outcome.truncated).toBe(true);
    expect(outcome.body.toString()).toBe('hello');
  });

  it('retries a refused stream on another worker', async () => {
    const refuser = await worker('refuses-streams');
    const good = await worker('echo-worker');
    proxy = startTestProxy({ upstreams: { app: { sockets: [refuser.socketPath, good.socketPath] } } });
    await proxy.waitForReady('app', 2);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => proxy!.request({ path: '/hello' }).done),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(20).fill(200));
    expect(refuser.count('REFUSED')).toBeGreaterThan(0);
  });

  it('a retry that has to wait in the queue still goes to another worker than the one that refused it', async () => {
    const refuser = await worker('refuses-streams');
    const good = await worker('echo-worker', ['--max-streams', '2']);
    proxy = startTestProxy({ upstreams: { app: { sockets: [refuser.socketPath, good.socketPath] } } });
    await proxy.waitForReady('app', 2);
    // The good worker takes 2 at a time: most retries queue, and the refuser is free whenever
    // they are picked from the queue.
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () => proxy!.request({ path: '/delay', query: 'ms=20' }).done),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(12).fill(200));
  });

  it('holds new streams back from a worker that refused one for its process-wide capacity (SPEC §6.3)', async () => {
    const limited = await worker('process-capacity', ['--capacity', '2', '--max-streams', '64']);
    proxy = startTestProxy({ upstreams: { app: { sockets: [limited.socketPath] } } });
    await proxy.waitForReady('app', 1);
    // Without the hold, each refused request is retried at once on the only worker, refused again,
    // and answered 502 after maxAttempts; with it, refused requests wait for a stream to end.
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => proxy!.request({ path: '/delay', query: 'ms=100' }).done),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(8).fill(200));
    expect(limited.count('REFUSED')).toBeGreaterThan(0);
  });

  it('answers 502 when every attempt is refused', async () => {
    const refuser = await worker('refuses-streams');
    proxy = startTestProxy({
      upstream: { maxAttempts: 2 },
      upstreams: { app: { sockets: [refuser.socketPath] } },
    });
    await proxy.waitForReady('app', 1);
    const outcome = await proxy.request({ path: '/hello' }).done;
    expect(outcome.status).toBe(502);
    expect(refuser.count('REFUSED')).toBe(2);
  });

  it('drains a worker that sends GOAWAY with zero failed requests', async () => {
    const a = await worker('sends-goaway', ['--every', '3']);
    const b = await worker('sends-goaway', ['--every', '4']);
    proxy = startTestProxy({ upstreams: { app: { sockets: [a.socketPath, b.socketPath] } } });
    await proxy.waitForReady('app', 2);
    const statuses: number[] = [];
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all(
        Array.from({ length: 6 }, (_, i) => proxy!.request({ path: '/delay', query: `ms=${i * 5}` }).done),
      );
      statuses.push(...batch.map((outcome) => outcome.status));
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(statuses.length).toBe(60);
    expect(proxy.logs.find('worker sent GOAWAY: draining').length).toBeGreaterThan(3);
  });

  it('keeps a never-ready worker out of rotation (handshake timeout)', async () => {
    const silent = await worker('never-ready');
    const good = await worker('echo-worker');
    proxy = startTestProxy({
      upstream: { handshakeTimeoutMs: 200, maxFails: 1, failTimeoutMs: 60_000 },
      upstreams: { app: { sockets: [silent.socketPath, good.socketPath] } },
    });
    await proxy.waitForReady('app', 1);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => proxy!.request({ path: '/hello' }).done),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(10).fill(200));
    await waitFor(() => proxy!.logs.find('worker ejected after consecutive failures').length > 0);
    const failure = proxy.logs.find('worker connection failed')[0];
    expect(failure.reason).toBe('handshake');
    expect(String(failure.detail)).toMatch(/HANDSHAKE_ERROR/);
  });

  it('ignores a stale socket left by a crashed worker', async () => {
    const stalePath = `${dir.path}/stale.sock`;
    const crashed = spawnWorker('crash-on-start', ['--socket', stalePath]);
    workers.push(crashed);
    await crashed.exited;
    const good = await worker('echo-worker');
    proxy = startTestProxy({ upstreams: { app: { sockets: [stalePath, good.socketPath] } } });
    await proxy.waitForReady('app', 1);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => proxy!.request({ path: '/hello' }).done),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(10).fill(200));
    expect(proxy.logs.find('worker connection failed')).toEqual([]);
  });

  it('answers 503 with Retry-After when no worker is reachable', async () => {
    proxy = startTestProxy({
      upstream: { queueTimeoutMs: 200, retryAfterSeconds: 7 },
      upstreams: { app: { sockets: [`${dir.path}/nobody.sock`] } },
    });
    const outcome = await proxy.request({ path: '/hello' }).done;
    expect(outcome.status).toBe(503);
    expect(outcome.headers).toEqual([['retry-after', '7']]);
  });
});

describe('hostile workers affect only their own requests', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const workers: WorkerProcess[] = [];
  let proxy: TestProxy | null = null;
  let seq = 0;

  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  /** A good group and a hostile group; returns the proxy once both are ready. */
  async function setup(
    fixture: string,
    args: string[] = [],
    upstream: Record<string, unknown> = {},
  ): Promise<void> {
    const good = await startWorker('echo-worker', ['--socket', `${dir.path}/good-${++seq}.sock`]);
    const bad = await startWorker(fixture, ['--socket', `${dir.path}/bad-${++seq}.sock`, ...args]);
    workers.push(good, bad);
    proxy = startTestProxy({
      upstream: { maxFails: 100, ...upstream },
      upstreams: { good: { sockets: [good.socketPath] }, bad: { sockets: [bad.socketPath] } },
      routes: [
        { path: '/', upstream: 'good' },
        { path: '/bad/', upstream: 'bad', mount: true },
      ],
    });
    await proxy.waitForReady('good', 1);
  }

  /** Runs hostile requests while good ones run alongside; the good ones must all succeed. */
  async function alongside(hostile: () => Promise<number[]>): Promise<number[]> {
    const good = Array.from(
      { length: 10 },
      (_, i) => proxy!.request({ path: '/delay', query: `ms=${i * 20}` }).done,
    );
    const statuses = await hostile();
    const goodOutcomes = await Promise.all(good);
    expect(goodOutcomes.map((outcome) => outcome.status)).toEqual(Array(10).fill(200));
    return statuses;
  }

  it('garbage output mid-stream: 502 with a log line naming the worker', async () => {
    await setup('garbage-output');
    await proxy!.waitForReady('bad', 1);
    const statuses = await alongside(async () => [(await proxy!.request({ path: '/bad/x' }).done).status]);
    expect(statuses).toEqual([502]);
    const failure = proxy!.logs
      .find('worker connection failed')
      .find((entry) => String(entry.worker).includes('bad-'));
    expect(String(failure?.detail)).toMatch(/BAD_PREFACE|UNKNOWN_FRAME_TYPE|FRAME_SIZE_ERROR|PROTOCOL_ERROR/);
  });

  it('garbage instead of the preface: the worker never enters rotation, the error quotes its bytes', async () => {
    await setup('garbage-output', ['--at', 'preface'], { queueTimeoutMs: 300 });
    await waitFor(() => proxy!.logs.find('worker connection failed').length > 0);
    const failure = proxy!.logs.find('worker connection failed')[0];
    expect(String(failure.detail)).toMatch(/BAD_PREFACE.*Traceback/);
    const statuses = await alongside(async () => [(await proxy!.request({ path: '/bad/x' }).done).status]);
    expect(statuses).toEqual([503]);
  });

  it('an oversize frame: FRAME_SIZE_ERROR, 502', async () => {
    await setup('oversize-frame');
    await proxy!.waitForReady('bad', 1);
    const statuses = await alongside(async () => [(await proxy!.request({ path: '/bad/x' }).done).status]);
    expect(statuses).toEqual([502]);
    const failure = proxy!.logs.find('worker connection failed')[0];
    expect(String(failure.detail)).toMatch(/FRAME_SIZE_ERROR/);
  });

  it('bad response heads: RESET INVALID_HEAD and 502, the connection stays up', async () => {
    await setup('bad-head');
    await proxy!.waitForReady('bad', 1);
    const statuses = await alongside(async () => {
      const results: number[] = [];
      for (const path of ['/bad/value', '/bad/name', '/bad/nul', '/bad/reason', '/bad/status', '/bad/ok']) {
        const exchange = proxy!.request({ path });
        const outcome = await exchange.done;
        results.push(outcome.status);
        expect(outcome.headers.some(([name]) => name === 'x-evil' || name === 'set-cookie')).toBe(false);
      }
      return results;
    });
    expect(statuses).toEqual([502, 502, 502, 502, 502, 200]);
    expect(
      proxy!.logs.find('upstream request failed').filter((entry) => entry.code === 'INVALID_RESPONSE_HEAD')
        .length,
    ).toBe(5);
    // A status out of range is a stream error too (SPEC §8.1): the connection survived all of it.
    expect(proxy!.logs.find('worker connection failed')).toEqual([]);
  });

  it('closes a connection that sends HEALTH or TRAILERS without the feature (SPEC §5.3: UNKNOWN_FRAME_TYPE)', async () => {
    await setup('unnegotiated-frames', ['--features', 'upgrade']);
    const statuses = await alongside(async () => {
      const results: number[] = [];
      for (const path of ['/health', '/trailers']) {
        await proxy!.waitForReady('bad', 1);
        const outcome = await proxy!.request({ path: `/bad${path}` }).done;
        // HEALTH comes before the head: 502; TRAILERS after it: the response is cut.
        results.push(outcome.truncated ? -1 : outcome.status);
        await waitFor(() =>
          proxy!.logs
            .find('worker connection failed')
            .some((entry) =>
              String(entry.detail).includes(`UNKNOWN_FRAME_TYPE: ${path.slice(1).toUpperCase()} frame`),
            ),
        );
      }
      // It reconnects; valid requests still work.
      await proxy!.waitForReady('bad', 1);
      results.push((await proxy!.request({ path: '/bad/ok' }).done).status);
      return results;
    });
    expect(statuses).toEqual([502, -1, 200]);
  });

  it('a worker that stops answering: 504 before the head, a truncated response after it', async () => {
    await setup('stops-answering', [], { responseTimeoutMs: 300 });
    await proxy!.waitForReady('bad', 1);
    const statuses = await alongside(async () => {
      const [before, mid, ok] = await Promise.all([
        proxy!.request({ path: '/bad/before-head' }).done,
        proxy!.request({ path: '/bad/mid-body' }).done,
        proxy!.request({ path: '/bad/ok' }).done,
      ]);
      expect(mid.truncated).toBe(true);
      return [before.status, mid.status, ok.status];
    });
    expect(statuses).toEqual([504, 200, 200]);
    expect(
      proxy!.logs.find('upstream request failed').filter((entry) => entry.code === 'UPSTREAM_TIMEOUT').length,
    ).toBe(2);
  });

  it('a worker that stops answering PING fails its health check and is reconnected', async () => {
    await setup('stops-answering', ['--no-pong'], { pingIntervalMs: 100, pingTimeoutMs: 200 });
    await proxy!.waitForReady('bad', 1);
    await waitFor(() =>
      proxy!.logs.find('worker connection failed').some((entry) => entry.reason === 'ping-timeout'),
    );
    expect(proxy!.proxy.group('good')!.endpoints[0].ready).toBe(true);
  });
});
