/**
 * The result of one `npm run bench` run: what bench/run.ts collects and bench/report/ renders into
 * docs/benchmarks.md and its charts. Plain data (JSON-serializable), so the renderer is pure.
 */

/** Whether a larger primary value is better (req/s, MB/s) or worse (RSS, latency). */
export type Better = 'higher' | 'lower';

/** One measured run of one side of a scenario (one round). */
export interface RunSample {
  /** The scenario's primary metric (req/s, MB/s, msg/s, MiB, ms). */
  readonly value: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Peak RSS in MiB per role (a role with several processes: their peaks summed). */
  readonly rssMiB: Readonly<Record<string, number>>;
  /** Anything wrong in this run (non-2xx answers, socket errors). */
  readonly errors?: string;
}

export interface SideResult {
  /** Stable short name, e.g. `gatewire`, `nginx-node`, `node`. */
  readonly id: string;
  readonly label: string;
  readonly kind: 'gatewire' | 'reference';
  /** The processes of this side, e.g. `proxy + 1 TS worker`. */
  readonly processes: string;
  /** One sample per round, in round order (round i of every side ran back to back). */
  readonly runs: readonly RunSample[];
  /** Why this side did not run (a missing reference and how to get it). */
  readonly skipped?: string;
}

export interface ScenarioResult {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  /** What was measured and how, one or two sentences. */
  readonly description: string;
  readonly metric: { readonly name: string; readonly unit: string; readonly better: Better };
  readonly sides: readonly SideResult[];
  /** Set when the scenario failed as a whole; its sides may be empty. */
  readonly error?: string;
}

export interface GroupInfo {
  readonly id: string;
  readonly title: string;
  readonly description: string;
}

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly loadBefore: string;
  readonly loadAfter: string;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly durationSeconds: number;
  /** The command line, e.g. `npm run bench -- --quick`. */
  readonly command: string;
  readonly quick: boolean;
  readonly rounds: number;
  readonly machine: MachineInfo;
  /** References that were missing, with how to install them. */
  readonly missing: readonly string[];
  readonly groups: readonly GroupInfo[];
  readonly scenarios: readonly ScenarioResult[];
}
