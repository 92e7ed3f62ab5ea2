import { hostname } from 'node:os';
import { basename, extname, resolve } from 'node:path';
import { Limits } from '@gatewire/protocol';
import { WorkerError } from './errors.js';

/**
 * Where worker processes listen.
 *
 * @example
 * ```ts
 * const target: ListenTarget = { kind: 'socket-dir', dir: '/run/gatewire' };
 * ```
 */
export type ListenTarget =
  /** One socket per process, `<dir>/<name>.<pid>.sock` (SPEC §16). */
  | { kind: 'socket-dir'; dir: string }
  /** Exactly one process on this exact path, no supervisor. */
  | { kind: 'socket'; path: string }
  /** TCP, shared-secret handshake required (SPEC §2, §5.4). */
  | { kind: 'tcp'; host: string; port: number };

/**
 * The one typed configuration of the worker runtime (STYLE #6): validated, defaulted, frozen.
 *
 * @example
 * ```ts
 * const config: WorkerConfig = resolveConfig({ app: 'app.ts', listen: { kind: 'socket', path: '/tmp/a.sock' } });
 * console.log(config.concurrency); // 256
 * ```
 */
export interface WorkerConfig {
  /** Absolute path of the app module. */
  readonly app: string;
  /** Label in socket names and logs, `[A-Za-z0-9_-]+` (SPEC §16). */
  readonly name: string;
  readonly listen: ListenTarget;
  /** Worker processes the supervisor keeps running (1 in single-process mode). */
  readonly processes: number;
  /** `max_streams` advertised per connection (SPEC §5.2, §6.3). */
  readonly concurrency: number;
  /** Recycle a process after this many requests; 0 = never. */
  readonly maxRequests: number;
  /** Up to this many extra requests, drawn at random per process, so processes do not recycle together. */
  readonly maxRequestsJitter: number;
  /** Per-request time limit in ms; 0 = none. */
  readonly timeoutMs: number;
  /** Recycle a process whose resident set exceeds this many bytes; 0 = never. */
  readonly maxMemoryBytes: number;
  /** How long a draining process may take before it is killed, ms. */
  readonly graceMs: number;
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'pretty';
  /**
   * Serve apps with the lightweight Request and the fast Response (default). When false, each
   * request is a plain undici Request and the global Response is left alone.
   */
  readonly fastWebObjects: boolean;
  /** Advertised `initial_window` (SPEC §9). */
  readonly initialWindow: number;
  /** Advertised `max_frame_size` (SPEC §4.1). */
  readonly maxFrameSize: number;
}

/**
 * pino levels.
 *
 * @example
 * ```ts
 * const level: LogLevel = 'debug';
 * ```
 */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Every default in one place.
 *
 * @example
 * ```ts
 * console.log(DEFAULTS.concurrency, DEFAULTS.graceMs); // 256 30000
 * ```
 */
export const DEFAULTS = Object.freeze({
  processes: 1,
  concurrency: 256,
  maxRequests: 0,
  timeoutMs: 0,
  maxMemoryBytes: 0,
  graceMs: 30_000,
  logLevel: 'info' as LogLevel,
  fastWebObjects: true,
  initialWindow: 262_144,
  maxFrameSize: 262_144,
});

/**
 * The parts of a config a caller states; everything else gets its default.
 *
 * @example
 * ```ts
 * const input: WorkerConfigInput = { app: 'app.ts', listen: { kind: 'socket-dir', dir: '/run/gw' }, processes: 4 };
 * ```
 */
export interface WorkerConfigInput {
  app: string;
  listen: ListenTarget;
  name?: string;
  processes?: number;
  concurrency?: number;
  maxRequests?: number;
  maxRequestsJitter?: number;
  timeoutMs?: number;
  maxMemoryBytes?: number;
  graceMs?: number;
  logLevel?: LogLevel;
  logFormat?: 'json' | 'pretty';
  fastWebObjects?: boolean;
  initialWindow?: number;
  maxFrameSize?: number;
}

const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
const KNOWN_KEYS = new Set<string>([
  'app',
  'listen',
  'name',
  'processes',
  'concurrency',
  'maxRequests',
  'maxRequestsJitter',
  'timeoutMs',
  'maxMemoryBytes',
  'graceMs',
  'logLevel',
  'logFormat',
  'fastWebObjects',
  'initialWindow',
  'maxFrameSize',
]);

