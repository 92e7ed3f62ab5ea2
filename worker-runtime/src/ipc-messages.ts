/**
 * Messages between the supervisor and its worker processes, over the child_process IPC channel
 * (JSON serialization). Validated on receipt (STYLE #5): anything else is ignored.
 */

/** Worker process → supervisor. */
export type WorkerMessage =
  /** The app is loaded and the socket is in place (SPEC §16): the process serves. */
  | { type: 'ready'; address: string }
  /** Sent every heartbeat interval from the event loop: silence means a stuck loop (--timeout). */
  | { type: 'heartbeat'; requests: number; inFlight: number; rss: number }
  /** Please start a replacement, then tell me to drain. */
  | { type: 'recycle'; reason: string; detail: string }
  /** The process cannot start; `code` is a WorkerError code. Sent just before exiting. */
  | { type: 'fatal'; code: string; message: string };

/** Supervisor → worker process. */
export type SupervisorMessage =
  /** Drain (SPEC §11) and exit 0 when done. */
  | { type: 'drain'; reason: string }
  /** A TCP connection accepted by the supervisor, passed as the message's handle. */
  | { type: 'connection' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'ready':
      return typeof value.address === 'string';
    case 'heartbeat':
      return (
        typeof value.requests === 'number' &&
        typeof value.inFlight === 'number' &&
        typeof value.rss === 'number'
      );
    case 'recycle':
      return typeof value.reason === 'string' && typeof value.detail === 'string';
    case 'fatal':
      return typeof value.code === 'string' && typeof value.message === 'string';
    default:
      return false;
  }
}

export function isSupervisorMessage(value: unknown): value is SupervisorMessage {
  if (!isRecord(value)) return false;
  if (value.type === 'drain') return typeof value.reason === 'string';
  return value.type === 'connection';
}

/** Environment variable through which the supervisor passes a worker process its config (JSON). */
export const CHILD_CONFIG_ENV = 'GATEWIRE_WORKER_CHILD_CONFIG';

/**
 * How often a worker process sends its heartbeat: often enough that a loop stuck for `timeoutMs`
 * is noticed within one more interval, and at most once a second.
 */
export function heartbeatIntervalMs(timeoutMs: number): number {
  return timeoutMs > 0 ? Math.max(100, Math.min(1000, Math.floor(timeoutMs / 4))) : 1000;
}
