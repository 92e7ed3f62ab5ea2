import type { HeaderPairs } from '@gatewire/protocol';

/**
 * The seam between the HTTP front (which speaks HTTP/1.1 to clients) and the dispatcher (which
 * routes, balances and speaks gatewire to workers). The front creates one Exchange per request and
 * hands it to the Dispatcher; the dispatcher attaches an ExchangeHandler to hear about the request
 * body, client backpressure and client aborts. No closures per request: both sides are objects.
 *
 * Strings that come from the wire are ByteStrings (one character per byte, ISO-8859-1).
 */

/** A request head the front parsed strictly (RFC 9112) and accepted. */
export interface RequestHead {
  /** Method token as received, case preserved. */
  readonly method: string;
  /** Raw request-target. */
  readonly target: string;
  /** Path component of the target, percent-encoding intact; for absolute-form, the URI's path ('/' if empty); '*' for `OPTIONS *`. */
  readonly path: string;
  /** Query component without '?', '' if none. */
  readonly query: string;
  readonly httpVersion: 'HTTP/1.0' | 'HTTP/1.1';
  /** Every header field as received, in order: names lowercased, values with surrounding whitespace removed. Hop-by-hop fields are still here; the dispatcher filters. */
  readonly headers: HeaderPairs;
  /** The effective host: the authority of an absolute-form target, else the Host header value; '' if none (HTTP/1.0 only). */
  readonly host: string;
  /** 0 when there is no body, the Content-Length when given, null when the body is chunked. */
  readonly bodyLength: number | null;
  /** The client sent `Expect: 100-continue` (HTTP/1.1) for a request with a body; false when the body is empty (there is nothing to continue). */
  readonly expectContinue: boolean;
  /** Lowercased Upgrade value when the client asked to switch protocols (`Connection: upgrade` plus an Upgrade field, no body); '' otherwise. */
  readonly upgrade: string;
  /** The client wants the connection kept open after this exchange. */
  readonly keepAlive: boolean;
}

/** Facts about the client connection an exchange arrived on. */
export interface ConnectionInfo {
  /** Peer IP address ('' for a Unix-socket listener). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Scheme of the listener ('https' behind a TLS listener). */
  readonly scheme: 'http' | 'https';
}

/** Why an exchange ended without a complete response to the client. */
export type AbortReason =
  /** The client closed its connection or reset it. */
  | 'client-gone'
  /** The client stopped sending its body (client_body_timeout) or reading the response (send_timeout). */
  | 'client-timeout'
  /** The request body broke the rules mid-stream (bad chunk framing, over the body limit after the head). */
  | 'bad-request-body'
  /** The proxy is shutting down and the grace period ended. */
  | 'shutdown';

export interface ExchangeHandler {
  /**
   * A piece of the decoded request body (chunked framing removed), or raw tunnel bytes after
   * switchProtocols: a view into a buffer the front read from the socket. The front never writes
   * into a buffer it has handed out (each socket read is a fresh buffer), so the handler may hold
   * the view as long as it likes without copying; holding it keeps that whole read buffer alive.
   */
  onRequestBody(chunk: Buffer): void;
  /** The request body is complete (for a tunnel: the client half-closed). `trailers` only for a chunked body that had some. */
  onRequestEnd(trailers: HeaderPairs | null): void;
  /** The client socket drained after writeResponseBody returned false. */
  onResponseDrain(): void;
  /** The exchange is over on the client side before the response completed; stop upstream work. Called at most once. */
  onAbort(reason: AbortReason): void;
}

/** Response field lines a dispatcher rendered itself, for Exchange.writeRenderedHead. */
export interface RenderedFields {
  /**
   * `name: value\r\n` lines: names are tokens, values hold no CR, LF, NUL or other control but
   * HTAB, and there is no hop-by-hop, connection-management or `transfer-encoding` field. At most
   * one `content-length` line, and only when `contentLength` is its value.
   */
  readonly lines: Buffer;
  /** The body length the head announces (the front enforces it), or -1: the front frames the body. */
  readonly contentLength: number;
  /** A `date` field is among the lines (else the front adds one). */
  readonly hasDate: boolean;
}

export interface Exchange {
  readonly head: RequestHead;
  readonly connection: ConnectionInfo;
  /** performance.now() when the head was complete. */
  readonly startedAt: number;
  /** Preset by the front to a fresh id; the dispatcher may replace it (a trusted X-Request-Id) before anything is written. Appears in the access log and in error bodies. */
  requestId: string;
  /** Set by the dispatcher: a label for the access log ('static', a worker's socket, …). */
  upstream: string;
  /** The dispatcher's handler; set it in dispatch() before calling startRequestBody(). */
  handler: ExchangeHandler | null;

