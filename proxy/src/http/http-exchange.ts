import type { Socket } from 'node:net';
import type { HeaderPairs } from '@gatewire/protocol';
import type {
  AbortReason,
  ConnectionInfo,
  Exchange,
  ExchangeHandler,
  ExchangeRecord,
  RenderedFields,
  RequestHead,
} from './exchange.js';
import { HttpFrontUsageError } from './http-errors.js';
import type { HttpConnection } from './http-connection.js';
import { latin1Write } from '../latin1.js';
import {
  buildInterimHead,
  buildLastChunk,
  buildResponseHead,
  chunkSizeLine,
  Framing,
  type FramingCode,
  headTail,
  ResponseHeaderScan,
  scanResponseHeaders,
} from './response-head-writer.js';
import { reasonPhrase, statusLine } from './status-reasons.js';

// Request side.
const REQ_WAITING = 0; // startRequestBody() not called yet
const REQ_STREAMING = 1; // delivering to the handler
const REQ_ENDED = 2; // onRequestEnd delivered
const REQ_DISCARDED = 3; // the dispatcher wants no more body: the front reads and drops it
const REQ_TUNNEL = 4; // raw tunnel bytes after switchProtocols

// Response side.
const RES_NONE = 0;
const RES_OPEN = 1; // final head written (or pending in #parts), body may follow
const RES_ENDED = 2;
const RES_TUNNEL = 3;

/** Responses up to this size (head plus the body written in the same tick) go out as one write. */
const COALESCE_BYTES = 16_384;
/** A chunk up to this size is framed into one buffer rather than written as three pieces. */
const SMALL_CHUNK_BYTES = 4096;

const CRLF = '\r\n';
const CONTINUE_HEAD = 'HTTP/1.1 100 Continue\r\n\r\n';

const scan = new ResponseHeaderScan();

/** One finished exchange. */
export class CompletedExchange implements ExchangeRecord {
  constructor(
    readonly exchange: Exchange,
    readonly status: number,
    readonly bytesIn: number,
    readonly bytesOut: number,
    readonly durationMs: number,
    readonly aborted: AbortReason | null,
    readonly error: string | null,
  ) {}
}

/**
 * The Exchange of one request: request-body delivery state and the response writer. The
 * connection (HttpConnection) owns the socket reading, parsing and timers; this object owns what
 * the dispatcher sees. After the exchange completed or aborted, every call is a no-op.
 */
export class HttpExchange implements Exchange {
  readonly head: RequestHead;
  readonly connection: ConnectionInfo;
  readonly startedAt: number;
  requestId: string;
  upstream = '';
  handler: ExchangeHandler | null = null;

  #conn: HttpConnection;
  #socket: Socket;
  #req = REQ_WAITING;
  #paused = false;
  #continueSent = false;
  #bytesIn = 0;
  #discardedBytes = 0;

  #res = RES_NONE;
  #status = 0;
  #framing: FramingCode = Framing.NONE;
  #contentLength = -1;
  #bodyOut = 0;
  #bytesOut = 0;
  #parts: Array<string | Buffer> | null = null;
  #partsBytes = 0;
  /**
   * A rendered head of a response whose whole length is known and small: head and body gathered
   * in one buffer of the exact size and written once (no parts array, no join). Null otherwise.
   */
  #out: Buffer | null = null;
  #outPos = 0;
  #drainWanted = false;
  #closeAfter: boolean;
  /** For an upgrade request: onRequestEnd waits for the response (SPEC §13), or the tunnel's end. */
  #upgradeHold: boolean;
  #tunnelClientEnded = false;
  #tunnelServerEnded = false;

  #done = false;
  #error: string | null = null;

  constructor(
    conn: HttpConnection,
    socket: Socket,
    head: RequestHead,
    info: ConnectionInfo,
    startedAt: number,
    requestId: string,
    closeAfter: boolean,
  ) {
    this.#conn = conn;
    this.#socket = socket;
    this.head = head;
    this.connection = info;
    this.startedAt = startedAt;
    this.requestId = requestId;
    this.#closeAfter = closeAfter;
    this.#upgradeHold = head.upgrade !== '';
  }

