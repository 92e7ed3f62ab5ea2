import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type WorkerProcess } from './helpers/worker-process.js';
import { sleep, startTestProxy, tempDir, waitFor, type TestProxy } from './helpers/test-proxy.js';
import type { FakeExchange } from './helpers/fake-exchange.js';

/** Byte i of a fixture body: (i * 31 + 7) & 0xff (worker-kit.mjs patternBytes). */
function pattern(offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 31 + 7) & 0xff;
  return out;
}

/** Plays a client that reads whenever the proxy says it is full, until the response ends. */
async function readSlowly(exchange: FakeExchange, pauseMs: number): Promise<void> {
  for (let i = 0; i < 100_000 && !exchange.ended; i++) {
    await sleep(pauseMs);
    exchange.drain();
  }
}

/** Plays a client that sends `total` bytes, respecting pauseRequestBody. */
async function upload(exchange: FakeExchange, total: number, chunkSize: number): Promise<void> {
  let offset = 0;
  for (let i = 0; i < 1_000_000 && offset < total; i++) {
    if (exchange.paused || exchange.bodyStarted === 0) {
      await sleep(1);
      continue;
    }
    const size = Math.min(chunkSize, total - offset);
    exchange.feed(pattern(offset, size));
    offset += size;
    if (i % 16 === 0) await sleep(0);
  }
  exchange.finishBody();
}

describe('flow control, both directions', () => {
  const dir = tempDir();
  let worker: WorkerProcess;
  let proxy: TestProxy;
  const WINDOW = 65_536;

  beforeAll(async () => {
    const socket = `${dir.path}/echo.sock`;
    worker = await startWorker('echo-worker', [
      '--socket',
      socket,
      '--max-streams',
      '16',
      '--initial-window',
      String(WINDOW),
    ]);
    proxy = startTestProxy({
      upstream: { initialWindow: WINDOW },
      upstreams: { app: { sockets: [socket], buffering: 'off' } },
    });
    await proxy.waitForReady('app', 1);
  });

  afterAll(async () => {
    await proxy.close();
    await worker.stop();
    dir.remove();
  });

  afterEach(() => {
    expect(proxy.proxy.dispatcher.inFlight).toBe(0);
  });

  it('holds at most one window of response per stream while the client does not read', async () => {
    const total = 4 * 1024 * 1024;
    const exchange = proxy.request({ path: '/bytes', query: `n=${total}`, blocked: true });
    await waitFor(() => exchange.bodyBytes > 0);
    await sleep(300); // the worker would send everything now if nothing held it back
    expect(exchange.bodyBytes).toBeLessThanOrEqual(WINDOW);
    // Another stream on the same connection is not stalled by the slow one.
    const other = await proxy.request({ path: '/hello' }).done;
    expect(other.status).toBe(200);
    expect(exchange.ended).toBe(false);
    await readSlowly(exchange, 1);
    const outcome = await exchange.done;
    expect(outcome.status).toBe(200);
    expect(outcome.body.length).toBe(total);
    expect(outcome.body.equals(pattern(0, total))).toBe(true);
    expect(exchange.maxBuffered).toBeLessThanOrEqual(WINDOW);
  });

  it('pauses the client body when the worker gives no credit, and resumes on WINDOW', async () => {
    const total = 2 * 1024 * 1024;
    const exchange = proxy.request({ path: '/echo', manualBody: true, clientBufferBytes: 1 });
    const sending = upload(exchange, total, 16 * 1024);
    const reading = readSlowly(exchange, 2);
    await sending;
    await reading;
    const outcome = await exchange.done;
    expect(outcome.status).toBe(200);
    expect(outcome.body.length).toBe(total);
    expect(outcome.body.equals(pattern(0, total))).toBe(true);
    expect(exchange.pauseCount).toBeGreaterThan(0);
    expect(exchange.resumeCount).toBeGreaterThan(0);
  });

  it('forwards request trailers and response trailers', async () => {
    const exchange = proxy.request({
      path: '/echo',
      body: [Buffer.from('abc')],
      bodyLength: null,
      trailers: [['x-sum', '42']],
    });
    const outcome = await exchange.done;
    expect(outcome.body.toString()).toBe('abc');
    expect(outcome.trailers).toEqual([['x-echo-trailers', JSON.stringify([['x-sum', '42']])]]);
    const trailers = await proxy.request({ path: '/trailers' }).done;
    expect(trailers.trailers).toEqual([['x-checksum', 'abc123']]);
    expect(trailers.headers.some(([name]) => name === 'trailer')).toBe(false); // hop-by-hop
  });

  it('sends RESET CANCEL to the worker when the client goes away', async () => {
    const before = JSON.parse((await proxy.request({ path: '/stats' }).done).body.toString())
      .cancels as number;
    const exchange = proxy.request({ path: '/hang' });
    await waitFor(() => exchange.upstream.startsWith('unix:'));
    await sleep(20);
    exchange.abort('client-gone');
    await waitFor(() => proxy.proxy.dispatcher.inFlight === 0);
    let cancels = before;
    for (let i = 0; i < 100 && cancels === before; i++) {
      await sleep(10);
      cancels = JSON.parse((await proxy.request({ path: '/stats' }).done).body.toString()).cancels as number;
    }
    expect(cancels).toBe(before + 1);
  });

  it('stops the request body on an early response and discards the rest', async () => {
    const exchange = proxy.request({ path: '/early', manualBody: true });
    await waitFor(() => exchange.bodyStarted > 0);
    exchange.feed(Buffer.alloc(1000, 1));
    const outcome = await exchange.done;
    expect(outcome.status).toBe(200);
    expect(outcome.body.toString()).toBe('early');
    expect(exchange.discarded).toBe(true);
  });

  it('maps worker resets: TIMEOUT → 504, APP_ERROR after the head → truncated', async () => {
    const timeout = await proxy.request({ path: '/timeout-reset' }).done;
    expect(timeout.status).toBe(504);
    expect(timeout.headers).toEqual([]);
    const appError = await proxy.request({ path: '/app-error' }).done;
    expect(appError.status).toBe(200);
    expect(appError.truncated).toBe(true);
  });

  it('drops the body of HEAD responses and keeps 204 bodiless', async () => {
    const head = await proxy.request({ method: 'HEAD', path: '/bytes', query: 'n=100000' }).done;
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const noContent = await proxy.request({ path: '/status', query: 'code=204' }).done;
    expect(noContent.status).toBe(204);
  });
});
