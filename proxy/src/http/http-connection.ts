import type { Socket } from 'node:net';
import type { ConnectionInfo, Dispatcher, ExchangeObserver, ExchangeRecord } from './exchange.js';
import { HttpParseError, isHttpParseError } from './http-errors.js';
import { HttpExchange } from './http-exchange.js';
import type { HttpFrontOptions } from './http-front-options.js';
import { nextRequestId } from './request-id.js';
import { ParseEvent, RequestParser } from './request-parser.js';
import { buildRejection } from './rejection-response.js';

/** What a connection needs from the front that owns it. */
export interface FrontContext {
  readonly options: Readonly<HttpFrontOptions>;
  readonly dispatcher: Dispatcher;
  readonly observer: ExchangeObserver | null;
  /** The front is closing: finish what is in flight, take nothing new. */
  readonly draining: boolean;
  /** Exchanges dispatched and not finished, across connections (for the status page). */
  activeExchanges: number;
  connectionClosed(connection: HttpConnection): void;
  internalError(error: unknown): void;
  /** Flushes the exchange's held head (and body) at the end of this tick, with every other one deferred in it. */
  deferFlush(exchange: HttpExchange): void;
}

/** Facts about a client connection; one object per connection, shared by its exchanges. */
export class ClientConnectionInfo implements ConnectionInfo {
  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
    readonly scheme: 'http' | 'https',
  ) {}
}

// Connection phases.
/** Waiting for (or reading) a request head. */
const WAIT_HEAD = 0;
/** An exchange is in progress. */
const IN_EXCHANGE = 1;
/** The response is complete; the rest of an unread request body is being read and dropped. */
const DRAIN_BODY = 2;
/** Raw tunnel after a 101. */
const TUNNEL = 3;
/** A last response was sent with our FIN; reading and dropping until the client closes or lingerMs ends. */
const CLOSING = 4;
const CLOSED = 5;

const EMPTY = Buffer.alloc(0);

function runProcess(connection: HttpConnection): void {
  connection.process();
}

/**
 * One client connection: reads the socket, runs the parser, creates one HttpExchange per request
 * and hands it to the dispatcher, strictly one request at a time (pipelined bytes wait, bounded),
 * and owns the connection's timers, which the front's sweep checks (no timer per request).
 */
export class HttpConnection {
  readonly info: ClientConnectionInfo;
  #front: FrontContext;
  #options: Readonly<HttpFrontOptions>;
  #socket: Socket;
  #parser: RequestParser;
  #phase = WAIT_HEAD;
  #exchange: HttpExchange | null = null;
  /** Received bytes not consumed yet, from #inputPos. */
  #input: Buffer | null = null;
  #inputPos = 0;
  #requests = 0;
  #processing = false;
  #scheduled = false;
  #readPaused = false;
  #clientEnded = false;
  #closeRequested = false;
  #drainedBytes = 0;

  // Timers, checked by sweep(): timestamps are performance.now() values.
  /** When the current head started (accept, or the first byte after an idle keep-alive period). */
  #headSince: number;
  /** When the connection became idle after a response; -1 while not idle. */
  #idleSince = -1;
  #closingSince = 0;
  /** Socket reads so far; the sweep compares it with the value it saw last (body timeout). */
  #reads = 0;
  #sweepReads = 0;
  #bodySince = 0;
  #sweepWritable = 0;
  #sendSince = 0;
  /** When the last exchange finished (performance.now()), computed for its record anyway. */
  #finishedAt = 0;
  #forced = false;
  #rejected = false;
  #flushAfterLoop: HttpExchange | null = null;
  #corked = false;
  #waitingForDrain = false;

