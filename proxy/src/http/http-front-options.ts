import { HttpFrontUsageError } from './http-errors.js';

/**
 * Timeouts and limits of the HTTP front. Defaults follow nginx; every value is validated when the
 * front is created, unknown keys are refused, and the resolved object is frozen.
 */
export interface HttpFrontOptions {
  /**
   * Time allowed for a whole request head, from the first byte (or from accept on a new
   * connection), like nginx `client_header_timeout`. On expiry: 408 and close (no answer when the
   * client sent nothing). Default 60000.
   */
  readonly headerTimeoutMs: number;
  /**
   * Longest pause between two reads of a request body the dispatcher is reading (not while it has
   * paused the body), like nginx `client_body_timeout`. On expiry the exchange aborts with
   * 'client-timeout', and the client gets a 408 if no response was started. Default 60000.
   */
  readonly bodyTimeoutMs: number;
  /** How long an idle keep-alive connection is kept, like nginx `keepalive_timeout`; 0 disables keep-alive. Default 75000. */
  readonly keepAliveTimeoutMs: number;
  /**
   * Longest time without any progress in writing to a client that does not read, like nginx
   * `send_timeout`. On expiry the exchange aborts with 'client-timeout' and the connection is
   * closed. Default 60000.
   */
  readonly sendTimeoutMs: number;
  /** Bound of a whole request head (request line, field lines, empty line) and of a trailer section; over it: 431. Default 32768. */
  readonly maxHeaderBytes: number;
  /** Bound of the request-target; over it: 414 (nginx answers 414 for a request line over its buffer). Default 8192. */
  readonly maxTargetBytes: number;
  /** Most header (or trailer) fields in one request; over it: 431. Default 100. */
  readonly maxHeaderCount: number;
  /**
   * Largest request body, like nginx `client_max_body_size`; 0 = unlimited. A Content-Length
   * over it gets 413 before any body byte is read (also with `Expect: 100-continue`); a chunked
   * body gets 413 as soon as a chunk size takes it over. Default 1048576.
   */
  readonly maxBodyBytes: number;
  /** Requests served on one connection before it is closed, like nginx `keepalive_requests`. Default 1000. */
  readonly maxRequestsPerConnection: number;
  /**
   * Request body bytes the front reads and throws away to keep a connection alive after a response
   * that did not consume the body (an early response, discardRequestBody). Past it, the connection
   * is closed after the response instead. Default 65536.
   */
  readonly maxDiscardBytes: number;
  /**
   * Bytes received ahead of the request in progress (pipelined requests, or a body the dispatcher
   * has not started reading) that are kept before the front stops reading the socket. Default 65536.
   */
  readonly maxBufferedBytes: number;
  /**
   * After answering a request with `Connection: close`, how long the front keeps reading (and
   * discarding) before closing, so that unread client bytes do not turn the close into a reset that
   * destroys the response in flight (nginx `lingering_close`). Default 5000.
   */
  readonly lingerMs: number;
}

export const DEFAULT_HTTP_FRONT_OPTIONS: Readonly<HttpFrontOptions> = Object.freeze({
  headerTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 75_000,
  sendTimeoutMs: 60_000,
  maxHeaderBytes: 32_768,
  maxTargetBytes: 8192,
  maxHeaderCount: 100,
  maxBodyBytes: 1_048_576,
  maxRequestsPerConnection: 1000,
  maxDiscardBytes: 65_536,
  maxBufferedBytes: 65_536,
  lingerMs: 5000,
});

/** Smallest value of each option (timeouts in ms, sizes in bytes). */
const MINIMUM: Readonly<Record<keyof HttpFrontOptions, number>> = {
  headerTimeoutMs: 1,
  bodyTimeoutMs: 1,
  keepAliveTimeoutMs: 0,
  sendTimeoutMs: 1,
  maxHeaderBytes: 64,
  maxTargetBytes: 1,
  maxHeaderCount: 1,
  maxBodyBytes: 0,
  maxRequestsPerConnection: 1,
  maxDiscardBytes: 0,
  maxBufferedBytes: 1024,
  lingerMs: 0,
};

/** Fills in defaults, refuses unknown keys and out-of-range values, and freezes the result. */
export function resolveHttpFrontOptions(input: Partial<HttpFrontOptions> = {}): Readonly<HttpFrontOptions> {
  const resolved: Record<string, number> = { ...DEFAULT_HTTP_FRONT_OPTIONS };
  for (const [key, value] of Object.entries(input)) {
    if (!(key in MINIMUM))
      throw new HttpFrontUsageError('INVALID_OPTION', `unknown HTTP front option '${key}'`);
    if (value === undefined) continue;
    const min = MINIMUM[key as keyof HttpFrontOptions];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
      throw new HttpFrontUsageError(
        'INVALID_OPTION',
        `HTTP front option '${key}' must be an integer >= ${min}`,
      );
    resolved[key] = value;
  }
  if (resolved.maxTargetBytes >= resolved.maxHeaderBytes)
    throw new HttpFrontUsageError('INVALID_OPTION', 'maxTargetBytes must be smaller than maxHeaderBytes');
  return Object.freeze(resolved as unknown as HttpFrontOptions);
}
