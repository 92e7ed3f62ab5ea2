import { describe, expect, it } from 'vitest';
import { PROXY_ERRORS, type ProxyErrorCode } from '../../../proxy/src/errors/proxy-error.js';
import type { Exchange, ExchangeRecord } from '../../../proxy/src/http/exchange.js';
import { Exposition } from '../../../proxy/src/metrics/exposition.js';
import { LATENCY_BUCKETS_SECONDS, LatencyHistogram } from '../../../proxy/src/metrics/latency-histogram.js';
import { RateWindow, WINDOW_SECONDS } from '../../../proxy/src/metrics/rate-window.js';
import { workerState } from '../../../proxy/src/metrics/proxy-metrics.js';
import { RequestMetrics } from '../../../proxy/src/metrics/request-metrics.js';
import { upstreamErrorKind } from '../../../proxy/src/metrics/upstream-metrics.js';
import type { WorkerStatus } from '../../../proxy/src/upstream/worker-endpoint.js';

describe('LatencyHistogram', () => {
  it('puts each observation in the first bucket whose bound it does not exceed', () => {
    const histogram = new LatencyHistogram();
    for (const ms of [0.1, 0.5, 0.6, 3, 1000, 120_000]) histogram.observe(ms);
    const cumulative = histogram.cumulative();
    const at = (seconds: number): number => cumulative[LATENCY_BUCKETS_SECONDS.indexOf(seconds)];
    expect(at(0.0005)).toBe(2); // 0.1 ms and exactly 0.5 ms
    expect(at(0.001)).toBe(3);
    expect(at(0.005)).toBe(4);
    expect(at(1)).toBe(5);
    expect(at(60)).toBe(5);
    expect(cumulative.at(-1)).toBe(6); // +Inf
    expect(histogram.count).toBe(6);
    expect(histogram.sumSeconds).toBeCloseTo(121.0042, 6);
  });
});

describe('Exposition', () => {
  it('writes the Prometheus text format, escaping label values', () => {
    const histogram = new LatencyHistogram();
    histogram.observe(2);
    const text = new Exposition()
      .family('x_total', 'counter', 'Things.')
      .sample('x_total', { route: 'a"b\\c\nd', method: 'GET' }, 3)
      .family('y_seconds', 'histogram', 'Latency.')
      .histogram('y_seconds', { group: 'g' }, histogram)
      .toString();
    const lines = text.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '# HELP x_total Things.',
      '# TYPE x_total counter',
      'x_total{route="a\\"b\\\\c\\nd",method="GET"} 3',
    ]);
    expect(lines).toContain('y_seconds_bucket{group="g",le="0.001"} 0');
    expect(lines).toContain('y_seconds_bucket{group="g",le="0.0025"} 1');
    expect(lines).toContain('y_seconds_bucket{group="g",le="+Inf"} 1');
    expect(lines).toContain('y_seconds_sum{group="g"} 0.002');
    expect(lines).toContain('y_seconds_count{group="g"} 1');
    expect(text.endsWith('\n')).toBe(true);
  });
});

describe('RateWindow', () => {
  it('keeps completed seconds, oldest first, with errors and percentiles', () => {
    const window = new RateWindow(1000);
    for (let i = 1; i <= 100; i++) window.record(i, i > 95);
    expect(window.samples()).toEqual([]); // the second in progress is not shown
    window.advance(2000);
    window.record(5, false);
    window.advance(3000);
    const [first, second] = window.samples();
    expect(first).toMatchObject({ time: 1000, requests: 100, errors: 5 });
    // Slot bounds grow by 25 %: a percentile is at most a quarter above the true value.
    expect(first.p50Ms).toBeGreaterThanOrEqual(50);
    expect(first.p50Ms).toBeLessThanOrEqual(62.5);
    expect(first.p90Ms).toBeGreaterThanOrEqual(90);
    expect(first.p90Ms).toBeLessThanOrEqual(112.5);
    expect(first.p99Ms).toBeGreaterThanOrEqual(99);
    expect(first.p99Ms).toBeLessThanOrEqual(124);
    expect(second).toMatchObject({ time: 2000, requests: 1, errors: 0 });
    expect(second.p50Ms).toBe(second.p99Ms);
  });

  it('forgets seconds older than the window', () => {
    const window = new RateWindow(0.5);
    window.record(1, false);
    for (let second = 1; second <= WINDOW_SECONDS + 5; second++) window.advance(second * 1000);
    const samples = window.samples();
    expect(samples).toHaveLength(WINDOW_SECONDS - 1);
    expect(samples.every((sample) => sample.requests === 0 && sample.p50Ms === null)).toBe(true);
  });
});

