import type { HeaderPairs } from '@gatewire/protocol';
import type {
  AbortReason,
  ConnectionInfo,
  Exchange,
  ExchangeHandler,
  RenderedFields,
  RequestHead,
} from '../../../../proxy/src/http/exchange.js';

export interface FakeRequest {
  method?: string;
  path?: string;
  query?: string;
  host?: string;
  headers?: HeaderPairs;
  /** Body delivered after startRequestBody, chunk by chunk, respecting pause/resume. */
  body?: Buffer[];
  /** Deliver the body manually with feed()/finishBody() instead. */
  manualBody?: boolean;
  /** bodyLength in the head; defaults to the sum of `body`, or null with manualBody. */
  bodyLength?: number | null;
  trailers?: HeaderPairs | null;
  upgrade?: string;
  httpVersion?: 'HTTP/1.0' | 'HTTP/1.1';
  connection?: Partial<ConnectionInfo>;
  requestId?: string;
  /** writeResponseBody returns false from the start (a client that does not read). */
  blocked?: boolean;
  /** writeResponseBody returns false once this many body bytes are buffered un-drained. */
  clientBufferBytes?: number;
}

export interface Outcome {
  status: number;
  reason: string;
  headers: HeaderPairs;
  body: Buffer;
  trailers: HeaderPairs | null;
  /** respondError was called (status/message/headers from it). */
  error: { status: number; message: string; headers: HeaderPairs } | null;
  /** respondError after the head: the client connection was closed mid-response. */
  truncated: boolean;
  aborted: AbortReason | null;
  switched: boolean;
}

let requestCounter = 0;

/**
 * An in-memory Exchange, standing in for the HTTP front: drives the dispatcher exactly as the
 * front does (ExchangeHandler callbacks, pause/resume, a client buffer that fills and drains) and
 * records what the dispatcher answered.
 */
export class FakeExchange implements Exchange {
  readonly head: RequestHead;
  readonly connection: ConnectionInfo;
  readonly startedAt = performance.now();
  requestId: string;
  upstream = '';
  handler: ExchangeHandler | null = null;
  responseStarted = false;

  // what happened
  status = 0;
  reason = '';
  responseHeaders: HeaderPairs = [];
  readonly informational: Array<{ status: number; headers: HeaderPairs }> = [];
  readonly chunks: Buffer[] = [];
  bodyBytes = 0;
  trailers: HeaderPairs | null = null;
  error: Outcome['error'] = null;
  truncated = false;
  aborted: AbortReason | null = null;
  switched = false;
  switchHeaders: HeaderPairs = [];
  ended = false;
  bodyStarted = 0;
  pauseCount = 0;
  resumeCount = 0;
  paused = false;
  discarded = false;
  /** Largest number of body bytes held un-drained while the client was blocked. */
  maxBuffered = 0;

  #body: Buffer[];
  #trailers: HeaderPairs | null;
  #manual: boolean;
  #bodyDone = false;
  #delivering = false;
  #clientBuffer: number;
  #buffered = 0;
  #blocked: boolean;
  #done: Promise<Outcome>;
  #resolve!: (outcome: Outcome) => void;

