import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startWorker, type WorkerProcess } from './helpers/worker-process.js';
import { sleep, startTestProxy, tempDir, waitFor, type TestProxy } from './helpers/test-proxy.js';

function pattern(offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 31 + 7) & 0xff;
  return out;
}

describe('wait queue', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const workers: WorkerProcess[] = [];
  let proxy: TestProxy | null = null;

  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  async function syncWorker(name: string): Promise<WorkerProcess> {
    const worker = await startWorker('echo-worker', [
      '--socket',
      `${dir.path}/${name}.sock`,
      '--max-streams',
      '1',
    ]);
    workers.push(worker);
    return worker;
  }

  it('queues when every worker is full, then answers 503 with Retry-After when the queue is full', async () => {
    const worker = await syncWorker('q1');
    proxy = startTestProxy({
      upstream: { queueLength: 1, retryAfterSeconds: 3 },
      upstreams: { app: { sockets: [worker.socketPath] } },
    });
    await proxy.waitForReady('app', 1);
    const first = proxy.request({ path: '/delay', query: 'ms=300' });
    const second = proxy.request({ path: '/delay', query: 'ms=10' });
    const third = proxy.request({ path: '/delay', query: 'ms=10' });
    const [a, b, c] = await Promise.all([first.done, second.done, third.done]);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 503]);
    expect(c.headers).toEqual([['retry-after', '3']]);
    expect(c.error?.message).toMatch(/queue is full/);
    const stats = JSON.parse((await proxy.request({ path: '/stats' }).done).body.toString());
    expect(stats.maxConcurrent).toBe(1);
    expect(stats.refused).toBe(0);
  });

  it('answers 503 when a queued request waits longer than queueTimeoutMs', async () => {
    const worker = await syncWorker('q2');
    proxy = startTestProxy({
      upstream: { queueTimeoutMs: 150 },
      upstreams: { app: { sockets: [worker.socketPath] } },
    });
    await proxy.waitForReady('app', 1);
    const slow = proxy.request({ path: '/delay', query: 'ms=800' });
    const waiting = await proxy.request({ path: '/hello' }).done;
    expect(waiting.status).toBe(503);
    expect(waiting.headers).toEqual([['retry-after', '1']]);
    expect((await slow.done).status).toBe(200);
  });

  it('a client that leaves while queued gives up its place without using a worker', async () => {
    const worker = await syncWorker('q3');
    proxy = startTestProxy({ upstreams: { app: { sockets: [worker.socketPath] } } });
    await proxy.waitForReady('app', 1);
    const busy = proxy.request({ path: '/delay', query: 'ms=300' });
    const leaving = proxy.request({ path: '/hello' });
    expect(proxy.proxy.group('app')!.queueLength).toBe(1);
    leaving.abort();
    expect(proxy.proxy.group('app')!.queueLength).toBe(0);
    expect((await busy.done).status).toBe(200);
    const stats = JSON.parse((await proxy.request({ path: '/stats' }).done).body.toString());
    expect(stats.requests).toBe(2); // the delay and the stats request; never the one that left
    expect(proxy.proxy.dispatcher.inFlight).toBe(0);
  });

  it('spreads load by free capacity and never exceeds max_streams', async () => {
    const a = await startWorker('echo-worker', ['--socket', `${dir.path}/w1.sock`, '--max-streams', '2']);
    const b = await startWorker('echo-worker', ['--socket', `${dir.path}/w2.sock`, '--max-streams', '6']);
    workers.push(a, b);
    proxy = startTestProxy({
      upstreams: { app: { sockets: [a.socketPath, b.socketPath], buffering: 'off' } },
    });
    await proxy.waitForReady('app', 2);
    const exchanges = Array.from({ length: 24 }, () => proxy!.request({ path: '/delay', query: 'ms=100' }));
    const outcomes = await Promise.all(exchanges.map((exchange) => exchange.done));
    expect(outcomes.every((outcome) => outcome.status === 200)).toBe(true);
    const onA = exchanges.filter((exchange) => exchange.header('x-worker-pid') === String(a.pid)).length;
    expect(onA).toBeGreaterThanOrEqual(3);
    expect(onA).toBeLessThanOrEqual(9);
    const statsA = JSON.parse((await proxy.request({ path: '/stats' }).done).body.toString());
    expect(statsA.refused).toBe(0);
  });
});