describe('upstream error kinds', () => {
  it('classifies every code that blames the worker, and only those', () => {
    const kinds = Object.fromEntries(
      (Object.keys(PROXY_ERRORS) as ProxyErrorCode[]).map((code) => [code, upstreamErrorKind(code)]),
    );
    expect(kinds).toEqual({
      NO_ROUTE: null,
      QUEUE_FULL: null,
      QUEUE_TIMEOUT: null,
      WORKER_UNAVAILABLE: null,
      SHUTTING_DOWN: null,
      UPSTREAM_TIMEOUT: 'timeout',
      WORKER_TIMEOUT: 'timeout',
      WORKER_DIED: 'reset',
      PROTOCOL_VIOLATION: 'protocol',
      INVALID_RESPONSE_HEAD: 'protocol',
      WORKER_RESET: 'reset',
      RETRIES_EXHAUSTED: 'refused',
      UPGRADE_NOT_SUPPORTED: null,
      ENVIRON_TOO_LARGE: null,
      BUFFERING_FAILED: null,
    });
  });
});

describe('RequestMetrics', () => {
  function record(
    upstream: string,
    method: string,
    status: number,
    bytesIn = 0,
    bytesOut = 100,
  ): ExchangeRecord {
    const exchange = { upstream, head: { method } } as unknown as Exchange;
    return { exchange, status, bytesIn, bytesOut, durationMs: 1, aborted: null, error: null };
  }

  it('counts by route group, resolving worker labels once, and passes records on', () => {
    const passed: ExchangeRecord[] = [];
    const lookups: string[] = [];
    const metrics = new RequestMetrics(
      ['web', 'api'],
      true,
      {
        groupOfWorker(label) {
          lookups.push(label);
          return label.startsWith('unix:/web') ? 'web' : null;
        },
      },
      {
        onExchangeComplete: (entry) => passed.push(entry),
        onRequestRejected() {},
      },
    );
    metrics.onExchangeComplete(record('unix:/web/1.sock', 'GET', 200, 0, 10));
    metrics.onExchangeComplete(record('unix:/web/1.sock', 'GET', 200, 0, 20));
    metrics.onExchangeComplete(record('unix:/web/1.sock', 'BREW', 503, 5, 30));
    metrics.onExchangeComplete(record('api', 'POST', 503)); // no worker was assigned
    metrics.onExchangeComplete(record('static', 'HEAD', 304));
    metrics.onExchangeComplete(record('-', 'GET', 404));
    metrics.onExchangeComplete(record('unix:/gone.sock', 'GET', 0)); // a worker that has left
    expect(lookups).toEqual(['unix:/web/1.sock', 'unix:/gone.sock']);
    expect(passed).toHaveLength(7);
    const web = metrics.route('web')!;
    expect(web.count('GET', '2xx')).toBe(2);
    expect(web.count('other', '5xx')).toBe(1);
    expect(web.bytesIn).toBe(5);
    expect(web.bytesOut).toBe(60);
    expect(web.duration.count).toBe(3);
    expect(metrics.route('api')!.count('POST', '5xx')).toBe(1);
    expect(metrics.route('static')!.count('HEAD', '3xx')).toBe(1);
    expect(metrics.route('none')!.count('GET', '4xx')).toBe(1);
    expect(metrics.route('none')!.count('GET', 'none')).toBe(1);
    expect(metrics.routes().map((route) => route.route)).toEqual(['web', 'api', 'static', 'none']);
  });
});

describe('workerState', () => {
  const base = { ready: false, ejected: false, retired: false } as WorkerStatus;

  it('is draining once retired, else ejected, else ready or connecting', () => {
    expect(workerState({ ...base, ready: true })).toBe('ready');
    expect(workerState(base)).toBe('connecting');
    expect(workerState({ ...base, ready: true, ejected: true })).toBe('ejected');
    expect(workerState({ ...base, ready: true, ejected: true, retired: true })).toBe('draining');
  });
});
