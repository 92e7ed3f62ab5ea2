import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Health } from '@gatewire/protocol';

/**
 * Process health for HEALTH frames (SPEC §12.2): event-loop delay measured with
 * perf_hooks.monitorEventLoopDelay over rolling windows, memory, uptime.
 */
export class HealthMonitor {
  #histogram: IntervalHistogram;
  #startedAt = performance.now();
  #lastWindowLagMs = 0;

  constructor() {
    this.#histogram = monitorEventLoopDelay({ resolution: 10 });
    this.#histogram.enable();
  }

  /** Closes the current measuring window (call every few seconds). */
  roll(): void {
    const histogram = this.#histogram;
    this.#lastWindowLagMs = histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
    histogram.reset();
  }

  /** p99 event-loop delay, ms: the worse of the last complete window and the current one. */
  get loopLagMs(): number {
    const histogram = this.#histogram;
    const current = histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
    return Math.round(Math.max(this.#lastWindowLagMs, current) * 100) / 100;
  }

  get uptimeS(): number {
    return Math.round(performance.now() - this.#startedAt) / 1000;
  }

  snapshot(requests: number, inFlight: number): Health {
    const memory = process.memoryUsage();
    return {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      loopLagMs: this.loopLagMs,
      requests,
      inFlight,
      uptimeS: this.uptimeS,
    };
  }

  stop(): void {
    this.#histogram.disable();
  }
}
