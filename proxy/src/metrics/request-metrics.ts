import type { ConnectionInfo, ExchangeObserver, ExchangeRecord } from '../http/exchange.js';
import { LatencyHistogram } from './latency-histogram.js';
import { RateWindow } from './rate-window.js';

/** Method label values; anything else counts as `other` (label cardinality stays fixed). */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'other'] as const;
/** Status-class label values; `none`: the exchange ended before any status was sent (client abort). */
export const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const OTHER_METHOD = METHODS.length - 1;

function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'PATCH':
      return 5;
    case 'OPTIONS':
      return 6;
    default:
      return OTHER_METHOD;
  }
}

function statusClassIndex(status: number): number {
  const hundreds = (status / 100) | 0;
  return hundreds >= 1 && hundreds <= 5 ? hundreds : 0;
}

/** Route label of requests the proxy answered before routing them (no route, shutting down). */
export const NO_ROUTE = 'none';
/** Route label of static routes. */
export const STATIC_ROUTE = 'static';

/** Totals of one route group (an upstream group, `static` or `none`), as plain numbers. */
export class RouteTotals {
  readonly route: string;
  /** Requests by [method][status class], flattened: method · STATUS_CLASSES.length + class. */
  readonly requests = new Float64Array(METHODS.length * STATUS_CLASSES.length);
  /** Request body bytes read from clients, and response bytes (heads included) written to them. */
  bytesIn = 0;
  bytesOut = 0;
  /** Proxy total: from the complete request head to the last response byte written. */
  readonly duration = new LatencyHistogram();

  constructor(route: string) {
    this.route = route;
  }

  count(method: string, status: string): number {
    const m = METHODS.indexOf(method as (typeof METHODS)[number]);
    const s = STATUS_CLASSES.indexOf(status as (typeof STATUS_CLASSES)[number]);
    return m < 0 || s < 0 ? 0 : this.requests[m * STATUS_CLASSES.length + s];
  }
}

/** Where a worker label (a socket path, a tcp address) belongs: the name of its upstream group. */
export interface WorkerLabelResolver {
  groupOfWorker(label: string): string | null;
}

/** A cached worker label never grows past this many entries (socket-directory churn): then it starts over. */
const MAX_CACHED_LABELS = 4096;

/**
 * Counts every finished exchange at the HTTP front's completion point (the access log's hook)
 * into plain per-route counters and histograms, and passes the record on to the access log. The
 * per-request cost is a Map lookup of the label the dispatcher left in `exchange.upstream` (cached
 * per distinct label), two switch statements and a few additions; Prometheus text is produced
 * from these numbers only when /metrics is scraped.
 */
export class RequestMetrics implements ExchangeObserver {
  readonly #next: ExchangeObserver | null;
  readonly #resolver: WorkerLabelResolver;
  /** Route totals by the labels exchanges carry: group names, worker labels, `static`, `-`. */
  readonly #byLabel = new Map<string, RouteTotals>();
  /** Route totals by route name, in creation order. */
  readonly #routes = new Map<string, RouteTotals>();
  readonly window = new RateWindow();
  /** Requests the front refused before dispatch (400, 408, 413, 431, …), by status. */
  readonly rejected = new Map<number, number>();

  /**
   * `groups`: the upstream group names; `staticRoutes`: whether a `static` route group exists.
   * `next`: the access log, or null.
   */
  constructor(
    groups: readonly string[],
    staticRoutes: boolean,
    resolver: WorkerLabelResolver,
    next: ExchangeObserver | null,
  ) {
    this.#next = next;
    this.#resolver = resolver;
    for (const name of groups) this.#byLabel.set(name, this.#route(name));
    if (staticRoutes) this.#byLabel.set('static', this.#route(STATIC_ROUTE));
    this.#byLabel.set('-', this.#route(NO_ROUTE));
    this.#byLabel.set('', this.#route(NO_ROUTE));
  }

  /** Every route group: each upstream group, `static` when there are static routes, and `none`. */
  routes(): RouteTotals[] {
    return [...this.#routes.values()];
  }

  route(name: string): RouteTotals | undefined {
    return this.#routes.get(name);
  }

  onExchangeComplete(record: ExchangeRecord): void {
    const exchange = record.exchange;
    const totals = this.#byLabel.get(exchange.upstream) ?? this.#resolve(exchange.upstream);
    const status = record.status;
    totals.requests[methodIndex(exchange.head.method) * STATUS_CLASSES.length + statusClassIndex(status)]++;
    totals.bytesIn += record.bytesIn;
    totals.bytesOut += record.bytesOut;
    const ms = record.durationMs;
    totals.duration.observe(ms);
    this.window.record(ms, status >= 500);
    if (this.#next !== null) this.#next.onExchangeComplete(record);
  }

  onRequestRejected(status: number, reason: string, connection: ConnectionInfo): void {
    this.rejected.set(status, (this.rejected.get(status) ?? 0) + 1);
    this.window.record(0, status >= 500);
    if (this.#next !== null) this.#next.onRequestRejected(status, reason, connection);
  }

  start(): void {
    this.window.start();
  }

  stop(): void {
    this.window.stop();
  }

  /** A worker label seen for the first time: its group, remembered. */
  #resolve(label: string): RouteTotals {
    const group = this.#resolver.groupOfWorker(label);
    const totals = this.#route(group ?? NO_ROUTE);
    if (this.#byLabel.size >= MAX_CACHED_LABELS) {
      // Keep the fixed labels; forget worker labels (they are found again on their next request).
      for (const key of this.#byLabel.keys())
        if (!this.#routes.has(key) && key !== '-' && key !== '') this.#byLabel.delete(key);
    }
    if (group !== null) this.#byLabel.set(label, totals);
    return totals;
  }

  #route(name: string): RouteTotals {
    let totals = this.#routes.get(name);
    if (totals === undefined) {
      totals = new RouteTotals(name);
      this.#routes.set(name, totals);
    }
    return totals;
  }
}