  constructor(front: FrontContext, socket: Socket, info: ClientConnectionInfo, now: number) {
    this.#front = front;
    this.#options = front.options;
    this.#socket = socket;
    this.info = info;
    this.#parser = new RequestParser(front.options);
    this.#headSince = now;
    this.#sendSince = now;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.on('drain', this.#onDrain);
    socket.on('error', this.#onError);
  }

  get maxDiscardBytes(): number {
    return this.#options.maxDiscardBytes;
  }

  /** Body bytes of the current request not read yet: -1 for chunked, 0 when all were read. */
  get remainingBodyBytes(): number {
    return this.#parser.remainingBodyBytes;
  }

  /** The connection is to close after the current response: tell the client with Connection: close. */
  get mustClose(): boolean {
    return this.#closeRequested || this.#front.draining || this.#clientEnded;
  }

  /** True while nothing is in progress: no exchange, no partial head, no buffered bytes. */
  get idle(): boolean {
    return this.#phase === WAIT_HEAD && this.#input === null && !this.#parser.headPending;
  }

  // ——— socket events (bound once per connection) ———

  #onData = (chunk: Buffer): void => {
    this.#reads++;
    const phase = this.#phase;
    if (phase >= CLOSING) return;
    if (this.#input === null) {
      this.#input = chunk;
      this.#inputPos = 0;
      if (this.#idleSince >= 0) {
        // Header timer from the first byte after an idle period; the sweep stamps it (no clock read here).
        this.#idleSince = -1;
        this.#headSince = -1;
      }
    } else {
      this.#input = Buffer.concat([this.#input.subarray(this.#inputPos), chunk]);
      this.#inputPos = 0;
    }
    this.process();
  };

  #onEnd = (): void => {
    this.#clientEnded = true;
    const phase = this.#phase;
    if (phase === TUNNEL) {
      this.process();
      return;
    }
    if (phase === CLOSING || phase === CLOSED) return;
    if (this.#input !== null) {
      // Requests (or body bytes) are still buffered: serve them, then close.
      this.#exchange?.markCloseAfter();
      this.process();
      return;
    }
    if (phase === IN_EXCHANGE) {
      // Like nginx: a client that closes while its response is pending has gone away.
      (this.#exchange as HttpExchange).abort('client-gone', 0);
      return;
    }
    this.destroy();
  };

