/**
 * Errors of the HTTP front. One class per failure kind, each with a stable `code`: callers and
 * tests match on `code`, never on the message. Codes are never renamed or reused.
 */

/**
 * Why the front refused a request (or a request body), and the status it answers with. The
 * refusal is always final for the connection: the front answers (when it still can) and closes.
 */
export const ParseErrorStatus = {
  /** Request line: the method is not a token. */
  INVALID_METHOD: 400,
  /** A method token we do not serve (not in the registry of methods we pass on). RFC 9110 §9.1. */
  UNKNOWN_METHOD: 501,
  /** CONNECT: gatewire is not a forward proxy. 501, not 405, since 405 needs an Allow list the front cannot know. */
  CONNECT_NOT_SUPPORTED: 501,
  /** Request line not `method SP target SP version` with single spaces. */
  INVALID_REQUEST_LINE: 400,
  INVALID_TARGET: 400,
  TARGET_TOO_LONG: 414,
  /** Not `HTTP/` DIGIT `.` DIGIT. */
  INVALID_VERSION: 400,
  /** A well-formed version other than 1.0 and 1.1 (0.9, 1.2, 2.0, …), or an HTTP/0.9-style request line. */
  UNSUPPORTED_VERSION: 505,
  /** CR not followed by LF. */
  BARE_CR: 400,
  /** LF not preceded by CR: a line ending we refuse although RFC 9112 §2.2 lets a recipient accept it. */
  BARE_LF: 400,
  /** A field line starting with SP or HTAB (obsolete line folding, RFC 9112 §5.2). */
  OBS_FOLD: 400,
  INVALID_HEADER_NAME: 400,
  /** Whitespace between a field name and the colon (RFC 9112 §5.1). */
  WHITESPACE_BEFORE_COLON: 400,
  /** A CTL other than HTAB in a field value. */
  INVALID_HEADER_VALUE: 400,
  HEADER_TOO_LARGE: 431,
  TOO_MANY_HEADERS: 431,
  MISSING_HOST: 400,
  DUPLICATE_HOST: 400,
  INVALID_HOST: 400,
  INVALID_CONTENT_LENGTH: 400,
  /** Two Content-Length fields or a list, even with identical values: nginx refuses them too. */
  DUPLICATE_CONTENT_LENGTH: 400,
  CONTENT_LENGTH_WITH_TRANSFER_ENCODING: 400,
  /** Transfer-Encoding whose final coding is not `chunked`, or that is malformed or repeated. */
  INVALID_TRANSFER_ENCODING: 400,
  /** A well-formed coding list ending in `chunked` with codings before it (`gzip, chunked`). RFC 9112 §6.1. */
  UNSUPPORTED_TRANSFER_ENCODING: 501,
  TRANSFER_ENCODING_IN_HTTP10: 400,
  /** An Expect member other than 100-continue. RFC 9110 §10.1.1. */
  UNSUPPORTED_EXPECTATION: 417,
  BODY_TOO_LARGE: 413,
  INVALID_CHUNK_SIZE: 400,
  CHUNK_SIZE_TOO_LONG: 400,
  INVALID_CHUNK_EXTENSION: 400,
  CHUNK_LINE_TOO_LONG: 400,
  MISSING_CHUNK_CRLF: 400,
  INVALID_TRAILER: 400,
  TRAILERS_TOO_LARGE: 431,
  /** client_header_timeout: the head did not arrive in time. */
  HEADER_TIMEOUT: 408,
  /** client_body_timeout: nothing of the body arrived for too long. */
  BODY_TIMEOUT: 408,
} as const;

export type ParseErrorCode = keyof typeof ParseErrorStatus;

/** The client sent something the front refuses. `status` is the response it gets. */
export class HttpParseError extends Error {
  readonly code: ParseErrorCode;
  readonly status: number;

  constructor(code: ParseErrorCode, message: string) {
    super(message);
    this.name = 'HttpParseError';
    this.code = code;
    this.status = ParseErrorStatus[code];
  }
}

export function isHttpParseError(error: unknown): error is HttpParseError {
  return error instanceof HttpParseError;
}

/** Programming errors by users of the front: calls out of order, bad options, lifecycle misuse. */
export const UsageErrorCodes = [
  /** An options object with an unknown key or a value out of range. */
  'INVALID_OPTION',
  /** listen() on a front that is already listening or closed. */
  'INVALID_STATE',
  /** An Exchange method called in a state where it cannot apply (head written twice, body started twice, …). */
  'EXCHANGE_STATE',
  /** startRequestBody() before exchange.handler was set. */
  'NO_HANDLER',
  /** A status out of range for the call (writeInformational with a non-1xx, writeResponseHead with a 1xx, …). */
  'INVALID_STATUS',
] as const;

export type UsageErrorCode = (typeof UsageErrorCodes)[number];

export class HttpFrontUsageError extends Error {
  readonly code: UsageErrorCode;

  constructor(code: UsageErrorCode, message: string) {
    super(message);
    this.name = 'HttpFrontUsageError';
    this.code = code;
  }
}
