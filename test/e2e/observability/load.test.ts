/**
 * Gauges under load and a worker that dies under a request, through the real proxy and one real
 * TS worker process advertising max_streams 1 (--concurrency 1): a held request is in flight on
 * the worker, the next one waits in the proxy's queue, and both show in /metrics and
 * /status.json; a worker process that exits under a request is an upstream `reset` error and, once
 * its supervisor replaced it, a restart.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObsStack, poll, type RawReply } from './obs-stack.js';

describe('admin listener: in-flight, queued, a dying worker', () => {
  let stack: ObsStack;

  beforeAll(async () => {
    stack = await ObsStack.start({
      worker: 'ts',
      processes: 1,
      workerArgs: ['--concurrency', '1'],
      config: { upstream: { queueTimeoutMs: 20_000 } },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('a request on the worker is in flight, the next one is queued', async () => {
    const file = join(stack.dir.path, 'hold');
    const held = stack.raw('GET', `/obs/hold?file=${encodeURIComponent(file)}`);
    await poll(() => existsSync(`${file}.started`), 10_000, 'the held request to reach the worker');
    const queued: Promise<RawReply> = stack.raw('GET', '/obs/ok');
    await poll(
      async () => (await stack.metrics()).get('gatewire_requests_queued', { group: 'app' }) === 1,
      10_000,
      'the second request to queue',
    );
    const metrics = await stack.metrics();
    expect(metrics.get('gatewire_requests_in_flight')).toBe(2);
    const worker = metrics.all('gatewire_worker_in_flight', { group: 'app' });
    expect(worker).toHaveLength(1);
    expect(worker[0].value).toBe(1);
    expect(metrics.get('gatewire_worker_capacity', worker[0].labels)).toBe(1);
    const status = await stack.status();
    expect(status.proxy).toMatchObject({ inFlight: 2, queued: 1 });
    expect(status.groups[0]).toMatchObject({ name: 'app', queued: 1, inFlight: 1 });

    writeFileSync(`${file}.release`, '');
    expect((await held).status).toBe(200);
    expect((await queued).status).toBe(200);
    await poll(
      async () => (await stack.metrics()).get('gatewire_requests_in_flight') === 0,
      5000,
      'the requests to finish',
    );
    expect((await stack.metrics()).get('gatewire_requests_queued', { group: 'app' })).toBe(0);
  });

  it('a worker process that exits under a request: a reset error, then a restart', async () => {
    const before = (await stack.status()).workers[0].pid;
    const reply = await stack.raw('GET', '/obs/exit');
    expect(reply.status).toBe(502);
    await poll(
      async () => {
        const status = await stack.status();
        return status.groups[0].restarts === 1 && status.workers.some((w) => w.state === 'ready');
      },
      20_000,
      'the replacement worker',
    );
    const metrics = await stack.metrics();
    expect(metrics.get('gatewire_upstream_errors_total', { group: 'app', kind: 'reset' })).toBe(1);
    expect(metrics.get('gatewire_upstream_errors_total', { group: 'app', kind: 'timeout' })).toBe(0);
    expect(metrics.get('gatewire_proxy_error_responses_total', { group: 'app', code: 'WORKER_DIED' })).toBe(
      1,
    );
    expect(metrics.get('gatewire_requests_total', { route: 'app', method: 'GET', status_class: '5xx' })).toBe(
      1,
    );
    expect(metrics.get('gatewire_group_restarts_total', { group: 'app' })).toBe(1);
    const status = await stack.status();
    expect(status.workers.filter((w) => w.state === 'ready').map((w) => w.pid)).not.toContain(before);
  });
});
