import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ExchangeObserver } from '../http/exchange.js';
import type { UpstreamGroup } from '../upstream/upstream-group.js';
import type { WorkerStatus } from '../upstream/worker-endpoint.js';
import { Exposition } from './exposition.js';
import { METHODS, RequestMetrics, STATUS_CLASSES } from './request-metrics.js';
import type { SecondSample } from './rate-window.js';
import { UPSTREAM_ERROR_KINDS, UpstreamMetrics } from './upstream-metrics.js';

/** A worker's state as metrics and the status page show it. */
export type WorkerState = 'ready' | 'connecting' | 'draining' | 'ejected';
export const WORKER_STATES: readonly WorkerState[] = ['ready', 'connecting', 'draining', 'ejected'];

export function workerState(worker: WorkerStatus): WorkerState {
  if (worker.retired) return 'draining';
  if (worker.ejected) return 'ejected';
  return worker.ready ? 'ready' : 'connecting';
}

/** What the proxy's metrics read besides their own counters. */
export interface MetricsSources {
  readonly groups: () => readonly UpstreamGroup[];
  /** Some route serves a static directory (route group `static`). */
  readonly staticRoutes: boolean;
  /** Upstream requests in flight (the dispatcher's count). */
  readonly inFlight: () => number;
}

/** One worker on the status page and in /status.json. */
export interface WorkerSnapshot {
  readonly group: string;
  readonly worker: string;
  readonly state: WorkerState;
  readonly pid: number | null;
  readonly name: string | null;
  readonly server: string | null;
  readonly inFlight: number;
  readonly capacity: number;
  readonly requestsSucceeded: number;
  readonly requestsFailed: number;
  readonly ejections: number;
  readonly restarts: number;
  readonly pingRttMs: number | null;
  /** From the worker's last HEALTH frame (SPEC §12.2); null when it never sent one. */
  readonly rssBytes: number | null;
  readonly heapUsedBytes: number | null;
  readonly loopLagMs: number | null;
  readonly requestsServed: number | null;
  readonly uptimeS: number | null;
  readonly healthAgeMs: number | null;
}

export interface RouteSnapshot {
  readonly route: string;
  readonly requests: number;
  readonly errors: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** /status.json */
export interface StatusSnapshot {
  readonly time: number;
  readonly proxy: {
    readonly pid: number;
    readonly uptimeS: number;
    readonly inFlight: number;
    readonly queued: number;
  };
  readonly totals: {
    readonly requests: number;
    readonly errors: number;
    readonly bytesIn: number;
    readonly bytesOut: number;
  };
  readonly groups: ReadonlyArray<{
    readonly name: string;
    readonly queued: number;
    readonly inFlight: number;
    readonly restarts: number;
    readonly connectFailures: number;
  }>;
  readonly workers: readonly WorkerSnapshot[];
  readonly routes: readonly RouteSnapshot[];
  /** The last minute, one entry per completed second, oldest first. */
  readonly series: readonly SecondSample[];
}

const FIVE_XX = STATUS_CLASSES.indexOf('5xx');

/**
 * prom-client's default collectors (CPU, memory, heap, GC, event-loop lag) describe the process,
 * not a proxy, and cannot be stopped once started: one registry per process, made on the first
 * scrape (a proxy that is never scraped, as in tests, starts none).
 */
let processRegistry: Registry | null = null;

function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 20 });
  }
  return processRegistry;
}

/**
 * The proxy's whole metric set: per-request counters (RequestMetrics, the front's completion
 * hook), upstream latency and errors (UpstreamMetrics, the dispatcher's), worker state and health
 * read from the upstream groups at scrape time, and the proxy process's own metrics from
 * prom-client's default collectors. docs/observability.md lists every metric.
 */
export class ProxyMetrics {
  readonly requests: RequestMetrics;
  readonly upstream = new UpstreamMetrics();
  readonly #sources: MetricsSources;
  readonly #startedAt = Date.now();

