import type { CheckResult } from './check.js';

/** One line per check: `ok`, `FAIL` or `skip`, the name, and the detail on failure or skip. */
export function formatResult(result: CheckResult): string {
  switch (result.status) {
    case 'pass':
      return `ok   ${result.name}${result.note ? ` (${result.note})` : ''}`;
    case 'fail':
      return `FAIL ${result.name}: ${result.detail ?? 'failed'}`;
    case 'skip':
      return `skip ${result.name}: ${result.detail ?? 'skipped'}`;
  }
}

export function formatSummary(counts: { passed: number; failed: number; skipped: number }): string {
  return `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
}
