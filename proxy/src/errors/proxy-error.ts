/**
 * Why the proxy itself answered a request instead of the worker. One code per failure kind; the
 * code decides the HTTP status (STYLE #4). Codes are stable: never renumber or reuse a retired one.
 * `test/unit/proxy/proxy-error.test.ts` keeps this table and the one in proxy/README.md identical.
 */
export const PROXY_ERRORS = {
  /** No route matches the request's host and path. */
  NO_ROUTE: { status: 404, message: 'no route for this host and path' },
  /** Every worker of the group is busy and the wait queue is full. */
  QUEUE_FULL: { status: 503, message: 'all workers are busy and the wait queue is full' },
  /** The request waited in the queue for queueTimeout without a worker freeing up. */
  QUEUE_TIMEOUT: { status: 503, message: 'no worker became free in time' },
  /** The group has no worker that can take the request (none discovered, all down or ejected). */
  WORKER_UNAVAILABLE: { status: 503, message: 'no worker is available' },
  /** The proxy is shutting down and takes no new requests. */
  SHUTTING_DOWN: { status: 503, message: 'the proxy is shutting down' },
  /** No response head (or no DATA for the idle time) from the worker within responseTimeout. */
  UPSTREAM_TIMEOUT: { status: 504, message: 'the worker did not answer in time' },
  /** The worker reset the stream with TIMEOUT: its own per-request limit expired (SPEC §14.1). */
  WORKER_TIMEOUT: { status: 504, message: 'the worker timed out processing the request' },
  /** The worker's connection closed or failed while the request was on it. */
  WORKER_DIED: { status: 502, message: 'the worker went away while handling the request' },
  /** The worker broke the protocol on this connection (SPEC §14.2). */
  PROTOCOL_VIOLATION: { status: 502, message: 'the worker sent invalid protocol data' },
  /** The worker's response head failed validation (SPEC §8.1): RESET INVALID_HEAD was sent. */
  INVALID_RESPONSE_HEAD: { status: 502, message: 'the worker sent an invalid response head' },
  /** The worker reset the stream before completing the response (APP_ERROR, CANCEL, …). */
  WORKER_RESET: { status: 502, message: 'the worker aborted the response' },
  /** The request was refused on every attempt (REFUSED_STREAM, GOAWAY) and retries ran out. */
  RETRIES_EXHAUSTED: { status: 502, message: 'no worker accepted the request' },
  /** An upgrade (WebSocket) request, and no worker of the group negotiated the upgrade feature. */
  UPGRADE_NOT_SUPPORTED: { status: 501, message: 'the upstream does not support protocol upgrades' },
  /** The request head does not fit in one REQUEST frame for this worker (its max_frame_size). */
  ENVIRON_TOO_LARGE: { status: 431, message: 'the request head is too large for the worker' },
  /** The request body could not be buffered (temporary file error). */
  BUFFERING_FAILED: { status: 500, message: 'the request could not be buffered' },
} as const;

export type ProxyErrorCode = keyof typeof PROXY_ERRORS;

/** A failure the proxy answers itself; `status` is the HTTP status sent to the client. */
export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly status: number;

  constructor(code: ProxyErrorCode, detail?: string) {
    super(detail ? `${PROXY_ERRORS[code].message}: ${detail}` : PROXY_ERRORS[code].message);
    this.name = 'ProxyError';
    this.code = code;
    this.status = PROXY_ERRORS[code].status;
  }
}

export function isProxyError(error: unknown): error is ProxyError {
  return error instanceof ProxyError;
}