describe('buffering for low-concurrency workers', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  let seq = 0;
  const workers: WorkerProcess[] = [];
  let proxy: TestProxy | null = null;

  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  async function setup(buffering: string, upstream: Record<string, unknown> = {}): Promise<WorkerProcess> {
    const worker = await startWorker('echo-worker', [
      '--socket',
      `${dir.path}/sync-${++seq}.sock`,
      '--max-streams',
      '1',
    ]);
    workers.push(worker);
    proxy = startTestProxy({
      upstream: { bufferMemoryBytes: 65_536, tempDir: dir.path, ...upstream },
      upstreams: { app: { sockets: [worker.socketPath], buffering } },
    });
    await proxy.waitForReady('app', 1);
    return worker;
  }

  it('a client that does not read does not pin a max_streams=1 worker (response buffering, memory then file)', async () => {
    await setup('auto');
    const total = 3 * 1024 * 1024;
    const stalled = proxy!.request({ path: '/bytes', query: `n=${total}`, blocked: true });
    await waitFor(() => stalled.status === 200);
    const other = await proxy!.request({ path: '/hello' }).done;
    expect(other.status).toBe(200);
    expect(stalled.ended).toBe(false);
    for (let i = 0; i < 100_000 && !stalled.ended; i++) {
      await sleep(1);
      stalled.drain();
    }
    const outcome = await stalled.done;
    expect(outcome.body.length).toBe(total);
    expect(outcome.body.equals(pattern(0, total))).toBe(true);
  });

  it('a slow upload does not hold the worker: the body is buffered before a slot is taken', async () => {
    await setup('auto');
    const upload = proxy!.request({ path: '/echo', manualBody: true });
    await waitFor(() => upload.bodyStarted > 0);
    const total = 512 * 1024;
    for (let offset = 0; offset < total / 2; offset += 16_384) upload.feed(pattern(offset, 16_384));
    const other = await proxy!.request({ path: '/hello' }).done;
    expect(other.status).toBe(200);
    expect(upload.status).toBe(0);
    for (let offset = total / 2; offset < total; offset += 16_384) upload.feed(pattern(offset, 16_384));
    upload.finishBody();
    const outcome = await upload.done;
    expect(outcome.status).toBe(200);
    expect(outcome.body.equals(pattern(0, total))).toBe(true);
  });

  it('announces the length of a buffered chunked body', async () => {
    await setup('on');
    const outcome = await proxy!.request({
      path: '/environ',
      body: [Buffer.from('abc'), Buffer.from('de')],
      bodyLength: null,
    }).done;
    const environ = JSON.parse(outcome.body.toString());
    expect(environ.bodyLength).toBe(5);
    expect(environ.headers).toContainEqual(['content-length', '5']);
  });

  it('with buffering off, a stalled client does pin the worker (the control case)', async () => {
    await setup('off', { queueTimeoutMs: 300 });
    const stalled = proxy!.request({ path: '/bytes', query: `n=${3 * 1024 * 1024}`, blocked: true });
    await waitFor(() => stalled.status === 200);
    const other = await proxy!.request({ path: '/hello' }).done;
    expect(other.status).toBe(503);
    stalled.abort();
  });
});

describe('upgrades (SPEC §13)', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const workers: WorkerProcess[] = [];
  let proxy: TestProxy | null = null;

  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  it('tunnels bytes both ways after a 101', async () => {
    const worker = await startWorker('echo-worker', ['--socket', `${dir.path}/ws.sock`]);
    workers.push(worker);
    proxy = startTestProxy({ upstreams: { app: { sockets: [worker.socketPath] } } });
    await proxy.waitForReady('app', 1);
    const exchange = proxy.request({
      path: '/ws',
      upgrade: 'websocket',
      manualBody: true,
      bodyLength: 0,
      headers: [
        ['host', 'app.test'],
        ['connection', 'Upgrade'],
        ['upgrade', 'websocket'],
      ],
    });
    await waitFor(() => exchange.switched);
    expect(exchange.switchHeaders).toEqual([
      ['upgrade', 'websocket'],
      ['connection', 'upgrade'],
    ]);
    exchange.feed(Buffer.from('ping-1'));
    await waitFor(() => exchange.body.toString() === 'ping-1');
    exchange.feed(Buffer.from('ping-2'));
    await waitFor(() => exchange.body.toString() === 'ping-1ping-2');
    exchange.finishBody();
    const outcome = await exchange.done;
    expect(outcome.truncated).toBe(false);
    await waitFor(() => proxy!.proxy.dispatcher.inFlight === 0);
  });

  it('answers 501 when the worker did not negotiate upgrade', async () => {
    const worker = await startWorker('echo-worker', [
      '--socket',
      `${dir.path}/noup.sock`,
      '--features',
      'trailers',
    ]);
    workers.push(worker);
    proxy = startTestProxy({ upstreams: { app: { sockets: [worker.socketPath] } } });
    await proxy.waitForReady('app', 1);
    const outcome = await proxy.request({ path: '/ws', upgrade: 'websocket', bodyLength: 0 }).done;
    expect(outcome.status).toBe(501);
  });

  it('passes a non-101 answer to an upgrade request through as a normal response', async () => {
    const worker = await startWorker('echo-worker', ['--socket', `${dir.path}/up400.sock`]);
    workers.push(worker);
    proxy = startTestProxy({ upstreams: { app: { sockets: [worker.socketPath] } } });
    await proxy.waitForReady('app', 1);
    const outcome = await proxy.request({ path: '/hello', upgrade: 'websocket', bodyLength: 0 }).done;
    expect(outcome.status).toBe(200);
    expect(outcome.switched).toBe(false);
  });
});
