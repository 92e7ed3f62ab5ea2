/**
 * Errors of the worker runtime (STYLE #4): one class, a stable `code` per failure kind. Callers
 * match on `code`; a code is never renamed or reused. Protocol violations are `ProtocolError`s
 * from `@gatewire/protocol`, not these.
 *
 * @example
 * ```ts
 * try {
 *   await loadApp('missing.ts');
 * } catch (error) {
 *   if (isWorkerError(error) && error.code === WorkerErrorCode.APP_NOT_FOUND) console.error(error.message);
 * }
 * ```
 */
export const WorkerErrorCode = {
  /** A command-line flag or environment variable is missing, unknown or out of range. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** The app path does not exist. */
  APP_NOT_FOUND: 'APP_NOT_FOUND',
  /** Importing the app threw. */
  APP_LOAD_FAILED: 'APP_LOAD_FAILED',
  /** The app module exports neither `default { fetch }` nor a default function. */
  APP_NO_FETCH: 'APP_NO_FETCH',
  /** upgradeTunnel() on a request that is not an upgrade request (environ `upgrade` empty). */
  NOT_AN_UPGRADE: 'NOT_AN_UPGRADE',
  /** upgradeTunnel() called twice for one request, or on a request not served by this runtime. */
  TUNNEL_UNAVAILABLE: 'TUNNEL_UNAVAILABLE',
  /** Another live process listens on the socket path this worker wants. */
  SOCKET_IN_USE: 'SOCKET_IN_USE',
  /** The socket directory cannot be created or used. */
  SOCKET_DIR_UNUSABLE: 'SOCKET_DIR_UNUSABLE',
  /** A worker process kept dying right after it started. */
  CRASH_LOOP: 'CRASH_LOOP',
  /** A worker process could not start (it exited or timed out before it was ready). */
  START_FAILED: 'START_FAILED',
  /** Listening on TCP without a shared secret (SPEC §2). */
  SECRET_REQUIRED: 'SECRET_REQUIRED',
  /** An operation that the server's lifecycle state does not allow (STYLE #7). */
  INVALID_STATE: 'INVALID_STATE',
} as const;

/**
 * The name of a WorkerError code.
 *
 * @example
 * ```ts
 * const code: WorkerErrorCodeName = 'CRASH_LOOP';
 * ```
 */
export type WorkerErrorCodeName = keyof typeof WorkerErrorCode;

/**
 * A failure of the worker runtime, with a stable `code`.
 *
 * @example
 * ```ts
 * throw new WorkerError('CONFIG_INVALID', '--processes: must be at least 1');
 * ```
 */
export class WorkerError extends Error {
  readonly code: WorkerErrorCodeName;

  constructor(code: WorkerErrorCodeName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerError';
    this.code = code;
  }
}

/**
 * Whether a value is a WorkerError.
 *
 * @example
 * ```ts
 * supervisor.start().catch((error) => console.error(isWorkerError(error) ? error.code : error));
 * ```
 */
export function isWorkerError(error: unknown): error is WorkerError {
  return error instanceof WorkerError;
}