/**
 * The default socket label for an app file: its base name and the host name, reduced to
 * `[A-Za-z0-9_-]`. The host part keeps names unique when containers share a socket volume and
 * their pids repeat (SPEC §16).
 */
export function defaultName(app: string, host = hostname()): string {
  let stem = basename(app, extname(app));
  if (stem === 'index' || stem === 'app' || stem === 'main' || stem === 'server') {
    stem = basename(resolve(app, '..'));
  }
  const label = (text: string, max: number) =>
    text
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, max);
  const appLabel = label(stem, 32) || 'app';
  const hostLabel = label(host, 24);
  return hostLabel === '' ? appLabel : `${appLabel}-${hostLabel}`;
}

function invalid(what: string, problem: string): never {
  throw new WorkerError('CONFIG_INVALID', `${what}: ${problem}`);
}

function integerIn(value: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    invalid(what, `expected an integer in ${min}…${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * Validates a config input, fills in defaults and freezes the result. Throws WorkerError CONFIG_INVALID.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ app: 'app.ts', listen: { kind: 'socket-dir', dir: '/run/gw' }, timeoutMs: 30_000 });
 * ```
 */
export function resolveConfig(input: WorkerConfigInput): WorkerConfig {
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) invalid(key, 'unknown configuration key');
  }
  if (typeof input.app !== 'string' || input.app === '') invalid('app', 'the app path is required');
  const name = input.name ?? defaultName(input.app);
  if (!NAME_PATTERN.test(name))
    invalid('name', `${JSON.stringify(name)} must match [A-Za-z0-9_-]+ (SPEC §16)`);
  const listen = input.listen;
  if (listen.kind === 'tcp') {
    integerIn(listen.port, 'tcp port', 0, 65_535);
    if (listen.host === '') invalid('tcp host', 'empty');
  } else if (listen.kind === 'socket-dir') {
    if (listen.dir === '') invalid('socket-dir', 'empty');
  } else if (listen.path === '') invalid('socket', 'empty');
  const processes = integerIn(input.processes ?? DEFAULTS.processes, 'processes', 1, 1024);
  if (listen.kind === 'socket' && processes !== 1) {
    invalid(
      'processes',
      'single-process mode (--socket) runs exactly one process; use --socket-dir for more',
    );
  }
  const maxRequests = integerIn(input.maxRequests ?? DEFAULTS.maxRequests, 'max-requests', 0, 2 ** 40);
  const timeoutMs = input.timeoutMs ?? DEFAULTS.timeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0)
    invalid('timeout', `expected seconds ≥ 0, got ${timeoutMs}`);
  const graceMs = input.graceMs ?? DEFAULTS.graceMs;
  if (!Number.isFinite(graceMs) || graceMs < 0) invalid('grace', `expected seconds ≥ 0, got ${graceMs}`);
  const maxMemoryBytes = input.maxMemoryBytes ?? DEFAULTS.maxMemoryBytes;
  if (!Number.isFinite(maxMemoryBytes) || maxMemoryBytes < 0) {
    invalid('max-memory', `expected megabytes ≥ 0, got ${maxMemoryBytes}`);
  }
  const logLevel = input.logLevel ?? DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) invalid('log-level', `expected one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = input.logFormat ?? 'json';
  if (logFormat !== 'json' && logFormat !== 'pretty') invalid('log-format', 'expected json or pretty');
  return Object.freeze({
    app: resolve(input.app),
    name,
    listen: Object.freeze({ ...listen }),
    processes,
    concurrency: integerIn(input.concurrency ?? DEFAULTS.concurrency, 'concurrency', 1, Limits.MAX_STREAMS),
    maxRequests,
    maxRequestsJitter: integerIn(
      input.maxRequestsJitter ?? Math.floor(maxRequests / 10),
      'max-requests-jitter',
      0,
      2 ** 40,
    ),
    timeoutMs,
    maxMemoryBytes,
    graceMs,
    logLevel,
    logFormat,
    fastWebObjects: input.fastWebObjects ?? DEFAULTS.fastWebObjects,
    initialWindow: integerIn(
      input.initialWindow ?? DEFAULTS.initialWindow,
      'initial-window',
      Limits.MIN_INITIAL_WINDOW,
      Limits.MAX_WINDOW,
    ),
    maxFrameSize: integerIn(
      input.maxFrameSize ?? DEFAULTS.maxFrameSize,
      'max-frame-size',
      Limits.MIN_MAX_FRAME_SIZE,
      Limits.MAX_MAX_FRAME_SIZE,
    ),
  });
}
