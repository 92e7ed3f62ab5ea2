import { ConformanceConfigError } from './errors.js';
import type { CheckResult } from './check.js';
import type { WorkerCommand } from './worker-process.js';

/** Checks to skip, each group with the reason (STYLE #8: every gap is a skip with a written reason). */
export interface SkipRule {
  reason: string;
  /** Check names, group names (`upgrade`), or patterns with `*` (`malformed.environ-*`). */
  tests: readonly string[];
}

export interface ConformanceOptions {
  /** The worker: a shell command listening on `$GATEWIRE_SOCKET`, or the full spec. */
  worker: string | WorkerCommand;
  /** Run only these checks (names, groups or patterns); default all. */
  only?: readonly string[];
  skip?: readonly SkipRule[];
  /** How long any one expected event may take, in ms. Default 10000. */
  timeoutMs?: number;
  /** How long the worker may take to listen on its socket, in ms. Default 20000. */
  startTimeoutMs?: number;
  /** Shared secret for a worker that asks for the proof of SPEC §5.4. */
  secret?: Uint8Array;
  /** Called with each result as soon as its check ends. */
  onResult?: (result: CheckResult) => void;
}

export interface ResolvedOptions {
  readonly worker: WorkerCommand;
  readonly only: readonly string[] | undefined;
  readonly skip: readonly SkipRule[];
  readonly timeoutMs: number;
  readonly startTimeoutMs: number;
  readonly secret: Uint8Array | undefined;
  readonly onResult: ((result: CheckResult) => void) | undefined;
}

const DEFAULTS = { timeoutMs: 10_000, startTimeoutMs: 20_000 } as const;
const KNOWN_KEYS = new Set(['worker', 'only', 'skip', 'timeoutMs', 'startTimeoutMs', 'secret', 'onResult']);

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0 || value > 600_000) {
    throw new ConformanceConfigError(`${name} must be a number of milliseconds in 1…600000, got ${value}`);
  }
  return value;
}

/** Validates options eagerly (unknown keys refused) and freezes them with their defaults. */
export function resolveOptions(options: ConformanceOptions): ResolvedOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key))
      throw new ConformanceConfigError(`unknown conformance option ${JSON.stringify(key)}`);
  }
  const worker = typeof options.worker === 'string' ? { command: options.worker } : options.worker;
  if (!worker || typeof worker.command !== 'string' || worker.command.trim() === '') {
    throw new ConformanceConfigError(
      'the worker command is missing: give the shell command that starts a worker on "$GATEWIRE_SOCKET"',
    );
  }
  for (const rule of options.skip ?? []) {
    if (!rule.reason || rule.reason.trim() === '') {
      throw new ConformanceConfigError(
        `a skip of ${JSON.stringify(rule.tests)} has no reason; every skip needs one`,
      );
    }
  }
  return Object.freeze({
    worker: Object.freeze({ ...worker }),
    only: options.only ? Object.freeze([...options.only]) : undefined,
    skip: Object.freeze([...(options.skip ?? [])]),
    timeoutMs: positiveMs('timeoutMs', options.timeoutMs, DEFAULTS.timeoutMs),
    startTimeoutMs: positiveMs('startTimeoutMs', options.startTimeoutMs, DEFAULTS.startTimeoutMs),
    secret: options.secret,
    onResult: options.onResult,
  });
}
