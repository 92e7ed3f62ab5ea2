import type { Hello } from '@gatewire/protocol';
import type { CheckResult } from './check.js';
import { selectChecks } from './check-selection.js';
import { ALL_CHECKS } from './checks/index.js';
import { resolveOptions, type ConformanceOptions } from './options.js';
import { ConformanceSession } from './session.js';

export interface ConformanceReport {
  results: CheckResult[];
  passed: number;
  failed: number;
  skipped: number;
  /** The worker's HELLO, when it sent a valid one. */
  workerHello: Hello | undefined;
}

/**
 * Starts the worker, runs every selected check against it, stops it, and returns the results.
 * Throws WorkerStartError if the worker never listens, ConformanceConfigError for bad options.
 *
 * @example
 * ```ts
 * const report = await runConformance({ worker: 'python3 -m gatewire_wsgi app:application --socket "$GATEWIRE_SOCKET"' });
 * console.log(`${report.passed} passed, ${report.failed} failed`);
 * ```
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const resolved = resolveOptions(options);
  const selection = selectChecks(ALL_CHECKS, resolved.only, resolved.skip);
  const session = new ConformanceSession(resolved);
  const results: CheckResult[] = [];
  try {
    await session.start();
    for (const { check, skipReason } of selection) {
      const result = await session.run(check, skipReason);
      results.push(result);
      resolved.onResult?.(result);
    }
  } finally {
    await session.close();
  }
  return {
    results,
    passed: results.filter((result) => result.status === 'pass').length,
    failed: results.filter((result) => result.status === 'fail').length,
    skipped: results.filter((result) => result.status === 'skip').length,
    workerHello: session.workerHello,
  };
}
