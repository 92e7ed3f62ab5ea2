/**
 * Issue #4 end to end: a full upstream (503 with Retry-After once the queue is full), forwarding
 * headers from a trusted proxy, and a graceful SIGTERM — real proxy, real TS supervisor whose
 * processes each run one request at a time.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hold, type Reply, Stack } from './stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({
    processes: 2,
    workerArgs: ['--concurrency', '1'],
    config: {
      trustedProxies: ['127.0.0.1'],
      upstream: { queueLength: 1, queueTimeoutMs: 10_000, retryAfterSeconds: 7 },
    },
  });
});

afterAll(async () => {
  await stack?.stop();
});

describe('limits and shutdown', () => {
  it('queues one request when every worker is busy and answers 503 with Retry-After beyond that', async () => {
    // Two workers of capacity 1, both held busy: of two more requests one waits in the queue
    // (length 1) and the other is refused at once.
    const holds = [new Hold(stack, 'busy-1'), new Hold(stack, 'busy-2')];
    const pids = await Promise.all(holds.map((hold) => hold.started()));
    expect(new Set(pids).size).toBe(2);
    const extra = [stack.request('/hello'), stack.request('/hello')];
    const refused = await Promise.race(extra);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('7');
    expect(refused.body.toString()).toContain(`request id: ${String(refused.headers['x-request-id'])}`);
    for (const hold of holds) hold.release();
    const all = await Promise.all([...holds.map((hold) => hold.reply), ...extra]);
    expect(all.map((reply) => (reply as Reply).status).sort()).toEqual([200, 200, 200, 503]);
    const line = await stack.accessLine(String(refused.headers['x-request-id']));
    expect(line.status).toBe(503);
  });

  it('believes X-Forwarded-* and X-Request-Id from a trusted proxy, and appends to the chain', async () => {
    const reply = await stack.request('/env', {
      headers: {
        host: 'internal.test',
        'x-forwarded-for': '203.0.113.5',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'public.test',
        'x-request-id': 'edge-1234',
      },
    });
    const seen = JSON.parse(reply.body.toString()) as Record<string, unknown>;
    expect(seen.clientAddr).toBe('203.0.113.5');
    expect(seen.clientPort).toBe(0);
    expect(seen.scheme).toBe('https');
    expect(seen.forwardedFor).toBe('203.0.113.5, 127.0.0.1');
    expect(seen.forwardedProto).toBe('https');
    expect(seen.forwardedHost).toBe('public.test');
    expect(seen.requestIdHeader).toBe('edge-1234');
    expect((await stack.accessLine('edge-1234')).path).toBe('/env');
  });

  it('on SIGTERM stops accepting, finishes the request in flight, and exits 0', async () => {
    const inFlight = new Hold(stack, 'shutdown');
    await inFlight.started();
    stack.proxy.child.kill('SIGTERM');
    const attempt = (): Promise<string> =>
      new Promise<string>((resolve) => {
        const socket = connect(stack.port, '127.0.0.1');
        socket.on('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
    // The listener closes at once; poll until a connect is refused (bounded).
    let last = '';
    for (let i = 0; i < 200 && last !== 'ECONNREFUSED'; i++) {
      last = await attempt();
      if (last !== 'ECONNREFUSED') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(last).toBe('ECONNREFUSED');
    expect(stack.proxy.exitCode).toBeNull(); // still finishing the held request
    inFlight.release();
    const reply = (await inFlight.reply) as Reply;
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('released\n');
    expect(await stack.proxy.exited).toBe(0);
    expect(stack.proxy.lines.some((line) => line.msg === 'shutdown complete')).toBe(true);
    // SPEC §11: after the proxy's GOAWAY either side may close an idle connection (the TS workers
    // do it themselves): an orderly end, not a failure.
    expect(stack.proxy.lines.filter((line) => line.msg === 'worker connection failed')).toEqual([]);
  });
});