  constructor(request: FakeRequest = {}) {
    const body = request.body ?? [];
    const length = body.reduce((sum, chunk) => sum + chunk.length, 0);
    const path = request.path ?? '/hello';
    const query = request.query ?? '';
    const host = request.host ?? 'app.test';
    this.head = {
      method: request.method ?? (length > 0 || request.manualBody ? 'POST' : 'GET'),
      target: query ? `${path}?${query}` : path,
      path,
      query,
      httpVersion: request.httpVersion ?? 'HTTP/1.1',
      headers: request.headers ?? [['host', host]],
      host,
      bodyLength: request.bodyLength !== undefined ? request.bodyLength : request.manualBody ? null : length,
      expectContinue: false,
      upgrade: request.upgrade ?? '',
      keepAlive: true,
    };
    this.connection = {
      remoteAddress: '127.0.0.1',
      remotePort: 40000 + (requestCounter % 20000),
      localAddress: '127.0.0.1',
      localPort: 8080,
      scheme: 'http',
      ...request.connection,
    };
    this.requestId = request.requestId ?? `req-${++requestCounter}`;
    this.#body = [...body];
    this.#trailers = request.trailers ?? null;
    this.#manual = request.manualBody ?? false;
    this.#blocked = request.blocked ?? false;
    this.#clientBuffer = request.clientBufferBytes ?? Infinity;
    this.#done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Resolves when the response completed, failed or was aborted. */
  get done(): Promise<Outcome> {
    return this.#done;
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  header(name: string): string | undefined {
    return this.responseHeaders.find(([key]) => key.toLowerCase() === name)?.[1];
  }

  // ---- client-side controls (the test plays the client) ----------------------------------------

  /** Manual body: hands a chunk to the dispatcher now (ignores pause: like bytes already read). */
  feed(chunk: Buffer): void {
    this.handler?.onRequestBody(chunk);
  }

  finishBody(trailers: HeaderPairs | null = null): void {
    this.#bodyDone = true;
    this.handler?.onRequestEnd(trailers);
  }

  /** The client reads everything buffered so far. */
  drain(): void {
    this.#buffered = 0;
    this.#blocked = false;
    this.handler?.onResponseDrain();
  }

  /** The client stops reading: writeResponseBody returns false from now on. */
  block(): void {
    this.#blocked = true;
  }

  abort(reason: AbortReason = 'client-gone'): void {
    if (this.ended) return;
    this.aborted = reason;
    this.handler?.onAbort(reason);
    this.#finish();
  }

  // ---- Exchange --------------------------------------------------------------------------------

  startRequestBody(): void {
    this.bodyStarted++;
    if (this.bodyStarted > 1) throw new Error('startRequestBody called twice');
    if (this.#manual) return;
    setImmediate(() => this.#deliver());
  }

  #deliver(): void {
    if (this.#delivering || this.ended) return;
    this.#delivering = true;
    try {
      while (!this.paused && this.#body.length > 0 && !this.ended) {
        this.handler!.onRequestBody(this.#body.shift()!);
      }
      if (!this.paused && this.#body.length === 0 && !this.#bodyDone && !this.ended) {
        this.#bodyDone = true;
        this.handler!.onRequestEnd(this.#trailers);
      }
    } finally {
      this.#delivering = false;
    }
  }

  pauseRequestBody(): void {
    if (this.paused) return;
    this.paused = true;
    this.pauseCount++;
  }

  resumeRequestBody(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeCount++;
    if (!this.#manual) setImmediate(() => this.#deliver());
  }

  discardRequestBody(): void {
    this.discarded = true;
  }

  writeInformational(status: number, headers: HeaderPairs): void {
    this.informational.push({ status, headers });
  }

  writeResponseHead(status: number, reason: string, headers: HeaderPairs): void {
    if (this.responseStarted) throw new Error('writeResponseHead twice');
    this.responseStarted = true;
    this.status = status;
    this.reason = reason;
    this.responseHeaders = headers;
  }

  writeRenderedHead(status: number, reason: string, fields: RenderedFields): void {
    // Back to pairs, so that tests see one shape whichever path the dispatcher took.
    const pairs: HeaderPairs = [];
    for (const line of fields.lines.toString('latin1').split('\r\n')) {
      if (line === '') continue;
      const colon = line.indexOf(': ');
      pairs.push([line.slice(0, colon), line.slice(colon + 2)]);
    }
    this.writeResponseHead(status, reason, pairs);
  }

  writeResponseBody(chunk: Buffer): boolean {
    if (!this.responseStarted) throw new Error('body before head');
    if (this.ended) return true;
    this.chunks.push(Buffer.from(chunk));
    this.bodyBytes += chunk.length;
    this.#buffered += chunk.length;
    if (this.#blocked || this.#buffered >= this.#clientBuffer) {
      this.#blocked = true;
      this.maxBuffered = Math.max(this.maxBuffered, this.#buffered);
      return false;
    }
    this.#buffered = 0;
    return true;
  }

  endResponse(trailers: HeaderPairs | null): void {
    if (this.ended) return;
    this.trailers = trailers;
    this.#finish();
  }

  respondError(status: number, message: string, headers: HeaderPairs = []): void {
    if (this.ended) return;
    if (this.responseStarted) this.truncated = true;
    else {
      this.status = status;
      this.responseHeaders = headers;
    }
    this.error = { status, message, headers };
    this.#finish();
  }

  switchProtocols(headers: HeaderPairs): void {
    this.responseStarted = true;
    this.switched = true;
    this.status = 101;
    this.switchHeaders = headers;
  }

  #finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.#resolve({
      status: this.status,
      reason: this.reason,
      headers: this.responseHeaders,
      body: this.body,
      trailers: this.trailers,
      error: this.error,
      truncated: this.truncated,
      aborted: this.aborted,
      switched: this.switched,
    });
  }
}
