/**
 * Upper bounds (seconds) of the Prometheus latency buckets, nginx-VTS-like: sub-millisecond to a
 * minute. `+Inf` is implicit.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const BOUNDS_MS = Float64Array.from(LATENCY_BUCKETS_SECONDS, (seconds) => seconds * 1000);

/**
 * A cumulative-at-scrape histogram kept as plain per-bucket counts: observe() is a short scan and
 * two additions, no label lookup (prom-client's Histogram#observe with labels costs a hash of the
 * label set per call). The Prometheus text is produced from these counts at scrape time.
 */
export class LatencyHistogram {
  /** counts[i]: observations ≤ BOUNDS[i] and > BOUNDS[i-1]; the last slot is above every bound. */
  readonly counts = new Float64Array(BOUNDS_MS.length + 1);
  /** Sum of observations, seconds. */
  sumSeconds = 0;
  count = 0;

  observe(ms: number): void {
    let i = 0;
    const bounds = BOUNDS_MS;
    while (i < bounds.length && ms > bounds[i]) i++;
    this.counts[i]++;
    this.sumSeconds += ms / 1000;
    this.count++;
  }

  /** Cumulative counts per bound (Prometheus `le`), the last one being `+Inf` (= count). */
  cumulative(): number[] {
    const out: number[] = [];
    let total = 0;
    for (const value of this.counts) {
      total += value;
      out.push(total);
    }
    return out;
  }
}
