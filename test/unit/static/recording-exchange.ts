import type { HeaderPairs } from '@gatewire/protocol';
import type {
  AbortReason,
  ConnectionInfo,
  Exchange,
  ExchangeHandler,
  RequestHead,
} from '../../../proxy/src/http/exchange.js';

/**
 * An in-test Exchange standing in for the HTTP front (under construction elsewhere): it records
 * what a handler writes and plays a client socket with a buffer limit, so tests can drive
 * backpressure (writeResponseBody returning false, then onResponseDrain) and aborts by hand.
 * Contract breaches by the handler (a body before the head, a write while full, anything after
 * the end) are recorded in `violations` instead of thrown, so a test sees all of them.
 */
export interface RecordingOptions {
  method?: string;
  /** The full request path (the handler reads it for the trailing slash and the redirect). */
  path?: string;
  query?: string;
  headers?: HeaderPairs;
  bodyLength?: number | null;
  /** Buffered body bytes at which writeResponseBody returns false. Default: never. */
  highWaterMark?: number;
  /** After a write returns false, drain on the next turn of the event loop. Default true. */
  autoDrain?: boolean;
  /** Keep the body bytes (false for multi-GiB bodies: only the count and the tail are kept). */
  keepBody?: boolean;
  /** Report the client gone from inside this call, as a front may when the socket write fails. */
  abortDuring?: 'writeResponseHead' | 'writeResponseBody';
}

export interface RecordedError {
  status: number;
  message: string;
  headers: HeaderPairs | undefined;
  afterHead: boolean;
}

const TAIL_BYTES = 64;

export class RecordingExchange implements Exchange {
  readonly head: RequestHead;
  readonly connection: ConnectionInfo = {
    remoteAddress: '127.0.0.1',
    remotePort: 40000,
    localAddress: '127.0.0.1',
    localPort: 8080,
    scheme: 'http',
  };
  readonly startedAt = performance.now();
  requestId = 'req-test-1';
  upstream = 'static';
  handler: ExchangeHandler | null = null;

  /** Every call, in order: 'startRequestBody', 'discardRequestBody', 'head', 'body', 'end', 'error'. */
  readonly calls: string[] = [];
  readonly violations: string[] = [];
  status: number | null = null;
  reason: string | null = null;
  headers: HeaderPairs = [];
  readonly chunks: Buffer[] = [];
  bodyBytes = 0;
  /** The last TAIL_BYTES body bytes, kept even when keepBody is false. */
  tail: Buffer = Buffer.alloc(0);
  bodyWrites = 0;
  trailers: HeaderPairs | null = null;
  error: RecordedError | null = null;
  ended = false;
  aborted: AbortReason | null = null;
  drains = 0;
  /** Bytes written since the last drain: what the simulated socket holds. */
  buffered = 0;
  maxBuffered = 0;
  /** True between a writeResponseBody that returned false and the drain. */
  full = false;
  /** Settles when the exchange is over: endResponse, respondError or abort. */
  readonly finished: Promise<void>;

  readonly #highWaterMark: number;
  readonly #autoDrain: boolean;
  readonly #keepBody: boolean;
  readonly #abortDuring: string | undefined;
  #finish!: () => void;
  #headWritten = false;

