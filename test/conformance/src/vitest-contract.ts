import { afterAll, beforeAll, describe, test } from 'vitest';
import { selectChecks } from './check-selection.js';
import { ALL_CHECKS } from './checks/index.js';
import { resolveOptions, type SkipRule } from './options.js';
import { ConformanceSession } from './session.js';
import type { WorkerCommand } from './worker-process.js';

export interface WorkerContractOptions {
  /** The worker: a shell command listening on `$GATEWIRE_SOCKET`, or the full spec. */
  start: string | WorkerCommand;
  /** Checks this worker is known not to pass, each with the reason (STYLE #8). */
  skip?: readonly SkipRule[];
  /** Register only these checks (names, dotted prefixes or patterns); default all. */
  only?: readonly string[];
  /** Shared secret, for a worker that asks for the proof of SPEC §5.4. */
  secret?: Uint8Array;
  /** Title of the describe block. */
  name?: string;
  timeoutMs?: number;
  startTimeoutMs?: number;
}

/**
 * Registers one vitest test per conformance check against the worker `start` launches (STYLE #8).
 * The worker starts once in beforeAll (a worker that never listens fails every test with its
 * output), and is restarted by the session when a check leaves it dead.
 *
 * @example
 * ```ts
 * runWorkerContract({
 *   start: 'python3 -m gatewire_wsgi conformance_app:application --socket "$GATEWIRE_SOCKET"',
 *   skip: [{ reason: 'WSGI has no upgrade API', tests: ['upgrade'] }],
 * });
 * ```
 */
export function runWorkerContract(options: WorkerContractOptions): void {
  const resolved = resolveOptions({
    worker: options.start,
    skip: options.skip,
    only: options.only,
    secret: options.secret,
    timeoutMs: options.timeoutMs,
    startTimeoutMs: options.startTimeoutMs,
  });
  const selection = selectChecks(ALL_CHECKS, resolved.only, resolved.skip);
  const perTestMs = Math.max(60_000, resolved.timeoutMs * 8);
  describe(options.name ?? 'gatewire worker contract', () => {
    let session: ConformanceSession | undefined;
    beforeAll(async () => {
      session = new ConformanceSession(resolved);
      await session.start();
    }, resolved.startTimeoutMs + 10_000);
    afterAll(async () => {
      await session?.close();
    }, 30_000);
    for (const { check, skipReason } of selection) {
      if (skipReason !== undefined) {
        test.skip(`${check.name} (skipped: ${skipReason})`, () => undefined);
        continue;
      }
      test(
        check.name,
        async (context) => {
          if (!session) throw new Error('the worker session did not start (see the beforeAll error)');
          const result = await session.run(check);
          if (result.status === 'skip') context.skip(result.detail);
          if (result.status === 'fail')
            throw new Error(`${check.name} (SPEC ${check.spec}): ${result.detail}`);
        },
        perTestMs,
      );
    }
  });
}