  constructor(sources: MetricsSources, next: ExchangeObserver | null) {
    this.#sources = sources;
    const resolver = {
      groupOfWorker(label: string): string | null {
        for (const group of sources.groups()) if (group.get(label) !== undefined) return group.name;
        return null;
      },
    };
    this.requests = new RequestMetrics(
      sources.groups().map((group) => group.name),
      sources.staticRoutes,
      resolver,
      next,
    );
  }

  get contentType(): string {
    return Registry.PROMETHEUS_CONTENT_TYPE;
  }

  start(): void {
    this.requests.start();
  }

  stop(): void {
    this.requests.stop();
  }

  /** The Prometheus text of every metric. */
  async text(): Promise<string> {
    const out = new Exposition();
    this.#requestFamilies(out);
    this.#upstreamFamilies(out);
    this.#workerFamilies(out);
    out.append(await processMetrics().metrics());
    return out.toString();
  }

  #requestFamilies(out: Exposition): void {
    const routes = this.requests.routes();
    out.family(
      'gatewire_requests_total',
      'counter',
      'Requests completed by the proxy, by route group (upstream group, static, none), method and status class (none: ended before a status was sent).',
    );
    for (const totals of routes) {
      for (let m = 0; m < METHODS.length; m++) {
        for (let s = 0; s < STATUS_CLASSES.length; s++) {
          const value = totals.requests[m * STATUS_CLASSES.length + s];
          if (value > 0)
            out.sample(
              'gatewire_requests_total',
              { route: totals.route, method: METHODS[m], status_class: STATUS_CLASSES[s] },
              value,
            );
        }
      }
    }
    out.family(
      'gatewire_request_duration_seconds',
      'histogram',
      'Proxy total latency: from the complete request head to the last response byte written.',
    );
    for (const totals of routes)
      out.histogram('gatewire_request_duration_seconds', { route: totals.route }, totals.duration);
    out.family('gatewire_request_bytes_total', 'counter', 'Request body bytes read from clients (decoded).');
    for (const totals of routes)
      out.sample('gatewire_request_bytes_total', { route: totals.route }, totals.bytesIn);
    out.family(
      'gatewire_response_bytes_total',
      'counter',
      'Response bytes written to clients, heads included.',
    );
    for (const totals of routes)
      out.sample('gatewire_response_bytes_total', { route: totals.route }, totals.bytesOut);
    out.family(
      'gatewire_requests_rejected_total',
      'counter',
      'Requests the HTTP front refused before routing (malformed, too large, timed out), by status.',
    );
    for (const [status, value] of [...this.requests.rejected].sort((a, b) => a[0] - b[0]))
      out.sample('gatewire_requests_rejected_total', { status }, value);
    out.family('gatewire_requests_in_flight', 'gauge', 'Upstream requests in flight (queued ones included).');
    out.sample('gatewire_requests_in_flight', {}, this.#sources.inFlight());
  }

