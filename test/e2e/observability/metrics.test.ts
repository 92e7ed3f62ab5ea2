/**
 * /metrics and /status.json against known traffic through the real proxy and two real TS worker
 * processes: 7 GETs answered 200, 3 answered 404, 2 POSTs of known sizes (201), one request the
 * worker does not answer within upstream.responseTimeoutMs (504 UPSTREAM_TIMEOUT), one request no
 * route matches (404 NO_ROUTE). Response bytes are counted as the client received them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObsStack, poll, type RawReply } from './obs-stack.js';

describe('admin listener: metrics of known traffic', () => {
  let stack: ObsStack;
  const replies: RawReply[] = [];

  beforeAll(async () => {
    stack = await ObsStack.start({ worker: 'ts', config: { upstream: { responseTimeoutMs: 400 } } });
    for (let i = 0; i < 7; i++) replies.push(await stack.raw('GET', '/obs/ok'));
    for (let i = 0; i < 3; i++) replies.push(await stack.raw('GET', '/obs/missing'));
    replies.push(await stack.raw('POST', '/obs/upload', { body: Buffer.alloc(1000, 0x61) }));
    replies.push(await stack.raw('POST', '/obs/upload', { body: Buffer.alloc(2345, 0x62) }));
    replies.push(await stack.raw('GET', '/obs/sleep?ms=5000'));
    replies.push(await stack.raw('GET', '/elsewhere'));
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answered the traffic as planned', () => {
    expect(replies.map((reply) => reply.status)).toEqual([
      200, 200, 200, 200, 200, 200, 200, 404, 404, 404, 201, 201, 504, 404,
    ]);
    expect(replies[10].body).toBe('1000');
    expect(replies[11].body).toBe('2345');
  });

  it('counts requests by route group, method and status class', async () => {
    const metrics = await stack.metrics();
    expect(metrics.types.get('gatewire_requests_total')).toBe('counter');
    const requests = (route: string, method: string, statusClass: string): number | undefined =>
      metrics.get('gatewire_requests_total', { route, method, status_class: statusClass });
    expect(requests('app', 'GET', '2xx')).toBe(7);
    expect(requests('app', 'GET', '4xx')).toBe(3);
    expect(requests('app', 'POST', '2xx')).toBe(2);
    expect(requests('app', 'GET', '5xx')).toBe(1);
    expect(requests('none', 'GET', '4xx')).toBe(1);
    expect(metrics.sum('gatewire_requests_total')).toBe(14);
  });

  it('counts bytes in and out exactly', async () => {
    const metrics = await stack.metrics();
    expect(metrics.get('gatewire_request_bytes_total', { route: 'app' })).toBe(3345);
    const appBytes = replies.slice(0, 13).reduce((total, reply) => total + reply.bytes, 0);
    expect(metrics.get('gatewire_response_bytes_total', { route: 'app' })).toBe(appBytes);
    expect(metrics.get('gatewire_response_bytes_total', { route: 'none' })).toBe(replies[13].bytes);
  });

  it('has latency histograms: proxy total per route, upstream per group', async () => {
    const metrics = await stack.metrics();
    expect(metrics.types.get('gatewire_request_duration_seconds')).toBe('histogram');
    expect(metrics.get('gatewire_request_duration_seconds_count', { route: 'app' })).toBe(13);
    expect(metrics.get('gatewire_request_duration_seconds_bucket', { route: 'app', le: '+Inf' })).toBe(13);
    // The timed-out request took at least responseTimeoutMs (400 ms): it is above the 0.25 s bucket.
    expect(
      metrics.get('gatewire_request_duration_seconds_bucket', { route: 'app', le: '0.25' }),
    ).toBeLessThanOrEqual(12);
    expect(metrics.get('gatewire_request_duration_seconds_sum', { route: 'app' })).toBeGreaterThanOrEqual(
      0.4,
    );
    // Buckets are cumulative.
    const buckets = metrics
      .all('gatewire_request_duration_seconds_bucket', { route: 'app' })
      .map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    // Every request a worker answered (not the timeout, not the unrouted one).
    expect(metrics.get('gatewire_upstream_duration_seconds_count', { group: 'app' })).toBe(12);
    expect(metrics.get('gatewire_upstream_duration_seconds_bucket', { group: 'app', le: '+Inf' })).toBe(12);
  });

  it('counts upstream errors by kind and the proxy’s own answers by code', async () => {
    const metrics = await stack.metrics();
    const errors = (kind: string): number | undefined =>
      metrics.get('gatewire_upstream_errors_total', { group: 'app', kind });
    expect(errors('timeout')).toBe(1);
    expect(errors('reset')).toBe(0);
    expect(errors('protocol')).toBe(0);
    expect(errors('refused')).toBe(0);
    expect(errors('connect')).toBe(0);
    expect(
      metrics.get('gatewire_proxy_error_responses_total', { group: 'app', code: 'UPSTREAM_TIMEOUT' }),
    ).toBe(1);
  });

  it('shows in-flight and queued requests, and every worker with its state, load and health', async () => {
    // HEALTH frames follow each PONG (pingIntervalMs 300): wait until they cover the traffic.
    await poll(
      async () => (await stack.metrics()).sum('gatewire_worker_reported_requests') >= 12,
      10_000,
      'HEALTH reports counting the traffic',
    );
    const metrics = await stack.metrics();
    expect(metrics.get('gatewire_requests_in_flight')).toBe(0);
    expect(metrics.get('gatewire_requests_queued', { group: 'app' })).toBe(0);
    expect(metrics.get('gatewire_workers', { group: 'app', state: 'ready' })).toBe(2);
    expect(metrics.get('gatewire_workers', { group: 'app', state: 'ejected' })).toBe(0);
    const workers = metrics.all('gatewire_worker_capacity', { group: 'app' });
    expect(workers).toHaveLength(2);
    for (const { labels, value } of workers) {
      expect(value).toBeGreaterThan(0);
      const worker = { group: 'app', worker: labels.worker };
      expect(metrics.get('gatewire_worker_state', { ...worker, state: 'ready' })).toBe(1);
      expect(metrics.get('gatewire_worker_state', { ...worker, state: 'draining' })).toBe(0);
      expect(metrics.get('gatewire_worker_in_flight', worker)).toBe(0);
      expect(metrics.get('gatewire_worker_restarts_total', worker)).toBe(0);
      expect(metrics.get('gatewire_worker_resident_memory_bytes', worker)).toBeGreaterThan(10_000_000);
      expect(metrics.get('gatewire_worker_heap_used_bytes', worker)).toBeGreaterThan(1_000_000);
      expect(metrics.get('gatewire_worker_event_loop_lag_seconds', worker)).toBeGreaterThanOrEqual(0);
      const info = metrics.all('gatewire_worker_info', worker);
      expect(info).toHaveLength(1);
      expect(Number(info[0].labels.pid)).toBeGreaterThan(0);
    }
    expect(metrics.sum('gatewire_worker_requests_total', { group: 'app', outcome: 'succeeded' })).toBe(12);
    expect(metrics.sum('gatewire_worker_requests_total', { group: 'app', outcome: 'failed' })).toBe(1);
    // The proxy process's own metrics (prom-client's default collectors).
    expect(metrics.get('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(metrics.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('/status.json carries the same numbers', async () => {
    const status = await stack.status();
    expect(status.totals).toEqual({
      requests: 14,
      errors: 1,
      bytesIn: 3345,
      bytesOut: replies.reduce((total, reply) => total + reply.bytes, 0),
    });
    expect(status.routes.find((route) => route.route === 'app')).toMatchObject({
      requests: 13,
      errors: 1,
      bytesIn: 3345,
    });
    expect(status.workers).toHaveLength(2);
    expect(status.workers.every((worker) => worker.state === 'ready' && worker.pid! > 0)).toBe(true);
    expect(status.workers.reduce((total, worker) => total + worker.requestsSucceeded, 0)).toBe(12);
    expect(status.workers.every((worker) => worker.rssBytes! > 0 && worker.requestsServed !== null)).toBe(
      true,
    );
    // Every request landed in some second of the window.
    expect(status.series.reduce((total, second) => total + second.requests, 0)).toBeLessThanOrEqual(14);
    await poll(
      async () => (await stack.status()).series.reduce((total, second) => total + second.requests, 0) === 14,
      3000,
      'the last second to close',
    );
    const busy = (await stack.status()).series.filter((second) => second.requests > 0);
    expect(busy.every((second) => second.p50Ms !== null && second.p99Ms! >= second.p50Ms!)).toBe(true);
  });

  it('a worker process replaced by its supervisor counts as a restart', async () => {
    const before = await stack.status();
    const victim = before.workers[0].pid!;
    process.kill(victim, 'SIGKILL'); // a worker process of this test's supervisor
    await poll(
      async () => {
        const status = await stack.status();
        return (
          status.groups[0].restarts === 1 && status.workers.filter((w) => w.state === 'ready').length === 2
        );
      },
      20_000,
      'the replacement worker to join',
    );
    const metrics = await stack.metrics();
    expect(metrics.get('gatewire_group_restarts_total', { group: 'app' })).toBe(1);
    const pids = (await stack.status()).workers.map((worker) => worker.pid);
    expect(pids).not.toContain(victim);
  });

  it('serves /healthz and the status page, refuses other methods and paths', async () => {
    expect(await stack.admin('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    const page = await stack.admin('/status');
    expect(page.status).toBe(200);
    expect(page.contentType).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<table id="workers">');
    expect(page.text).not.toMatch(/<(script|link)[^>]+(src|href)=/); // no external assets
    expect((await stack.admin('/nothing')).status).toBe(404);
    const metrics = await stack.admin('/metrics');
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