  #onClose = (): void => {
    this.#phase = CLOSED;
    this.#input = null;
    this.#inputPos = 0;
    const exchange = this.#exchange;
    if (exchange !== null && !exchange.done) exchange.abort('client-gone', 0);
    this.#exchange = null;
    this.#front.connectionClosed(this);
  };

  #onDrain = (): void => {
    if (this.#waitingForDrain) {
      this.#waitingForDrain = false;
      this.process();
    }
    const exchange = this.#exchange;
    if (exchange === null) return;
    try {
      exchange.drained();
    } catch (error) {
      this.#processError(error);
    }
  };

  #onError = (): void => {
    // ECONNRESET, EPIPE…: 'close' follows and aborts what is in progress.
  };

  // ——— processing ———

  /** Parses and dispatches as far as the current state allows. Not re-entrant: nested calls return. */
  process(): void {
    this.#scheduled = false;
    if (this.#processing) return;
    this.#processing = true;
    try {
      this.#processLoop();
    } catch (error) {
      this.#processError(error);
    } finally {
      this.#processing = false;
      if (this.#corked) {
        this.#corked = false;
        this.#socket.uncork();
      }
    }
    const pending = this.#flushAfterLoop;
    if (pending !== null) {
      this.#flushAfterLoop = null;
      pending.flushPending();
    }
    if (this.#phase < CLOSING) this.#updateReading();
  }

  #schedule(): void {
    if (this.#scheduled || this.#processing) return;
    this.#scheduled = true;
    process.nextTick(runProcess, this);
  }

  #processLoop(): void {
    const parser = this.#parser;
    for (;;) {
      switch (this.#phase) {
        case WAIT_HEAD: {
          const input = this.#input;
          if (input === null) {
            // Nothing more is coming (FIN) or wanted (the front closes): a partial head may still finish.
            if (this.#clientEnded || (this.mustClose && !parser.headPending)) this.#closeGracefully();
            return;
          }
          if (this.#socket.writableNeedDrain) {
            // The client is not reading what we answered: take no further request until it does
            // (nginx does not read the next pipelined request either), so output stays bounded
            // even when a dispatcher ignores backpressure. 'drain' resumes.
            this.#waitingForDrain = true;
            return;
          }
          let event;
          try {
            event = parser.execute(input, this.#inputPos);
          } catch (error) {
            if (isHttpParseError(error)) {
              this.#reject(error);
              return;
            }
            throw error;
          }
          this.#consume(parser.offset);
          if (event !== ParseEvent.HEAD) return;
          this.#startExchange();
          break;
        }
        case IN_EXCHANGE:
        case DRAIN_BODY: {
          const exchange = this.#exchange as HttpExchange;
          const draining = this.#phase === DRAIN_BODY;
          // Past this request's END the bytes belong to the next request: never parse them here.
          if (parser.awaitingHead || (!draining && !exchange.readsBody)) return;
          let event;
          try {
            event = parser.execute(this.#input ?? EMPTY, this.#inputPos);
          } catch (error) {
            if (!isHttpParseError(error)) throw error;
            if (draining) this.#closeGracefully();
            else exchange.abort('bad-request-body', error.status, error.code);
            return;
          }
          this.#consume(parser.offset);
          if (event === ParseEvent.BODY) {
            if (draining) {
              this.#drainedBytes += parser.body.length;
              if (this.#drainedBytes > this.#options.maxDiscardBytes) {
                this.#closeGracefully();
                return;
              }
            } else {
              exchange.deliverBody(parser.body);
            }
          } else if (event === ParseEvent.END) {
            if (!draining) exchange.deliverEnd(parser.trailers);
            else if (this.mustClose) this.#closeGracefully();
            else this.#nextRequest();
          } else {
            if (this.#clientEnded) {
              // The body was cut short by the client's FIN.
              if (draining) this.destroy();
              else exchange.abort('client-gone', 0);
            }
            return;
          }
          break;
        }
        case TUNNEL: {
          const exchange = this.#exchange as HttpExchange;
          if (!exchange.readsTunnel) return;
          const input = this.#input;
          if (input !== null) {
            const chunk = this.#inputPos === 0 ? input : input.subarray(this.#inputPos);
            this.#input = null;
            this.#inputPos = 0;
            exchange.deliverBody(chunk);
            break;
          }
          if (this.#clientEnded) exchange.deliverTunnelEnd();
          return;
        }
        default:
          return;
      }
    }
  }

  #consume(offset: number): void {
    const input = this.#input;
    if (input === null) return;
    if (offset >= input.length) {
      this.#input = null;
      this.#inputPos = 0;
    } else {
      this.#inputPos = offset;
    }
  }

  #startExchange(): void {
    const head = this.#parser.head!;
    const requests = ++this.#requests;
    const options = this.#options;
    const closeAfter =
      !head.keepAlive ||
      requests >= options.maxRequestsPerConnection ||
      options.keepAliveTimeoutMs === 0 ||
      this.#front.draining ||
      this.#closeRequested;
    const exchange = new HttpExchange(
      this,
      this.#socket,
      head,
      this.info,
      performance.now(),
      nextRequestId(),
      closeAfter,
    );
    this.#exchange = exchange;
    this.#phase = IN_EXCHANGE;
    this.#drainedBytes = 0;
    this.#front.activeExchanges++;
    try {
      this.#front.dispatcher.dispatch(exchange);
    } catch (error) {
      this.#front.internalError(error);
      if (!exchange.done) exchange.respondError(500, 'dispatcher threw');
    }
  }

  /** A request refused before dispatch: answer (status, reason) and close. */
  #reject(error: HttpParseError): void {
    this.#rejected = true;
    try {
      this.#front.observer?.onRequestRejected(error.status, error.code, this.info);
    } catch (observerError) {
      this.#front.internalError(observerError);
    }
    this.#socket.write(buildRejection(error.status, error.message), 'latin1');
    this.#closeGracefully();
  }

  #processError(error: unknown): void {
    // A dispatcher or handler threw from a callback: the exchange cannot be trusted any more.
    this.#front.internalError(error);
    const exchange = this.#exchange;
    if (exchange !== null && !exchange.done) {
      exchange.markCloseAfter();
      exchange.respondError(500, 'handler threw');
    } else {
      this.destroy();
    }
  }

  /** Pauses the socket when nothing can consume what it would read, resumes it when something can. */
  #updateReading(): void {
    let read: boolean;
    const exchange = this.#exchange;
    const phase = this.#phase;
    if ((phase === IN_EXCHANGE || phase === TUNNEL) && exchange !== null) {
      if (exchange.holdsReading) read = false;
      else if (phase === TUNNEL) read = exchange.readsTunnel || this.#input === null;
      else read = exchange.readsBody || this.#bufferedBelowLimit();
    } else {
      read = this.#bufferedBelowLimit();
    }
    const socket = this.#socket;
    if (read && this.#readPaused) {
      this.#readPaused = false;
      socket.resume();
    } else if (!read && !this.#readPaused) {
      this.#readPaused = true;
      socket.pause();
    }
  }

  #bufferedBelowLimit(): boolean {
    const input = this.#input;
    return input === null || input.length - this.#inputPos < this.#options.maxBufferedBytes;
  }

  // ——— called by the exchange ———

  /** @internal Whether any byte of the current request's body has arrived (for 100-continue). */
  bodyArrived(exchange: HttpExchange): boolean {
    return exchange === this.#exchange && (this.#input !== null || this.#parser.messageComplete);
  }

  /** @internal The exchange started, resumed or discarded its body: parse (asynchronously). */
  bodyReadStarted(): void {
    // The body timer restarts at the next sweep (never early, at most one interval late).
    this.#sweepReads = -1;
    this.#schedule();
    if (this.#readPaused && !this.#processing) this.#updateReading();
  }

  /** @internal The exchange paused its body. */
  readingChanged(): void {
    if (!this.#processing) this.#updateReading();
  }

  /** @internal Whether finished exchanges are worth a record (someone observes them). */
  get observed(): boolean {
    return this.#front.observer !== null;
  }

  /** @internal `record` is null when nobody observes. */
  exchangeFinished(record: ExchangeRecord | null, now: number): void {
    this.#finishedAt = now;
    this.#front.activeExchanges--;
    if (record === null) return;
    try {
      this.#front.observer?.onExchangeComplete(record);
    } catch (error) {
      // An access log that throws must not surface inside the dispatcher's endResponse().
      this.#front.internalError(error);
    }
  }

  /**
   * @internal A response head waits for body bytes to share its write. Inside the processing loop
   * (a dispatcher answering synchronously), it is flushed when the loop ends; otherwise on the next
   * tick. Either way, a head never waits for more than the current turn of the event loop.
   */
  scheduleFlush(exchange: HttpExchange): void {
    if (this.#processing) this.#flushAfterLoop = exchange;
    else this.#front.deferFlush(exchange);
  }

  /** @internal The response is complete (endResponse, respondError, or an answered abort). */
  responseEnded(exchange: HttpExchange): void {
    if (exchange !== this.#exchange || this.#phase !== IN_EXCHANGE) return;
    if (exchange.closeAfter || this.mustClose) {
      this.#closeGracefully();
      return;
    }
    const parser = this.#parser;
    if (parser.messageComplete) {
      parser.endMessage();
      this.#nextRequest();
      return;
    }
    // The response went out before the whole body was read: read and drop the rest (bounded), so
    // the connection stays usable (RFC 9112 §9.3 lets us close instead; nginx drains too).
    if (parser.remainingBodyBytes > this.#options.maxDiscardBytes) {
      this.#closeGracefully();
      return;
    }
    this.#phase = DRAIN_BODY;
    this.#sweepReads = -1;
    this.#schedule();
  }

  #nextRequest(): void {
    this.#exchange = null;
    this.#phase = WAIT_HEAD;
    if (this.#input === null) {
      this.#idleSince = this.#finishedAt;
      return;
    }
    this.#headSince = this.#finishedAt;
    if (this.#processing) {
      // Pipelined requests answered in one pass: their responses leave in one writev, not one
      // write each (the usual one-request-per-read path never corks).
      if (!this.#corked) {
        this.#corked = true;
        this.#socket.cork();
      }
    } else {
      this.#schedule();
    }
  }

  /** @internal After a 101: bytes that followed the head are tunnel bytes. */
  enterTunnel(exchange: HttpExchange): void {
    if (exchange !== this.#exchange) return;
    this.#phase = TUNNEL;
    // The parser sits at the end of the (bodiless) upgrade request; it is not used again.
    this.#schedule();
  }

  /** @internal Closes now, dropping anything unsent. */
  destroy(): void {
    if (this.#phase === CLOSED) return;
    this.#input = null;
    this.#inputPos = 0;
    this.#socket.destroy();
  }

  /** @internal */
  internalError(error: unknown): void {
    this.#front.internalError(error);
  }

  /**
   * Ends our side after the last response and keeps reading (dropping) for up to lingerMs, so a
   * client still sending does not get a reset that destroys the response before it reads it.
   */
  #closeGracefully(): void {
    if (this.#phase >= CLOSING) return;
    // Linger only when the client may still be sending (unread bytes, a body not read to its end,
    // a refused request): otherwise nothing can arrive to turn our close into a reset (nginx's
    // lingering_close "on" works the same way).
    const mayBeSending =
      this.#input !== null || this.#parser.headPending || !this.#parser.messageComplete || this.#rejected;
    this.#phase = CLOSING;
    this.#input = null;
    this.#inputPos = 0;
    this.#closingSince = performance.now();
    const socket = this.#socket;
    socket.end();
    if (this.#readPaused) {
      this.#readPaused = false;
      socket.resume();
    }
    if (!mayBeSending || this.#clientEnded || this.#options.lingerMs === 0) socket.destroySoon();
  }

  // ——— front control ———

  /** The front is draining: close now if idle, else after the response in progress. */
  requestClose(): void {
    this.#closeRequested = true;
    if (this.idle) this.#closeGracefully();
  }

  /** The grace period is over: abort what is in progress (503 when no response started) and close. */
  forceClose(): void {
    this.#forced = true;
    const exchange = this.#exchange;
    if (exchange !== null && !exchange.done) exchange.abort('shutdown', 503);
    if (this.#phase < CLOSING) this.destroy();
  }

  /** Checks this connection's deadlines at `now` (called about once per sweep interval). */
  sweep(now: number): void {
    const options = this.#options;
    switch (this.#phase) {
      case WAIT_HEAD:
        if (this.#headSince < 0) this.#headSince = now;
        if (this.#idleSince >= 0) {
          if (now - this.#idleSince > options.keepAliveTimeoutMs) this.#closeGracefully();
        } else if (now - this.#headSince > options.headerTimeoutMs) {
          if (this.#parser.headPending || this.#input !== null) {
            this.#reject(new HttpParseError('HEADER_TIMEOUT', 'request head not received in time'));
          } else {
            this.destroy();
          }
        }
        break;
      case IN_EXCHANGE:
      case DRAIN_BODY: {
        const exchange = this.#exchange as HttpExchange;
        const reading = this.#phase === DRAIN_BODY || exchange.bodyTimed;
        if (!reading || this.#reads !== this.#sweepReads) {
          this.#sweepReads = this.#reads;
          this.#bodySince = now;
        } else if (now - this.#bodySince > options.bodyTimeoutMs) {
          if (this.#phase === DRAIN_BODY) this.destroy();
          else exchange.abort('client-timeout', 408);
          return;
        }
        break;
      }
      case CLOSING:
        // After the shutdown grace, linger at most a second more.
        if (now - this.#closingSince > (this.#forced ? Math.min(1000, options.lingerMs) : options.lingerMs))
          this.destroy();
        return;
      case CLOSED:
        return;
    }
    // send_timeout: pending output that has not moved since the last look.
    const writable = this.#socket.writableLength;
    if (writable === 0 || writable !== this.#sweepWritable) {
      this.#sweepWritable = writable;
      this.#sendSince = now;
    } else if (now - this.#sendSince > options.sendTimeoutMs) {
      const exchange = this.#exchange;
      if (exchange !== null && !exchange.done) exchange.abort('client-timeout', 0);
      this.destroy();
    }
  }
}
