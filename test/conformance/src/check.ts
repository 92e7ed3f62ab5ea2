import type { CheckContext } from './check-context.js';

/** One behaviour the SPEC requires of a worker, checked on its own. */
export interface Check {
  /** `group.name`, stable: users skip checks by it. */
  readonly name: string;
  /** The SPEC sections it enforces, e.g. `§6.1`. */
  readonly spec: string;
  /** What a passing worker does, in one sentence. */
  readonly title: string;
  run(ctx: CheckContext): Promise<void>;
}

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** Why it failed or was skipped. */
  detail?: string;
  /** Something worth showing for a passing check (what the worker advertised, a SHOULD it skipped). */
  note?: string;
  durationMs: number;
}

export function defineCheck(check: Check): Check {
  return Object.freeze(check);
}

export function groupOf(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? name : name.slice(0, dot);
}