  #upstreamFamilies(out: Exposition): void {
    const groups = this.#sources.groups();
    out.family(
      'gatewire_requests_queued',
      'gauge',
      'Requests waiting for a free worker slot, by upstream group.',
    );
    for (const group of groups)
      out.sample('gatewire_requests_queued', { group: group.name }, group.queueLength);
    out.family(
      'gatewire_upstream_duration_seconds',
      'histogram',
      'Upstream latency: from the assignment to a worker to its last response byte (nginx $upstream_response_time).',
    );
    for (const group of groups)
      out.histogram(
        'gatewire_upstream_duration_seconds',
        { group: group.name },
        this.upstream.of(group).upstreamDuration,
      );
    out.family(
      'gatewire_upstream_errors_total',
      'counter',
      'Upstream failures by kind: timeout, reset (stream reset or connection lost), protocol, refused (retries exhausted), connect (failed connection attempts).',
    );
    for (const group of groups) {
      const errors = this.upstream.of(group).errors;
      for (const kind of UPSTREAM_ERROR_KINDS) {
        const value = kind === 'connect' ? group.connectFailures : errors[kind];
        out.sample('gatewire_upstream_errors_total', { group: group.name, kind }, value);
      }
    }
    out.family(
      'gatewire_proxy_error_responses_total',
      'counter',
      'Answers the proxy gave itself instead of a worker, by upstream group and error code (proxy/README.md lists the codes).',
    );
    for (const group of groups)
      for (const [code, value] of this.upstream.of(group).proxyErrors)
        out.sample('gatewire_proxy_error_responses_total', { group: group.name, code }, value);
    out.family(
      'gatewire_group_restarts_total',
      'counter',
      'Worker processes replaced in the group: a new pid behind a known address, or a new address taking the place of one that left.',
    );
    for (const group of groups)
      out.sample('gatewire_group_restarts_total', { group: group.name }, group.restarts);
  }

  #workerFamilies(out: Exposition): void {
    const workers = this.workers();
    const perWorker = (
      name: string,
      type: 'counter' | 'gauge',
      help: string,
      value: (worker: WorkerSnapshot) => number | null,
    ): void => {
      out.family(name, type, help);
      for (const worker of workers) {
        const v = value(worker);
        if (v !== null) out.sample(name, { group: worker.group, worker: worker.worker }, v);
      }
    };
    out.family('gatewire_workers', 'gauge', 'Workers by upstream group and state.');
    for (const group of this.#sources.groups()) {
      for (const state of WORKER_STATES) {
        const count = workers.filter(
          (worker) => worker.group === group.name && worker.state === state,
        ).length;
        out.sample('gatewire_workers', { group: group.name, state }, count);
      }
    }
    out.family(
      'gatewire_worker_state',
      'gauge',
      '1 for the state each worker is in (ready, connecting, draining, ejected).',
    );
    for (const worker of workers)
      for (const state of WORKER_STATES)
        out.sample(
          'gatewire_worker_state',
          { group: worker.group, worker: worker.worker, state },
          worker.state === state ? 1 : 0,
        );
    out.family(
      'gatewire_worker_info',
      'gauge',
      "A worker's identity from its HELLO (pid, name, server); always 1.",
    );
    for (const worker of workers)
      out.sample(
        'gatewire_worker_info',
        {
          group: worker.group,
          worker: worker.worker,
          pid: worker.pid ?? '',
          name: worker.name ?? '',
          server: worker.server ?? '',
        },
        1,
      );
    perWorker('gatewire_worker_in_flight', 'gauge', 'Streams open on the worker.', (w) => w.inFlight);
    perWorker(
      'gatewire_worker_capacity',
      'gauge',
      "The worker's max_streams (0 while not connected).",
      (w) => w.capacity,
    );
    out.family(
      'gatewire_worker_requests_total',
      'counter',
      'Requests the worker completed or failed (as the proxy saw them).',
    );
    for (const worker of workers) {
      const labels = { group: worker.group, worker: worker.worker };
      out.sample(
        'gatewire_worker_requests_total',
        { ...labels, outcome: 'succeeded' },
        worker.requestsSucceeded,
      );
      out.sample('gatewire_worker_requests_total', { ...labels, outcome: 'failed' }, worker.requestsFailed);
    }
    perWorker(
      'gatewire_worker_ejections_total',
      'counter',
      'Times the worker was ejected after consecutive failures.',
      (w) => w.ejections,
    );
    perWorker(
      'gatewire_worker_restarts_total',
      'counter',
      'Times a different worker process (pid) answered behind this address.',
      (w) => w.restarts,
    );
    perWorker('gatewire_worker_ping_rtt_seconds', 'gauge', 'Round trip of the last PING.', (w) =>
      w.pingRttMs === null ? null : w.pingRttMs / 1000,
    );
    perWorker(
      'gatewire_worker_resident_memory_bytes',
      'gauge',
      'RSS the worker reported in its last HEALTH frame.',
      (w) => w.rssBytes,
    );
    perWorker(
      'gatewire_worker_heap_used_bytes',
      'gauge',
      'Heap in use the worker reported in its last HEALTH frame.',
      (w) => w.heapUsedBytes,
    );
    perWorker(
      'gatewire_worker_event_loop_lag_seconds',
      'gauge',
      'Event-loop lag the worker reported in its last HEALTH frame.',
      (w) => (w.loopLagMs === null ? null : w.loopLagMs / 1000),
    );
    perWorker(
      'gatewire_worker_reported_requests',
      'gauge',
      'Requests the worker says it has served since it started (HEALTH).',
      (w) => w.requestsServed,
    );
    perWorker(
      'gatewire_worker_uptime_seconds',
      'gauge',
      'Worker process uptime from its last HEALTH frame.',
      (w) => w.uptimeS,
    );
    perWorker('gatewire_worker_health_age_seconds', 'gauge', 'Age of the last HEALTH frame.', (w) =>
      w.healthAgeMs === null ? null : w.healthAgeMs / 1000,
    );
  }

  /** Every worker of every group, draining ones included. */
  workers(): WorkerSnapshot[] {
    const now = Date.now();
    const out: WorkerSnapshot[] = [];
    for (const group of this.#sources.groups()) {
      for (const worker of group.status().workers) {
        const health = worker.health;
        out.push({
          group: group.name,
          worker: worker.worker,
          state: workerState(worker),
          pid: worker.pid,
          name: worker.name,
          server: worker.server,
          inFlight: worker.inFlight,
          capacity: worker.capacity,
          requestsSucceeded: worker.requestsSucceeded,
          requestsFailed: worker.requestsFailed,
          ejections: worker.ejections,
          restarts: worker.restarts,
          pingRttMs: worker.pingRttMs < 0 ? null : worker.pingRttMs,
          rssBytes: health?.rss ?? null,
          heapUsedBytes: health?.heapUsed ?? null,
          loopLagMs: health?.loopLagMs ?? null,
          requestsServed: health?.requests ?? null,
          uptimeS: health?.uptimeS ?? null,
          healthAgeMs: health === null ? null : Math.max(0, now - worker.healthAt),
        });
      }
    }
    return out;
  }

  /** /status.json */
  status(): StatusSnapshot {
    const groups = this.#sources.groups();
    const routes: RouteSnapshot[] = this.requests.routes().map((totals) => {
      let requests = 0;
      let errors = 0;
      for (let m = 0; m < METHODS.length; m++) {
        for (let s = 0; s < STATUS_CLASSES.length; s++)
          requests += totals.requests[m * STATUS_CLASSES.length + s];
        errors += totals.requests[m * STATUS_CLASSES.length + FIVE_XX];
      }
      return { route: totals.route, requests, errors, bytesIn: totals.bytesIn, bytesOut: totals.bytesOut };
    });
    const sum = (key: 'requests' | 'errors' | 'bytesIn' | 'bytesOut'): number =>
      routes.reduce((total, route) => total + route[key], 0);
    return {
      time: Date.now(),
      proxy: {
        pid: process.pid,
        uptimeS: Math.round((Date.now() - this.#startedAt) / 1000),
        inFlight: this.#sources.inFlight(),
        queued: groups.reduce((total, group) => total + group.queueLength, 0),
      },
      totals: {
        requests: sum('requests'),
        errors: sum('errors'),
        bytesIn: sum('bytesIn'),
        bytesOut: sum('bytesOut'),
      },
      groups: groups.map((group) => {
        const status = group.status();
        return {
          name: group.name,
          queued: status.queued,
          inFlight: status.workers.reduce((total, worker) => total + worker.inFlight, 0),
          restarts: status.restarts,
          connectFailures: status.connectFailures,
        };
      }),
      workers: this.workers(),
      routes,
      series: this.requests.window.samples(),
    };
  }
}
