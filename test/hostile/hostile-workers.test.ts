/**
 * Hostile or broken workers behind the real proxy: a fake worker (fake-worker.ts) completes the
 * handshake and then sends garbage, an oversize frame, a frame for a stream never opened, a frame
 * for a closed stream, a head with CR/LF in a value, or stops answering. Each ends in the SPEC's
 * reaction (GOAWAY for a connection error, RESET for a stream error, nothing for a closed stream),
 * a 502/504 for the affected request only, and a log line; requests to a healthy worker running
 * alongside all succeed.
 */
import { join } from 'node:path';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTempDir } from '../integration/worker/support/temp-dir.js';
import { FakeWorker } from './fake-worker.js';
import { HostileStack } from './hostile-stack.js';

interface Outcome {
  status: number;
  body: string;
  headers: Record<string, unknown>;
  /** The response was cut after its head. */
  truncated: boolean;
}

describe('hostile workers affect only their own requests', () => {
  const dir = freshTempDir('fake-worker');
  let fake: FakeWorker;
  let stack: HostileStack;

  beforeAll(async () => {
    fake = await FakeWorker.listen(join(dir.path, 'fake.sock'));
    stack = await HostileStack.start({
      config: (socketDir) => ({
        upstreams: {
          good: { socketDir },
          bad: { sockets: [fake.path] },
          mixed: { socketDir, sockets: [fake.path], buffering: 'off' },
        },
        routes: [
          { path: '/bad/', upstream: 'bad' },
          { path: '/mixed/', upstream: 'mixed' },
          { path: '/', upstream: 'good' },
        ],
        upstream: { responseTimeoutMs: 600, maxFails: 1000, reconnectBaseMs: 50, reconnectMaxMs: 200 },
      }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
    dir.remove();
  });

  async function request(path: string): Promise<Outcome> {
    const client = new Client(stack.origin);
    try {
      const response = await client.request({ path, method: 'GET' });
      let body = '';
      let truncated = false;
      try {
        body = await response.body.text();
      } catch {
        truncated = true;
      }
      return { status: response.statusCode, body, headers: response.headers, truncated };
    } finally {
      await client.destroy();
    }
  }

  /** The hostile request with ten good ones alongside (to the healthy worker); the good ones must all succeed. */
  async function alongside(path: string): Promise<Outcome> {
    const good = Array.from({ length: 10 }, (_, i) => request(`/sleep?ms=${i * 30}`));
    const hostile = await request(path);
    const goodOutcomes = await Promise.all(good);
    expect(goodOutcomes.map((outcome) => outcome.status)).toEqual(Array(10).fill(200));
    return hostile;
  }

  function linesSince(start: number, msg: string): Array<Record<string, unknown>> {
    return stack.proxy.lines.slice(start).filter((line) => line.msg === msg);
  }

  async function connectionError(path: string, expectedCode: string): Promise<void> {
    const start = stack.proxy.lines.length;
    const receivedBefore = fake.received.length;
    const outcome = await alongside(path);
    expect(outcome.status).toBe(502);
    await expect.poll(() => linesSince(start, 'worker connection failed').length).toBeGreaterThan(0);
    const failure = linesSince(start, 'worker connection failed')[0];
    expect(String(failure.worker)).toContain(fake.path);
    expect(String(failure.detail)).toContain(expectedCode);
    const request = linesSince(start, 'upstream request failed')[0];
    expect(request.code).toBe('PROTOCOL_VIOLATION');
    // SPEC §14.2: the proxy says GOAWAY with the code before it closes.
    await expect
      .poll(() => fake.received.slice(receivedBefore).filter((frame) => frame.type === 'GOAWAY'))
      .toEqual([expect.objectContaining({ code: expectedCode })]);
  }

  it('garbage instead of frames: connection error (GOAWAY), 502, "worker connection failed"', async () => {
    const start = stack.proxy.lines.length;
    const outcome = await alongside('/bad/garbage');
    expect(outcome.status).toBe(502);
    await expect.poll(() => linesSince(start, 'worker connection failed').length).toBeGreaterThan(0);
    expect(linesSince(start, 'upstream request failed')[0].code).toBe('PROTOCOL_VIOLATION');
  });

  it('an oversize frame: connection error FRAME_SIZE_ERROR, 502', async () => {
    await connectionError('/bad/oversize', 'FRAME_SIZE_ERROR');
  });

  it('a frame for a stream never opened: connection error PROTOCOL_ERROR (SPEC §6.1), 502', async () => {
    await connectionError('/bad/unknown-stream', 'PROTOCOL_ERROR');
  });

  it('a frame for a closed stream is ignored (SPEC §6.1): the response stands, the connection stays', async () => {
    const start = stack.proxy.lines.length;
    const connections = fake.connections;
    const receivedBefore = fake.received.length;
    const outcome = await alongside('/bad/closed-stream');
    expect(outcome).toMatchObject({ status: 200, body: 'done', truncated: false });
    expect((await request('/bad/ok')).body).toBe('fine');
    expect(fake.connections).toBe(connections);
    expect(linesSince(start, 'worker connection failed')).toEqual([]);
    expect(fake.received.slice(receivedBefore)).toEqual([]);
  });

  it('CR/LF in a response header: RESET INVALID_HEAD, 502, nothing of the head reaches the client; the connection stays', async () => {
    const start = stack.proxy.lines.length;
    const connections = fake.connections;
    const receivedBefore = fake.received.length;
    const outcome = await alongside('/bad/crlf-head');
    expect(outcome.status).toBe(502);
    expect(outcome.headers['set-cookie']).toBeUndefined();
    expect(outcome.headers['x-evil']).toBeUndefined();
    await expect
      .poll(() => linesSince(start, 'upstream request failed').map((line) => line.code))
      .toEqual(['INVALID_RESPONSE_HEAD']);
    await expect
      .poll(() => fake.received.slice(receivedBefore))
      .toEqual([expect.objectContaining({ type: 'RESET', code: 'INVALID_HEAD' })]);
    expect((await request('/bad/ok')).status).toBe(200);
    expect(fake.connections).toBe(connections);
    expect(linesSince(start, 'worker connection failed')).toEqual([]);
  });

  it('a worker that stops answering: 504 UPSTREAM_TIMEOUT and RESET CANCEL before the head; a cut response after it', async () => {
    const start = stack.proxy.lines.length;
    const receivedBefore = fake.received.length;
    const before = await alongside('/bad/stop');
    expect(before.status).toBe(504);
    const mid = await alongside('/bad/stop-mid');
    expect(mid).toMatchObject({ status: 200, truncated: true });
    await expect
      .poll(() => linesSince(start, 'upstream request failed').map((line) => line.code))
      .toEqual(['UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT']);
    await expect
      .poll(() => fake.received.slice(receivedBefore).map((frame) => `${frame.type} ${frame.code}`))
      .toEqual(['RESET CANCEL', 'RESET CANCEL']);
    expect(linesSince(start, 'worker connection failed')).toEqual([]);
  });

  it('a streamed body refused unprocessed (GOAWAY last_stream below it, after the body went out) is replayed on another worker', async () => {
    const start = stack.proxy.lines.length;
    const seenBefore = (await stack.seen()).length;
    const body = Buffer.alloc(100_000, 0x62);
    const client = new Client(stack.origin);
    const statuses: number[] = [];
    try {
      // The group balances at random between the fake and the healthy worker: go on until the fake has refused three.
      for (let i = 0; i < 60 && fake.refusedAfterBody < 3; i++) {
        const response = await client.request({ path: '/mixed/goaway-body', method: 'POST', body });
        statuses.push(response.statusCode);
        await response.body.text();
      }
    } finally {
      await client.close();
    }
    expect(fake.refusedAfterBody).toBeGreaterThanOrEqual(3);
    expect(new Set(statuses)).toEqual(new Set([200]));
    const arrived = (await stack.seen()).slice(seenBefore);
    expect(arrived.length).toBe(statuses.length);
    expect(arrived.every((request) => request.bodyLength === body.length)).toBe(true);
    expect(linesSince(start, 'upstream request failed')).toEqual([]);
  });
});
