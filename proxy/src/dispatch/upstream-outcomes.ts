import type { ProxyErrorCode } from '../errors/proxy-error.js';
import type { UpstreamGroup } from '../upstream/upstream-group.js';

/**
 * What the dispatcher reports about each upstream request, for metrics (proxy/src/metrics): the
 * time a worker took to answer, or why the proxy answered instead. Called once per request at
 * its end; implementations only add to counters.
 */
export interface UpstreamOutcomes {
  /** The worker sent its whole response `ms` after the request was assigned to it. */
  responded(group: UpstreamGroup, ms: number): void;
  /** The proxy answered with an error of its own (`code`) instead of the worker's response. */
  failed(group: UpstreamGroup, code: ProxyErrorCode): void;
}

/** Outcomes nobody counts (no admin listener). */
export const IGNORED_OUTCOMES: UpstreamOutcomes = {
  responded() {},
  failed() {},
};
