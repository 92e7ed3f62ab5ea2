/**
 * @gatewire/conformance: checks that a gatewire worker, in any language, behaves as
 * protocol/SPEC.md requires. The vitest contract lives in `@gatewire/conformance/vitest`.
 *
 * @example
 * ```ts
 * import { runConformance } from '@gatewire/conformance';
 * const report = await runConformance({ worker: 'node worker.js --socket "$GATEWIRE_SOCKET"' });
 * ```
 */
export { runConformance } from './run-conformance.js';
export type { ConformanceReport } from './run-conformance.js';
export type { ConformanceOptions, SkipRule } from './options.js';
export type { Check, CheckResult, CheckStatus } from './check.js';
export { ALL_CHECKS } from './checks/index.js';
export { CheckFailed, CheckSkipped, ConformanceConfigError, WorkerStartError } from './errors.js';
export type { WorkerCommand } from './worker-process.js';
export { formatResult, formatSummary } from './report.js';