  /**
   * Starts delivering the request body to handler.onRequestBody / onRequestEnd, sending
   * `100 Continue` first when the client expects it. With no body, onRequestEnd(null) is called
   * (asynchronously). Call it once. For an upgrade request (head.upgrade set), onRequestEnd(null)
   * waits for the response (SPEC §13): it comes when a final non-101 head is written, or, after
   * switchProtocols, when the client half-closes the tunnel.
   */
  startRequestBody(): void;
  /** Stops reading the client socket (upstream has no credit). Idempotent. */
  pauseRequestBody(): void;
  resumeRequestBody(): void;
  /**
   * The upstream will not read more of the body (early response): the handler gets no more body
   * events, and the front drains (bounded) or closes the connection after the response. Ending the
   * response before the body was read implies it.
   */
  discardRequestBody(): void;

  /** True once a final head (or 101) was written. */
  readonly responseStarted: boolean;

  /** Forwards an informational 1xx head (not 101). Ignored for HTTP/1.0 clients. */
  writeInformational(status: number, headers: HeaderPairs): void;
  /**
   * Writes the final response head. `headers` are already validated and stripped of hop-by-hop
   * fields by the dispatcher. The front frames the body itself: a `content-length` in `headers` is
   * kept and enforced; otherwise chunked for HTTP/1.1, close-delimited for HTTP/1.0. It adds
   * `Connection` and `Date` as needed. For HEAD, 204 and 304 no body is sent.
   */
  writeResponseHead(status: number, reason: string, headers: HeaderPairs): void;
  /**
   * Like writeResponseHead, with field lines the dispatcher rendered and checked itself (the
   * upstream fast path: no string per field). The front adds the status line, framing, connection
   * and Date fields, and copies `fields.lines` during the call (the dispatcher may reuse it).
   */
  writeRenderedHead(status: number, reason: string, fields: RenderedFields): void;
  /** Writes body bytes. Returns false when the client socket's buffer is full: wait for handler.onResponseDrain(). */
  writeResponseBody(chunk: Buffer): boolean;
  /** Completes the response; `trailers` are sent only in a chunked response. The handler gets no events after it. */
  endResponse(trailers: HeaderPairs | null): void;
  /**
   * Ends the exchange with an error. Before the head was written: a short `text/plain` response
   * with this status whose body names the request id (and `Retry-After` etc. from `headers`).
   * After the head: the client connection is closed so the client sees a truncated response.
   */
  respondError(status: number, message: string, headers?: HeaderPairs): void;

  /**
   * Writes a `101 Switching Protocols` head with `headers` and turns the connection into a raw
   * tunnel: from then on onRequestBody receives raw client bytes, writeResponseBody sends raw
   * bytes, and endResponse half-closes the client socket.
   */
  switchProtocols(headers: HeaderPairs): void;
}

// After handler.onAbort (or once the exchange completed), every Exchange method is a no-op
// (writeResponseBody returns true): a dispatcher racing an abort never throws.

export interface Dispatcher {
  /** Called once per request head; the dispatcher owns the exchange until it completes or aborts. */
  dispatch(exchange: Exchange): void;
}

/** One finished exchange, for the access log and metrics. */
export interface ExchangeRecord {
  readonly exchange: Exchange;
  /** Status sent to the client (0 if none was sent before an abort). */
  readonly status: number;
  /** Request body bytes read from the client (decoded). */
  readonly bytesIn: number;
  /** Response bytes written to the client, head included. */
  readonly bytesOut: number;
  readonly durationMs: number;
  /** null when the response completed. */
  readonly aborted: AbortReason | null;
  /** The message given to respondError, or the framing failure that cut the response (a body longer or shorter than its content-length); null otherwise. */
  readonly error: string | null;
}

export interface ExchangeObserver {
  onExchangeComplete(record: ExchangeRecord): void;
  /** A request the front refused itself (400, 408, 413, 414, 417, 431, 501, 505) before any dispatch; `reason` is the stable HttpParseError code (`DUPLICATE_CONTENT_LENGTH`, `HEADER_TIMEOUT`, …). */
  onRequestRejected(status: number, reason: string, connection: ConnectionInfo): void;
}
