import { connect, type Socket } from 'node:net';
import type { HeaderPairs } from '@gatewire/protocol';
import type {
  AbortReason,
  ConnectionInfo,
  Dispatcher,
  Exchange,
  ExchangeHandler,
  ExchangeObserver,
  ExchangeRecord,
} from '../../../proxy/src/http/exchange.js';
import { HttpFront, type HttpFrontConfig } from '../../../proxy/src/http/http-front.js';
import type { HttpFrontOptions } from '../../../proxy/src/http/http-front-options.js';

const HELLO = Buffer.from('Hello, World!');

/** What the test dispatcher saw of one exchange. */
export class ExchangeLog {
  body: Buffer[] = [];
  ended = false;
  trailers: HeaderPairs | null = null;
  aborted: AbortReason | null = null;
  abortCount = 0;
  writesRefused = 0;
  drains = 0;
  constructor(readonly exchange: Exchange) {}
  get bodyText(): string {
    return Buffer.concat(this.body).toString('latin1');
  }
}

/** Base handler: logs everything; subclasses decide what to answer. */
class LoggingHandler implements ExchangeHandler {
  constructor(
    readonly exchange: Exchange,
    readonly log: ExchangeLog,
  ) {}
  onRequestBody(chunk: Buffer): void {
    this.log.body.push(Buffer.from(chunk));
  }
  onRequestEnd(trailers: HeaderPairs | null): void {
    this.log.ended = true;
    this.log.trailers = trailers;
  }
  onResponseDrain(): void {
    this.log.drains++;
  }
  onAbort(reason: AbortReason): void {
    this.log.aborted = reason;
    this.log.abortCount++;
  }
}

/** Reads the whole body, then answers it back (chunked), with the request's trailers as response trailers. */
class EchoHandler extends LoggingHandler {
  override onRequestEnd(trailers: HeaderPairs | null): void {
    super.onRequestEnd(trailers);
    const body = Buffer.concat(this.log.body);
    this.exchange.writeResponseHead(200, '', [
      ['content-type', 'application/octet-stream'],
      ['x-body-length', String(body.length)],
    ]);
    this.exchange.writeResponseBody(body);
    this.exchange.endResponse(trailers);
  }
}

/** Full duplex: the head goes out at once and each body piece is written back as it arrives. */
class DuplexEchoHandler extends LoggingHandler {
  override onRequestBody(chunk: Buffer): void {
    super.onRequestBody(chunk);
    this.exchange.writeResponseBody(Buffer.from(chunk));
  }
  override onRequestEnd(trailers: HeaderPairs | null): void {
    super.onRequestEnd(trailers);
    this.exchange.endResponse(null);
  }
}

/** Tunnel: echoes raw bytes; ends its side when the client half-closes. */
class TunnelHandler extends LoggingHandler {
  override onRequestBody(chunk: Buffer): void {
    super.onRequestBody(chunk);
    this.exchange.writeResponseBody(Buffer.from(chunk));
  }
  override onRequestEnd(trailers: HeaderPairs | null): void {
    super.onRequestEnd(trailers);
    this.exchange.endResponse(null);
  }
}

