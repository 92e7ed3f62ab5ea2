import type { Check } from './check.js';
import { ConformanceConfigError } from './errors.js';
import type { SkipRule } from './options.js';

export interface SelectedCheck {
  check: Check;
  /** Set when the check is skipped by the user, with the user's reason. */
  skipReason?: string;
}

/**
 * Whether a selector matches a check name: the name itself, a dotted prefix of it (`vectors`,
 * `vectors.error`), or a pattern with `*` (`malformed.environ-*`).
 */
export function matches(selector: string, name: string): boolean {
  if (selector === name || name.startsWith(`${selector}.`)) return true;
  if (!selector.includes('*')) return false;
  const pattern = selector.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${pattern.join('.*')}$`).test(name);
}

function assertKnown(selector: string, checks: readonly Check[], where: string): void {
  if (!checks.some((check) => matches(selector, check.name))) {
    throw new ConformanceConfigError(
      `${where}: ${JSON.stringify(selector)} matches no check (list them with --list)`,
    );
  }
}

/** Picks the checks to run; selectors that match nothing are errors (a typo must not hide a check). */
export function selectChecks(
  checks: readonly Check[],
  only: readonly string[] | undefined,
  skip: readonly SkipRule[],
): SelectedCheck[] {
  for (const selector of only ?? []) assertKnown(selector, checks, 'only');
  for (const rule of skip) for (const selector of rule.tests) assertKnown(selector, checks, 'skip');
  const selected: SelectedCheck[] = [];
  for (const check of checks) {
    if (only && !only.some((selector) => matches(selector, check.name))) continue;
    const rule = skip.find((candidate) => candidate.tests.some((selector) => matches(selector, check.name)));
    selected.push(rule ? { check, skipReason: rule.reason } : { check });
  }
  return selected;
}