  constructor(options: RecordingOptions = {}) {
    this.head = {
      method: options.method ?? 'GET',
      target: options.path ?? '/static/',
      path: options.path ?? '/static/',
      query: options.query ?? '',
      httpVersion: 'HTTP/1.1',
      headers: options.headers ?? [],
      host: 'localhost',
      bodyLength: options.bodyLength === undefined ? 0 : options.bodyLength,
      expectContinue: false,
      upgrade: '',
      keepAlive: true,
    };
    this.#highWaterMark = options.highWaterMark ?? Infinity;
    this.#autoDrain = options.autoDrain ?? true;
    this.#keepBody = options.keepBody ?? true;
    this.#abortDuring = options.abortDuring;
    this.finished = new Promise((resolve) => (this.#finish = resolve));
  }

  get responseStarted(): boolean {
    return this.#headWritten;
  }

  /** The value of a response header (first occurrence), or undefined. */
  header(name: string): string | undefined {
    return this.headers.find(([field]) => field === name)?.[1];
  }

  body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  startRequestBody(): void {
    this.calls.push('startRequestBody');
  }
  pauseRequestBody(): void {
    this.calls.push('pauseRequestBody');
  }
  resumeRequestBody(): void {
    this.calls.push('resumeRequestBody');
  }
  discardRequestBody(): void {
    this.calls.push('discardRequestBody');
  }

  writeInformational(): void {
    this.violations.push('writeInformational from a static handler');
  }

  writeResponseHead(status: number, reason: string, headers: HeaderPairs): void {
    this.calls.push('head');
    this.#checkOpen('writeResponseHead');
    if (this.#headWritten) this.violations.push('writeResponseHead twice');
    this.#headWritten = true;
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    if (this.#abortDuring === 'writeResponseHead') this.abort('client-gone');
  }

  writeRenderedHead(): void {
    // Static files write their heads as pairs; the rendered path belongs to the upstream dispatcher.
    this.violations.push('writeRenderedHead from static files');
  }

  writeResponseBody(chunk: Buffer): boolean {
    this.calls.push('body');
    this.#checkOpen('writeResponseBody');
    if (!this.#headWritten) this.violations.push('writeResponseBody before the head');
    if (this.full) this.violations.push('writeResponseBody while the socket is full');
    if (this.head.method === 'HEAD') this.violations.push('writeResponseBody for HEAD');
    this.bodyWrites++;
    this.bodyBytes += chunk.length;
    // Copy: the handler may reuse nothing, but a recorder must not rely on that.
    if (this.#keepBody) this.chunks.push(Buffer.from(chunk));
    this.tail = Buffer.concat([this.tail, chunk.subarray(Math.max(0, chunk.length - TAIL_BYTES))]).subarray(
      -TAIL_BYTES,
    );
    this.buffered += chunk.length;
    this.maxBuffered = Math.max(this.maxBuffered, this.buffered);
    if (this.#abortDuring === 'writeResponseBody') {
      this.abort('client-gone');
      return true;
    }
    if (this.buffered < this.#highWaterMark) return true;
    this.full = true;
    if (this.#autoDrain) setImmediate(() => this.drain());
    return false;
  }

  endResponse(trailers: HeaderPairs | null): void {
    this.calls.push('end');
    this.#checkOpen('endResponse');
    if (!this.#headWritten) this.violations.push('endResponse before the head');
    this.ended = true;
    this.trailers = trailers;
    this.#finish();
  }

  respondError(status: number, message: string, headers?: HeaderPairs): void {
    this.calls.push('error');
    this.#checkOpen('respondError');
    this.error = { status, message, headers, afterHead: this.#headWritten };
    this.#finish();
  }

  switchProtocols(): void {
    this.violations.push('switchProtocols from a static handler');
  }

  /** The simulated socket flushed: tell the handler if it was waiting. */
  drain(): void {
    this.buffered = 0;
    if (!this.full || this.aborted !== null || this.error !== null) return;
    this.full = false;
    this.drains++;
    this.handler?.onResponseDrain();
  }

  /** The client went away. */
  abort(reason: AbortReason = 'client-gone'): void {
    if (this.aborted !== null) return;
    this.aborted = reason;
    this.handler?.onAbort(reason);
    this.#finish();
  }

  /** The status the client saw: the head's, or the error's when no head was written. */
  get finalStatus(): number | null {
    return this.status ?? this.error?.status ?? null;
  }

  #checkOpen(what: string): void {
    if (this.ended || this.error !== null) this.violations.push(`${what} after the exchange ended`);
    if (this.aborted !== null) this.violations.push(`${what} after abort`);
  }
}