/** Writes `total` bytes in 64 KiB pieces, respecting backpressure (stops on false, resumes on drain). */
class BigResponseHandler extends LoggingHandler {
  #remaining: number;
  readonly #piece = Buffer.alloc(65_536, 0x61);
  constructor(exchange: Exchange, log: ExchangeLog, total: number) {
    super(exchange, log);
    this.#remaining = total;
  }
  start(): void {
    this.exchange.writeResponseHead(200, '', [['content-length', String(this.#remaining)]]);
    this.#pump();
  }
  #pump(): void {
    while (this.#remaining > 0 && this.log.aborted === null) {
      const size = Math.min(this.#remaining, this.#piece.length);
      this.#remaining -= size;
      const ok = this.exchange.writeResponseBody(this.#piece.subarray(0, size));
      if (this.#remaining === 0) {
        this.exchange.endResponse(null);
        return;
      }
      if (!ok) {
        this.log.writesRefused++;
        return;
      }
    }
  }
  override onResponseDrain(): void {
    super.onResponseDrain();
    this.#pump();
  }
}

/**
 * A dispatcher written for the tests (not a mock of the front): it routes on the path.
 *   /hello          13-byte text/plain with content-length, answered inside dispatch()
 *   /echo           reads the body, answers it back chunked (trailers echoed)
 *   /duplex         answers each body piece as it arrives
 *   /early          answers 401 without reading the body (discardRequestBody)
 *   /error          respondError(502) with a Retry-After
 *   /hold           keeps the exchange until release() or an abort
 *   /hold-body      starts the body and holds the exchange (body timeout, client abort)
 *   /pause          starts the body and pauses it at once (request backpressure)
 *   /big?n=BYTES    a large response with backpressure
 *   /blob?n=BYTES   a large response in one write, ended at once (ignores backpressure)
 *   /hints          103 Early Hints, then 204
 *   /short          content-length 10 but 3 bytes (a framing violation)
 *   /ws             switches to a tunnel when the client asked to upgrade
 *   /ws-refuse      an upgrade request held, to be answered without switching
 *   /discard-hold   discards the body at once, holds the exchange
 *   /throw          dispatch() throws
 */
export class TestDispatcher implements Dispatcher {
  readonly logs: ExchangeLog[] = [];
  readonly held: ExchangeLog[] = [];
  active = 0;
  maxActive = 0;

  dispatch(exchange: Exchange): void {
    const log = new ExchangeLog(exchange);
    this.logs.push(log);
    const path = exchange.head.path;
    switch (path) {
      case '/hello':
        exchange.writeResponseHead(200, '', [
          ['content-type', 'text/plain'],
          ['content-length', '13'],
        ]);
        exchange.writeResponseBody(HELLO);
        exchange.endResponse(null);
        return;
      case '/echo':
        this.#start(exchange, new EchoHandler(exchange, log));
        return;
      case '/duplex':
        exchange.handler = new DuplexEchoHandler(exchange, log);
        exchange.writeResponseHead(200, '', []);
        exchange.startRequestBody();
        return;
      case '/early':
        exchange.handler = new LoggingHandler(exchange, log);
        exchange.discardRequestBody();
        exchange.writeResponseHead(401, '', [['content-length', '0']]);
        exchange.endResponse(null);
        return;
      case '/error':
        exchange.handler = new LoggingHandler(exchange, log);
        exchange.respondError(502, 'upstream gone', [['retry-after', '3']]);
        return;
      case '/hold':
        exchange.handler = new LoggingHandler(exchange, log);
        this.held.push(log);
        return;
      case '/hold-body':
        this.#start(exchange, new LoggingHandler(exchange, log));
        this.held.push(log);
        return;
      case '/pause':
        this.#start(exchange, new EchoHandler(exchange, log));
        exchange.pauseRequestBody();
        this.held.push(log);
        return;
      case '/big': {
        const handler = new BigResponseHandler(
          exchange,
          log,
          Number(new URLSearchParams(exchange.head.query).get('n')),
        );
        exchange.handler = handler;
        handler.start();
        return;
      }
      case '/blob': {
        // One write of n bytes, ended at once whatever writeResponseBody returns.
        const size = Number(new URLSearchParams(exchange.head.query).get('n'));
        exchange.writeResponseHead(200, '', [['content-length', String(size)]]);
        exchange.writeResponseBody(Buffer.alloc(size, 0x62));
        exchange.endResponse(null);
        return;
      }
      case '/hints':
        exchange.handler = new LoggingHandler(exchange, log);
        exchange.writeInformational(103, [['link', '</s.css>; rel=preload']]);
        exchange.writeResponseHead(204, '', []);
        exchange.endResponse(null);
        return;
      case '/short':
        exchange.handler = new LoggingHandler(exchange, log);
        exchange.writeResponseHead(200, '', [['content-length', '10']]);
        exchange.writeResponseBody(Buffer.from('abc'));
        exchange.endResponse(null);
        return;
      case '/ws':
        exchange.handler = new TunnelHandler(exchange, log);
        exchange.switchProtocols([
          ['upgrade', exchange.head.upgrade],
          ['connection', 'upgrade'],
        ]);
        return;
      case '/discard-hold':
        // Discards the body at once and answers later: the drop happens during the exchange.
        exchange.handler = new LoggingHandler(exchange, log);
        exchange.discardRequestBody();
        this.held.push(log);
        return;
      case '/ws-refuse':
        // An upgrade request the upstream answers normally (SPEC §13.3): started, held, answered later.
        this.#start(exchange, new LoggingHandler(exchange, log));
        this.held.push(log);
        return;
      case '/throw':
        throw new Error('dispatcher bug');
      default:
        exchange.handler = new LoggingHandler(exchange, log);
        exchange.respondError(404, 'no route');
    }
  }

  #start(exchange: Exchange, handler: LoggingHandler): void {
    exchange.handler = handler;
    exchange.startRequestBody();
  }

  /** Answers a held exchange with `text`. */
  release(log: ExchangeLog, text = 'released'): void {
    log.exchange.writeResponseHead(200, '', [['content-length', String(text.length)]]);
    log.exchange.writeResponseBody(Buffer.from(text));
    log.exchange.endResponse(null);
  }
}

export class RecordingObserver implements ExchangeObserver {
  readonly records: ExchangeRecord[] = [];
  readonly rejected: Array<{ status: number; reason: string; connection: ConnectionInfo }> = [];
  onExchangeComplete(record: ExchangeRecord): void {
    this.records.push(record);
  }
  onRequestRejected(status: number, reason: string, connection: ConnectionInfo): void {
    this.rejected.push({ status, reason, connection });
  }
}

export interface StartedFront {
  front: HttpFront;
  port: number;
  dispatcher: TestDispatcher;
  observer: RecordingObserver;
  errors: unknown[];
}

export async function startFront(
  options: Partial<HttpFrontOptions> = {},
  extra: Partial<HttpFrontConfig> = {},
): Promise<StartedFront> {
  const dispatcher = new TestDispatcher();
  const observer = new RecordingObserver();
  const errors: unknown[] = [];
  const front = new HttpFront({
    dispatcher,
    observer,
    options,
    onInternalError: (e) => errors.push(e),
    ...extra,
  });
  await front.listen({ host: '127.0.0.1', port: 0 });
  const address = front.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { front, port, dispatcher, observer, errors };
}

/** Polls `predicate` until true (bounded); throws with `what` when it never becomes true. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw client socket that accumulates what it receives. */
export class RawClient {
  readonly socket: Socket;
  #received: Buffer[] = [];
  closed = false;
  ended = false;
  error: Error | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#received.push(chunk));
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', (error) => {
      this.error = error;
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  get text(): string {
    return Buffer.concat(this.#received).toString('latin1');
  }

  get bytes(): number {
    let n = 0;
    for (const b of this.#received) n += b.length;
    return n;
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Waits until the received text contains `needle` `count` times. */
  async waitForText(needle: string, count = 1, timeoutMs = 10_000): Promise<void> {
    await waitFor(
      () => this.text.split(needle).length - 1 >= count,
      JSON.stringify(needle) + ` x${count} in ${JSON.stringify(this.text.slice(0, 300))}`,
      timeoutMs,
    );
  }

  async waitForClose(timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.closed || this.ended, 'the server to close the connection', timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Splits concatenated HTTP/1.1 responses (content-length or chunked or no body) into [status, headers, body]. */
export function splitResponses(
  text: string,
  headRequests = 0,
): Array<{ status: number; headers: Map<string, string>; body: string; raw: string }> {
  const out: Array<{ status: number; headers: Map<string, string>; body: string; raw: string }> = [];
  let pos = 0;
  let heads = headRequests;
  while (pos < text.length) {
    const end = text.indexOf('\r\n\r\n', pos);
    if (end < 0) break;
    const lines = text.slice(pos, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    let bodyStart = end + 4;
    let body = '';
    if (status < 200 || status === 204 || status === 304 || (heads > 0 && status >= 200)) {
      if (heads > 0 && status >= 200) heads--;
    } else if (headers.has('content-length')) {
      body = text.slice(bodyStart, bodyStart + Number(headers.get('content-length')));
      bodyStart += body.length;
    } else if (headers.get('transfer-encoding') === 'chunked') {
      for (;;) {
        const lineEnd = text.indexOf('\r\n', bodyStart);
        const size = parseInt(text.slice(bodyStart, lineEnd), 16);
        bodyStart = lineEnd + 2;
        if (size === 0) {
          bodyStart = text.indexOf('\r\n\r\n', bodyStart - 2) + 4;
          break;
        }
        body += text.slice(bodyStart, bodyStart + size);
        bodyStart += size + 2;
      }
    } else {
      body = text.slice(bodyStart);
      bodyStart = text.length;
    }
    out.push({ status, headers, body, raw: text.slice(pos, bodyStart) });
    pos = bodyStart;
  }
  return out;
}
