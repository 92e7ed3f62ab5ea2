/**
 * Slow and greedy clients against the real proxy: a slowloris head and a stalled body are cut at
 * the configured timeouts while a well-behaved client keeps being served; a client that never
 * reads a large response holds the proxy's memory to the flow-control windows; idle keep-alive
 * connections cost a bounded amount of proxy memory each. Figures go to stdout (`FIGURE …`).
 */
import { connect, type Socket } from 'node:net';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostileStack } from './hostile-stack.js';

const HOST = 'Host: hostile.test\r\n';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw connection that records what it received and when it was closed. */
class RawClient {
  readonly socket: Socket;
  received = '';
  closedAt = 0;
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (text: string) => (this.received += text));
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.socket.on('close', () => {
        this.closedAt = performance.now();
        resolve();
      }),
    );
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }
}

/** Requests in a row on one keep-alive connection while `running()`; resolves with their latencies (ms) and statuses. */
async function goodClient(
  origin: string,
  running: () => boolean,
): Promise<{ latencies: number[]; statuses: number[] }> {
  const client = new Client(origin);
  const latencies: number[] = [];
  const statuses: number[] = [];
  try {
    while (running() && latencies.length < 2000) {
      const start = performance.now();
      const response = await client.request({ path: '/hello', method: 'GET' });
      await response.body.arrayBuffer();
      latencies.push(performance.now() - start);
      statuses.push(response.statusCode);
      await sleep(5);
    }
  } finally {
    await client.close();
  }
  return { latencies, statuses };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

describe('slow clients are cut at the configured timeouts; others keep being served', () => {
  let stack: HostileStack;
  beforeAll(async () => {
    stack = await HostileStack.start({
      config: { http: { headerTimeoutMs: 1000, bodyTimeoutMs: 1000, lingerMs: 100 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('slowloris heads (one byte every 100 ms) get 408 and a close after headerTimeoutMs; a good client is unaffected', async () => {
    const slow = Array.from({ length: 100 }, () => new RawClient(stack.port));
    await Promise.all(slow.map((client) => client.connected()));
    const started = performance.now();
    let running = true;
    const good = goodClient(stack.origin, () => running);
    const head = `GET /slowloris HTTP/1.1\r\n${HOST}X-Trickle: ${'a'.repeat(100)}\r\n\r\n`;
    // Trickle until every slow connection is closed (or 10 s: the test then fails below).
    for (let i = 0; i < head.length && performance.now() - started < 10_000; i++) {
      const open = slow.filter((client) => client.closedAt === 0);
      if (open.length === 0) break;
      for (const client of open) client.socket.write(head[i]);
      await sleep(100);
    }
    running = false;
    const { latencies, statuses } = await good;
    await Promise.all(slow.map((client) => client.closed));
    const cutAfter = slow.map((client) => client.closedAt - started);
    for (const client of slow) expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
    // Cut after the 1 s header timeout (the front's sweep runs every few hundred ms), well before the head was complete.
    expect(Math.min(...cutAfter)).toBeGreaterThanOrEqual(900);
    expect(Math.max(...cutAfter)).toBeLessThan(5000);
    expect(statuses.length).toBeGreaterThan(20);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect((await stack.seen()).some((request) => request.target === '/slowloris')).toBe(false);
    console.log(
      `FIGURE slowloris: 100 connections cut after ${Math.round(Math.min(...cutAfter))}-${Math.round(Math.max(...cutAfter))} ms (headerTimeoutMs 1000); ` +
        `good client ${statuses.length} requests meanwhile, p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms`,
    );
  });

  it('a body that stops arriving gets 408 after bodyTimeoutMs; the worker never gets a complete request', async () => {
    const slow = Array.from({ length: 20 }, () => new RawClient(stack.port));
    await Promise.all(slow.map((client) => client.connected()));
    const started = performance.now();
    let running = true;
    const good = goodClient(stack.origin, () => running);
    for (const client of slow)
      client.socket.write(`POST /slow-body HTTP/1.1\r\n${HOST}Content-Length: 100\r\n\r\n0123456789`);
    await Promise.all(slow.map((client) => client.closed));
    running = false;
    const { statuses } = await good;
    const cutAfter = slow.map((client) => client.closedAt - started);
    for (const client of slow) expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(Math.min(...cutAfter)).toBeGreaterThanOrEqual(900);
    expect(Math.max(...cutAfter)).toBeLessThan(5000);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect((await stack.seen()).some((request) => request.target === '/slow-body')).toBe(false);
    console.log(
      `FIGURE slow body: 20 stalled bodies cut after ${Math.round(Math.min(...cutAfter))}-${Math.round(Math.max(...cutAfter))} ms (bodyTimeoutMs 1000); good client ${statuses.length} × 200 meanwhile`,
    );
  });

  it('a body trickling faster than bodyTimeoutMs is not cut (the timeout is between reads, as nginx)', async () => {
    const client = new RawClient(stack.port);
    await client.connected();
    client.socket.write(`POST /trickle HTTP/1.1\r\n${HOST}Content-Length: 8\r\n\r\n`);
    for (let i = 0; i < 8; i++) {
      await sleep(400);
      client.socket.write('x');
    }
    await expect.poll(() => client.received).toMatch(/^HTTP\/1\.1 200 /);
    client.socket.destroy();
    const seen = await stack.seen();
    expect(seen.find((request) => request.target === '/trickle')?.bodyLength).toBe(8);
  });
});

describe('greedy clients: memory stays bounded', () => {
  let stack: HostileStack;
  beforeAll(async () => {
    stack = await HostileStack.start({
      config: { http: { sendTimeoutMs: 120_000, keepAliveTimeoutMs: 120_000 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('clients that never read a 256 MiB response: proxy RSS grows by no more than the windows and socket buffers', async () => {
    const clients = 4;
    const warm = new Client(stack.origin);
    for (let i = 0; i < 20; i++)
      await (await warm.request({ path: '/big?bytes=1000000', method: 'GET' })).body.arrayBuffer();
    await warm.close();
    const before = stack.proxyRss();
    const greedy = Array.from({ length: clients }, () => new RawClient(stack.port));
    await Promise.all(greedy.map((client) => client.connected()));
    for (const client of greedy) {
      client.socket.pause(); // never read: the kernel's receive buffer fills, then the proxy's send buffer
      client.socket.write(`GET /big?bytes=${256 * 1024 * 1024} HTTP/1.1\r\n${HOST}\r\n`);
    }
    // Sample until RSS stops growing (three samples in a row within 1 MiB), at most 8 s.
    const samples: number[] = [];
    for (let i = 0; i < 40; i++) {
      await sleep(200);
      samples.push(stack.proxyRss());
      const last = samples.slice(-3);
      if (i >= 5 && Math.max(...last) - Math.min(...last) < 1 << 20) break;
    }
    const peak = Math.max(...samples);
    const growth = peak - before;
    // Per stream: one 256 KiB flow-control window in the proxy (upstream.initialWindow), plus what
    // the kernel holds. A generous bound: 16 MiB per client. Unbounded buffering would be 256 MiB each.
    expect(growth).toBeLessThan(clients * 16 * 1024 * 1024);
    // The worker is held back too: the proxy keeps serving others meanwhile.
    const other = new Client(stack.origin);
    const response = await other.request({ path: '/hello', method: 'GET' });
    expect(response.statusCode).toBe(200);
    await response.body.arrayBuffer();
    await other.close();
    for (const client of greedy) client.socket.destroy();
    console.log(
      `FIGURE non-reading clients: ${clients} × GET 256 MiB never read; proxy RSS ${(before / 2 ** 20).toFixed(1)} → peak ${(peak / 2 ** 20).toFixed(1)} MiB ` +
        `(+${(growth / 2 ** 20).toFixed(1)} MiB, ${(growth / clients / 2 ** 20).toFixed(2)} MiB per client; window 0.25 MiB)`,
    );
  });

  it('2,000 idle keep-alive connections: bounded proxy RSS per connection, all still usable', async () => {
    const count = 2000;
    const before = stack.proxyRss();
    const sockets: RawClient[] = [];
    try {
      for (let i = 0; i < count; i++) sockets.push(new RawClient(stack.port));
      await Promise.all(sockets.map((client) => client.connected()));
      // One request each, then idle (a keep-alive connection, as a browser leaves it). In batches:
      // 2,000 at once would overrun the worker's streams plus the proxy's wait queue (503s).
      for (let i = 0; i < count; i += 200) {
        const batch = sockets.slice(i, i + 200);
        for (const client of batch) client.socket.write(`GET /hello HTTP/1.1\r\n${HOST}\r\n`);
        await expect
          .poll(() => batch.filter((client) => client.received.includes('\r\n\r\nok ')).length, {
            timeout: 20_000,
          })
          .toBe(batch.length);
      }
      await sleep(500);
      const held = stack.proxyRss();
      const perConnection = (held - before) / count;
      expect(sockets.every((client) => client.closedAt === 0)).toBe(true);
      // node's per-socket cost (handle, stream state, buffers) plus the front's connection state: a few KiB.
      expect(perConnection).toBeLessThan(32 * 1024);
      // Still usable: a second request on a sample of them.
      const sample = sockets.slice(0, 50);
      for (const client of sample) client.socket.write(`GET /again HTTP/1.1\r\n${HOST}\r\n`);
      await expect
        .poll(() => sample.filter((client) => client.received.includes('ok GET /again')).length)
        .toBe(50);
      console.log(
        `FIGURE idle keep-alive: ${count} connections, proxy RSS ${(before / 2 ** 20).toFixed(1)} → ${(held / 2 ** 20).toFixed(1)} MiB, ${(perConnection / 1024).toFixed(1)} KiB per connection`,
      );
    } finally {
      for (const client of sockets) client.socket.destroy();
    }
  });
});