  get responseStarted(): boolean {
    return this.#res !== RES_NONE;
  }

  // ——— request body ———

  startRequestBody(): void {
    // After switchProtocols the tunnel already delivers: starting it again is harmless.
    if (this.#done || this.#req === REQ_TUNNEL) return;
    if (this.#req !== REQ_WAITING)
      throw new HttpFrontUsageError('EXCHANGE_STATE', 'startRequestBody() called twice');
    if (this.handler === null)
      throw new HttpFrontUsageError('NO_HANDLER', 'set exchange.handler before startRequestBody()');
    this.#req = REQ_STREAMING;
    if (
      this.head.expectContinue &&
      this.#res === RES_NONE &&
      !this.#continueSent &&
      !this.#conn.bodyArrived(this)
    ) {
      this.#continueSent = true;
      this.#bytesOut += CONTINUE_HEAD.length;
      this.#socket.write(CONTINUE_HEAD, 'latin1');
    }
    this.#conn.bodyReadStarted();
  }

  pauseRequestBody(): void {
    if (this.#paused || this.#done) return;
    this.#paused = true;
    this.#conn.readingChanged();
  }

  resumeRequestBody(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#done) return;
    this.#conn.bodyReadStarted();
  }

  discardRequestBody(): void {
    if (this.#done || this.#req === REQ_ENDED || this.#req === REQ_DISCARDED || this.#req === REQ_TUNNEL)
      return;
    this.#paused = false;
    if (this.#req === REQ_WAITING && this.head.expectContinue && !this.#continueSent) {
      // The client waits for 100 Continue before sending its body and will not get one: there is
      // nothing to read, and after this response its next bytes could be a body or a request. Only
      // closing is unambiguous.
      this.#req = REQ_ENDED;
      this.#closeAfter = true;
      this.#conn.readingChanged();
      return;
    }
    this.#req = REQ_DISCARDED;
    this.#conn.bodyReadStarted();
  }

  /** @internal The connection may parse body bytes for this exchange now (to deliver or drop). */
  get readsBody(): boolean {
    const req = this.#req;
    if (req === REQ_STREAMING) return !this.#paused && !this.#upgradeHold;
    return req === REQ_DISCARDED && !this.#done && this.#discardedBytes <= this.#conn.maxDiscardBytes;
  }

  /**
   * @internal The socket must not be read even to buffer: the dispatcher paused the body (upstream
   * has no credit), or a discarded body went past maxDiscardBytes (the connection will close).
   */
  get holdsReading(): boolean {
    const req = this.#req;
    if (this.#paused) return req === REQ_STREAMING || req === REQ_TUNNEL;
    return req === REQ_DISCARDED && this.#discardedBytes > this.#conn.maxDiscardBytes;
  }

  /** @internal Tunnel bytes may be delivered now. */
  get readsTunnel(): boolean {
    return this.#req === REQ_TUNNEL && !this.#paused && !this.#done;
  }

  /**
   * @internal The body timeout applies: the dispatcher is reading the body. Not while it paused it,
   * and not for a body it gave up (a stalled discarded body must not fail the exchange: the
   * connection closes after the response instead).
   */
  get bodyTimed(): boolean {
    return this.#req === REQ_STREAMING && !this.#paused && !this.#upgradeHold && !this.#done;
  }

  /** @internal */
  get done(): boolean {
    return this.#done;
  }

  /** @internal */
  get closeAfter(): boolean {
    return this.#closeAfter;
  }

  /** @internal The response will end with Connection: close (client FIN, shutdown, a rejected body…). */
  markCloseAfter(): void {
    this.#closeAfter = true;
  }

  /** @internal A decoded body piece (or tunnel bytes). */
  deliverBody(chunk: Buffer): void {
    if (this.#req === REQ_DISCARDED) {
      this.#discardedBytes += chunk.length;
      if (this.#discardedBytes > this.#conn.maxDiscardBytes) this.#closeAfter = true;
      return;
    }
    this.#bytesIn += chunk.length;
    (this.handler as ExchangeHandler).onRequestBody(chunk);
  }

  /** @internal The body is complete. */
  deliverEnd(trailers: HeaderPairs | null): void {
    if (this.#req === REQ_DISCARDED) {
      // The dropped body is complete: stop reading for this exchange (what follows is the next
      // request), and tell no one (the dispatcher gave the body up).
      this.#req = REQ_ENDED;
      return;
    }
    this.#req = REQ_ENDED;
    (this.handler as ExchangeHandler).onRequestEnd(trailers);
  }

  /** @internal The client half-closed a tunnel. */
  deliverTunnelEnd(): void {
    if (this.#done || this.#tunnelClientEnded) return;
    this.#tunnelClientEnded = true;
    (this.handler as ExchangeHandler).onRequestEnd(null);
    if (this.#tunnelServerEnded) this.#finish(null);
  }

  // ——— response ———

  writeInformational(status: number, headers: HeaderPairs): void {
    if (this.#done || this.head.httpVersion === 'HTTP/1.0') return;
    if (status < 100 || status > 199 || status === 101)
      throw new HttpFrontUsageError(
        'INVALID_STATUS',
        `writeInformational needs a 1xx status other than 101, got ${status}`,
      );
    if (this.#res !== RES_NONE)
      throw new HttpFrontUsageError('EXCHANGE_STATE', 'informational head after the final head');
    if (status === 100) {
      if (this.#continueSent) return;
      this.#continueSent = true;
    }
    const head = buildInterimHead(status, headers);
    this.#bytesOut += head.length;
    this.#socket.write(head, 'latin1');
  }

  writeResponseHead(status: number, reason: string, headers: HeaderPairs): void {
    if (this.#done) return;
    this.#checkFinalHead(status);
    scanResponseHeaders(headers, status === 204, scan);
    this.#openResponse(status, reason, this.#framingFor(status, scan.contentLength), null, false);
  }

  writeRenderedHead(status: number, reason: string, fields: RenderedFields): void {
    if (this.#done) return;
    this.#checkFinalHead(status);
    this.#openResponse(
      status,
      reason,
      this.#framingFor(status, fields.contentLength),
      fields.lines,
      fields.hasDate,
    );
  }

  #checkFinalHead(status: number): void {
    if (this.#res !== RES_NONE)
      throw new HttpFrontUsageError('EXCHANGE_STATE', 'response head written twice');
    if (status < 200 || status > 599 || !Number.isInteger(status))
      throw new HttpFrontUsageError('INVALID_STATUS', `final status must be 200..599, got ${status}`);
  }

  /** How the body is delimited; sets the content-length to enforce. */
  #framingFor(status: number, contentLength: number): FramingCode {
    let framing: FramingCode;
    if (status === 204 || status === 304 || this.head.method === 'HEAD') framing = Framing.NONE;
    else if (contentLength >= 0) framing = Framing.LENGTH;
    else if (this.head.httpVersion === 'HTTP/1.1') framing = Framing.CHUNKED;
    else framing = Framing.CLOSE;
    this.#contentLength = framing === Framing.LENGTH ? contentLength : -1;
    return framing;
  }

  /**
   * Opens the response with its head in #parts: from `scan` (the module's last scan) when `lines`
   * is null, else status line + the rendered `lines` + a cached tail (no concatenation at all).
   */
  #openResponse(
    status: number,
    reason: string,
    framing: FramingCode,
    lines: Buffer | null,
    hasDate: boolean,
  ): void {
    this.#status = status;
    this.#framing = framing;
    if (framing === Framing.CLOSE || this.#conn.mustClose) this.#closeAfter = true;
    // A discarded body too large to drain: say now that the connection will close.
    if (this.#req === REQ_DISCARDED && this.#conn.remainingBodyBytes > this.#conn.maxDiscardBytes)
      this.#closeAfter = true;
    // A 100-continue client that got no 100 either sends its body or not: only closing is safe.
    if (this.head.expectContinue && !this.#continueSent && this.#req !== REQ_ENDED) this.#closeAfter = true;
    const connection = this.#closeAfter ? 'close' : this.head.httpVersion === 'HTTP/1.0' ? 'keep-alive' : '';
    this.#res = RES_OPEN;
    if (lines === null) {
      const head = buildResponseHead(status, reason, scan, framing, connection);
      this.#parts = [head];
      this.#partsBytes = head.length;
      this.#bytesOut += head.length;
    } else {
      const first = statusLine(status, reason);
      const tail = headTail(framing, connection, hasDate);
      const headBytes = first.length + lines.length + tail.length;
      this.#bytesOut += headBytes;
      const room = framing === Framing.NONE ? 0 : framing === Framing.LENGTH ? this.#contentLength : -1;
      if (room >= 0 && room <= COALESCE_BYTES) {
        const out = Buffer.allocUnsafe(headBytes + room);
        let at = latin1Write(out, first, 0);
        out.set(lines, at);
        at += lines.length;
        at += latin1Write(out, tail, at);
        this.#out = out;
        this.#outPos = at;
      } else {
        // `lines` may be the dispatcher's scratch buffer: keep a copy. Room for the body chunk
        // that usually follows (a 3-element literal grows to 20 slots on that push; shortening an
        // array keeps its backing store).
        const parts: Array<string | Buffer> = [first, Buffer.from(lines), tail, ''];
        parts.length = 3;
        this.#parts = parts;
        this.#partsBytes = headBytes;
      }
    }
    this.#conn.scheduleFlush(this);
    if (this.#upgradeHold) {
      // SPEC §13.3: not switching; the (empty) request body ends now.
      this.#upgradeHold = false;
      if (this.#req === REQ_STREAMING) this.#conn.bodyReadStarted();
    }
  }

  writeResponseBody(chunk: Buffer): boolean {
    if (this.#done) return true;
    const res = this.#res;
    if (res === RES_TUNNEL) {
      this.#bytesOut += chunk.length;
      return this.#noteWrite(this.#socket.write(chunk));
    }
    if (res !== RES_OPEN)
      throw new HttpFrontUsageError('EXCHANGE_STATE', 'writeResponseBody() without an open response');
    const length = chunk.length;
    // An empty chunk would end a chunked body; a no-body response drops what it is given (SPEC §8.1).
    if (length === 0 || this.#framing === Framing.NONE) return true;
    this.#bodyOut += length;
    if (this.#framing === Framing.LENGTH && this.#bodyOut > this.#contentLength) {
      this.#failResponse('response body longer than its content-length');
      return true;
    }
    this.#bytesOut += length;
    const out = this.#out;
    if (out !== null) {
      // Within the announced length (checked above), so within the buffer.
      out.set(chunk, this.#outPos);
      this.#outPos += length;
      return true;
    }
    if (this.#framing === Framing.CHUNKED) {
      const sizeLine = chunkSizeLine(length);
      this.#bytesOut += sizeLine.length + 2;
      const parts = this.#parts;
      if (parts !== null && this.#partsBytes + length + sizeLine.length + 2 <= COALESCE_BYTES) {
        parts.push(sizeLine, chunk, CRLF);
        this.#partsBytes += length + sizeLine.length + 2;
        return true;
      }
      if (parts !== null) this.#flushParts();
      if (length <= SMALL_CHUNK_BYTES)
        return this.#noteWrite(this.#socket.write(frameSmallChunk(sizeLine, chunk)));
      const socket = this.#socket;
      socket.cork();
      socket.write(sizeLine, 'latin1');
      socket.write(chunk);
      const ok = socket.write(CRLF, 'latin1');
      socket.uncork();
      return this.#noteWrite(ok);
    }
    const parts = this.#parts;
    if (parts !== null) {
      if (this.#partsBytes + length <= COALESCE_BYTES) {
        parts.push(chunk);
        this.#partsBytes += length;
        return true;
      }
      this.#flushParts();
    }
    return this.#noteWrite(this.#socket.write(chunk));
  }

  endResponse(trailers: HeaderPairs | null): void {
    if (this.#done) return;
    const res = this.#res;
    if (res === RES_TUNNEL) {
      if (this.#tunnelServerEnded) return;
      this.#tunnelServerEnded = true;
      this.#socket.end();
      if (this.#tunnelClientEnded) this.#finish(null);
      return;
    }
    if (res !== RES_OPEN)
      throw new HttpFrontUsageError('EXCHANGE_STATE', 'endResponse() without an open response');
    if (this.#framing === Framing.LENGTH && this.#bodyOut !== this.#contentLength) {
      this.#failResponse('response body shorter than its content-length');
      return;
    }
    if (this.#framing === Framing.CHUNKED) {
      const last = buildLastChunk(trailers);
      this.#bytesOut += last.length;
      if (this.#parts !== null) {
        this.#parts.push(last);
        this.#partsBytes += last.length;
      } else {
        this.#socket.write(last, 'latin1');
      }
    }
    if (this.#parts !== null) this.#flushParts();
    else if (this.#out !== null) this.#flushOut();
    this.#res = RES_ENDED;
    this.#finish(null);
    this.#conn.responseEnded(this);
  }

  respondError(status: number, message: string, headers?: HeaderPairs): void {
    if (this.#done) return;
    this.#error = message;
    if (this.#res !== RES_NONE) {
      // The head is out: the only way to tell the client is a truncated response.
      this.#status = this.#status || status;
      this.#finish(null);
      this.#conn.destroy();
      return;
    }
    if (status < 400 || status > 599 || !Number.isInteger(status)) status = 500;
    if (this.#req === REQ_WAITING || this.#req === REQ_STREAMING) this.discardRequestBody();
    this.#writeErrorResponse(status, headers ?? null);
    this.#finish(null);
    this.#conn.responseEnded(this);
  }

  /** A complete text/plain error response naming the request id (respondError and front-side aborts). */
  #writeErrorResponse(status: number, extra: HeaderPairs | null): void {
    const reason = reasonPhrase(status);
    const body = `${status} ${reason}\nrequest id: ${this.requestId}\n`;
    const fields: HeaderPairs = [
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(body.length)],
      ['x-request-id', this.requestId],
    ];
    if (extra !== null) {
      for (let i = 0; i < extra.length; i++) {
        const lower = extra[i][0].toLowerCase();
        if (lower !== 'content-type' && lower !== 'content-length' && lower !== 'x-request-id')
          fields.push(extra[i]);
      }
    }
    scanResponseHeaders(fields, false, scan);
    this.#contentLength = body.length;
    this.#openResponse(
      status,
      reason,
      this.head.method === 'HEAD' ? Framing.NONE : Framing.LENGTH,
      null,
      false,
    );
    if (this.head.method !== 'HEAD') {
      this.#bodyOut = body.length;
      this.#bytesOut += body.length;
      (this.#parts as Array<string | Buffer>).push(body);
      this.#partsBytes += body.length;
    }
    this.#flushParts();
    this.#res = RES_ENDED;
  }

  switchProtocols(headers: HeaderPairs): void {
    if (this.#done) return;
    if (this.head.upgrade === '')
      throw new HttpFrontUsageError(
        'EXCHANGE_STATE',
        'switchProtocols() on a request that did not ask to upgrade',
      );
    if (this.#res !== RES_NONE)
      throw new HttpFrontUsageError('EXCHANGE_STATE', 'switchProtocols() after the response head');
    if (this.handler === null)
      throw new HttpFrontUsageError('NO_HANDLER', 'set exchange.handler before switchProtocols()');
    const head = buildInterimHead(101, headers);
    this.#status = 101;
    this.#res = RES_TUNNEL;
    this.#req = REQ_TUNNEL;
    this.#upgradeHold = false;
    this.#bytesOut += head.length;
    this.#socket.write(head, 'latin1');
    this.#conn.enterTunnel(this);
  }

  // ——— internals ———

  /** @internal nextTick flush of a head (and body) still held for coalescing. */
  flushPending(): void {
    if (this.#socket.destroyed) return;
    if (this.#parts !== null) this.#flushParts();
    else if (this.#out !== null) this.#flushOut();
  }

  /** Writes what #out holds so far (all of it at the end; the head and some body when flushed early). */
  #flushOut(): void {
    const out = this.#out as Buffer;
    this.#out = null;
    this.#noteWrite(this.#socket.write(this.#outPos === out.length ? out : out.subarray(0, this.#outPos)));
  }

  #flushParts(): void {
    const parts = this.#parts as Array<string | Buffer>;
    this.#parts = null;
    const socket = this.#socket;
    if (parts.length === 1) {
      const only = parts[0];
      this.#noteWrite(typeof only === 'string' ? socket.write(only, 'latin1') : socket.write(only));
      return;
    }
    // One buffer, one write, one syscall: for a small response this is the whole exchange's output.
    const out = Buffer.allocUnsafe(this.#partsBytes);
    let offset = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (typeof part === 'string') offset += latin1Write(out, part, offset);
      else {
        out.set(part, offset); // no argument handling, no view object (Buffer#copy has both)
        offset += part.length;
      }
    }
    this.#noteWrite(socket.write(out));
  }

  #noteWrite(ok: boolean): boolean {
    if (!ok) this.#drainWanted = true;
    return ok;
  }

  /** @internal The client socket drained. */
  drained(): void {
    if (!this.#drainWanted || this.#done) return;
    this.#drainWanted = false;
    this.handler?.onResponseDrain();
  }

  /** A framing violation by the upstream: the client must see a broken response, not a wrong one. */
  #failResponse(error: string): void {
    this.#error = error;
    this.#parts = null;
    this.#out = null;
    this.#finish(null);
    this.#conn.destroy();
  }

  /**
   * @internal Ends the exchange on the client side (SPEC: onAbort at most once). When no response
   * was started and the client can still read one, `status` is answered (408, 400, 413, 503) and
   * the connection closes after it; otherwise the connection is destroyed. `code` (a refused
   * body's HttpParseError code) goes to the access log's `error`.
   */
  abort(reason: AbortReason, status: number, code: string | null = null): void {
    if (this.#done) return;
    if (code !== null) this.#error = code;
    if (status !== 0 && this.#res === RES_NONE && !this.#socket.destroyed && this.#socket.writable) {
      this.#closeAfter = true;
      this.#req = REQ_DISCARDED;
      this.#writeErrorResponse(status, null);
      this.#finish(reason);
      this.#notifyAbort(reason);
      this.#conn.responseEnded(this);
      return;
    }
    this.#parts = null;
    this.#out = null;
    this.#finish(reason);
    this.#notifyAbort(reason);
    this.#conn.destroy();
  }

  #notifyAbort(reason: AbortReason): void {
    const handler = this.handler;
    if (handler === null) return;
    try {
      handler.onAbort(reason);
    } catch (error) {
      this.#conn.internalError(error);
    }
  }

  #finish(aborted: AbortReason | null): void {
    if (this.#done) return;
    this.#done = true;
    const now = performance.now();
    if (!this.#conn.observed) {
      this.#conn.exchangeFinished(null, now);
      return;
    }
    this.#conn.exchangeFinished(
      new CompletedExchange(
        this,
        this.#status,
        this.#bytesIn,
        this.#bytesOut,
        now - this.startedAt,
        aborted,
        this.#error,
      ),
      now,
    );
  }
}

function frameSmallChunk(sizeLine: string, chunk: Buffer): Buffer {
  const out = Buffer.allocUnsafe(sizeLine.length + chunk.length + 2);
  let offset = out.write(sizeLine, 0, 'latin1');
  offset += chunk.copy(out, offset);
  out[offset] = 0x0d;
  out[offset + 1] = 0x0a;
  return out;
}
