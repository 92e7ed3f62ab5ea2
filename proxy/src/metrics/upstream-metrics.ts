import type { ProxyErrorCode } from '../errors/proxy-error.js';
import type { UpstreamOutcomes } from '../dispatch/upstream-outcomes.js';
import type { UpstreamGroup } from '../upstream/upstream-group.js';
import { LatencyHistogram } from './latency-histogram.js';

/**
 * Kinds of upstream errors (`gatewire_upstream_errors_total{kind}`):
 * - `timeout`: no answer in time (UPSTREAM_TIMEOUT, or the worker's own TIMEOUT reset);
 * - `reset`: the worker reset the stream or its connection died under the request;
 * - `protocol`: the worker broke the protocol or sent an invalid response head;
 * - `refused`: every attempt was refused (REFUSED_STREAM, GOAWAY) and retries ran out;
 * - `connect`: a connection to a worker could not be opened or handshaken (counted per attempt by
 *   the worker endpoint, not per request).
 */
export const UPSTREAM_ERROR_KINDS = ['timeout', 'reset', 'protocol', 'refused', 'connect'] as const;
export type UpstreamErrorKind = (typeof UPSTREAM_ERROR_KINDS)[number];

/** The kind of a proxy error code that blames the worker; null for the others (no route, queue full, …). */
export function upstreamErrorKind(code: ProxyErrorCode): UpstreamErrorKind | null {
  switch (code) {
    case 'UPSTREAM_TIMEOUT':
    case 'WORKER_TIMEOUT':
      return 'timeout';
    case 'WORKER_DIED':
    case 'WORKER_RESET':
      return 'reset';
    case 'PROTOCOL_VIOLATION':
    case 'INVALID_RESPONSE_HEAD':
      return 'protocol';
    case 'RETRIES_EXHAUSTED':
      return 'refused';
    default:
      return null;
  }
}

/** One group's upstream numbers. */
export class GroupOutcomes {
  /** From the assignment to a worker to the worker's last response byte (nginx $upstream_response_time). */
  readonly upstreamDuration = new LatencyHistogram();
  /** Per-request upstream errors by kind (`connect` comes from the endpoints). */
  readonly errors: Record<UpstreamErrorKind, number> = {
    timeout: 0,
    reset: 0,
    protocol: 0,
    refused: 0,
    connect: 0,
  };
  /** The proxy's own answers by code (QUEUE_FULL, NO_ROUTE never reach here: no group). */
  readonly proxyErrors = new Map<ProxyErrorCode, number>();
}

/** Counts UpstreamOutcomes per group (keyed by the group object: no string hashing per request). */
export class UpstreamMetrics implements UpstreamOutcomes {
  readonly #groups = new Map<UpstreamGroup, GroupOutcomes>();

  of(group: UpstreamGroup): GroupOutcomes {
    let outcomes = this.#groups.get(group);
    if (outcomes === undefined) {
      outcomes = new GroupOutcomes();
      this.#groups.set(group, outcomes);
    }
    return outcomes;
  }

  responded(group: UpstreamGroup, ms: number): void {
    this.of(group).upstreamDuration.observe(ms);
  }

  failed(group: UpstreamGroup, code: ProxyErrorCode): void {
    const outcomes = this.of(group);
    outcomes.proxyErrors.set(code, (outcomes.proxyErrors.get(code) ?? 0) + 1);
    const kind = upstreamErrorKind(code);
    if (kind !== null) outcomes.errors[kind]++;
  }
}
