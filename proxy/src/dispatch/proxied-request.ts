import { errorCodeName, type Environ, type HeaderPairs, type ResponseHead } from '@gatewire/protocol';
import type { Logger } from 'pino';
import { ProxyError, type ProxyErrorCode } from '../errors/proxy-error.js';
import type { AbortReason, Exchange, ExchangeHandler } from '../http/exchange.js';
import type { QueueNode } from '../upstream/wait-queue.js';
import type { UpstreamGroup, UpstreamWaiter } from '../upstream/upstream-group.js';
import type { RawResponseHead } from '../upstream/response-head-reader.js';
import type { WorkerConnection } from '../upstream/worker-connection.js';
import type { WorkerEndpoint } from '../upstream/worker-endpoint.js';
import type { StreamFailure, StreamListener, WorkerStream } from '../upstream/worker-stream.js';
import { BodySpool, type SpoolSink } from './body-spool.js';
import type { SweepNode } from './request-sweep.js';
import { buildEnviron } from './environ-builder.js';
import type { ForwardingCache, ResolvedForwarding } from './forwarding-cache.js';
import { stripResponseHopByHop } from './hop-by-hop.js';
import {
  INVALID,
  NEEDS_GENERAL_PATH,
  RenderedResponseFields,
  renderResponseFields,
} from './response-head-renderer.js';
import { isSafeFieldText, validateResponseHead } from './response-head-validation.js';
import type { TrustedProxies } from './trusted-proxies.js';
import type { UpstreamOutcomes } from './upstream-outcomes.js';
import { WebSocketFrameTracker, webSocketCloseFrame } from './websocket-close.js';

/** `on`: always buffer; `off`: always stream; `auto`: buffer for low-concurrency workers. */
export type BufferingMode = 'on' | 'off' | 'auto';

/** A route to an upstream group, resolved from the config. */
export interface UpstreamRoute {
  readonly group: UpstreamGroup;
  readonly buffering: BufferingMode;
  /** Workers advertising max_streams ≤ this are low-concurrency (buffering auto). */
  readonly bufferingThreshold: number;
  /** SPEC §7.2 script_name: the route prefix when the app is mounted there, else ''. */
  readonly scriptName: string;
}

/** Settings and services shared by every request; the dispatcher provides them. */
export interface RequestContext {
  readonly trustedProxies: TrustedProxies;
  /** X-Forwarded-* decisions, remembered per client connection. */
  readonly forwardingCache: ForwardingCache;
  /** Time to the response head, and idle time between response DATA frames. */
  readonly responseTimeoutMs: number;
  readonly tunnelIdleTimeoutMs: number;
  /** Attempts for a request no worker processed (refused, above GOAWAY, connection failed before writing). */
  readonly maxAttempts: number;
  readonly retryAfterSeconds: number;
  readonly bufferMemoryBytes: number;
  /** A buffered response holds at most this many unread bytes; then the worker is slowed down. */
  readonly bufferMaxBytes: number;
  readonly tempDir: string;
  readonly logger: Logger;
  /** Upstream latency and errors, for metrics. */
  readonly outcomes: UpstreamOutcomes;
  /** The request is over (completed, failed or aborted). */
  requestFinished(request: ProxiedRequest): void;
}

const EMPTY = Buffer.alloc(0);
const SPOOL_READ_SIZE = 64 * 1024;
/** Streamed body bytes held for a replay after a refusal (the default initial window of a worker). */
const REPLAY_LIMIT_BYTES = 256 * 1024;
/** Rendered fields of the head being written: the front takes them synchronously. */
const RENDERED_FIELDS = new RenderedResponseFields();

/**
 * One request on its way to a worker and back: the ExchangeHandler the front talks to, the
 * StreamListener the worker connection talks to, the waiter the group queues, the node the
 * dispatcher's timeout sweep checks, and the sink of its body spools. All per-request state lives
 * here (STYLE #1): no closures and no timers per request.
 */
export class ProxiedRequest implements ExchangeHandler, StreamListener, UpstreamWaiter, SpoolSink, SweepNode {
  // QueueNode / UpstreamWaiter
  queuePrev: QueueNode | null = null;
  queueNext: QueueNode | null = null;
  queued = false;
  queueTimer: NodeJS.Timeout | null = null;
  avoid: WorkerEndpoint | null = null;
  readonly needsUpgrade: boolean;
  // SweepNode (the dispatcher's RequestSweep)
  sweepPrev: SweepNode | null = null;
  sweepNext: SweepNode | null = null;
  swept = false;

  readonly exchange: Exchange;
  readonly #route: UpstreamRoute;
  readonly #ctx: RequestContext;
  #environ: Environ | null = null;
  #forwarding: ResolvedForwarding | null = null;
  /** SPEC §7.2 server_name, as the dispatcher routed on it. */
  readonly #serverName: string;
  #log: Logger | null = null;
  #done = false;
  #attempts = 0;
  #endpoint: WorkerEndpoint | null = null;
  #connection: WorkerConnection | null = null;
  #stream: WorkerStream | null = null;
  /** performance.now() when the current worker was assigned (upstream latency). */
  #assignedAt = 0;

  // request side
  #bodyStarted = false;
  #requestEnded = false;
  #requestTrailers: HeaderPairs | null = null;
  /** The request's END_STREAM went to the current worker. */
  #requestSent = false;
  /**
   * Client bytes not yet sent for lack of credit (streaming mode); null until needed. The front's
   * body chunks are views into socket buffers it never reuses (exchange.ts), so they are held as
   * they are, never copied.
   */
  #pending: Buffer[] | null = null;
  #pendingBytes = 0;
  #clientPaused = false;
  /** Body bytes sent to any worker: once non-zero a streamed body is replayable only from #sentChunks. */
  #bodySent = 0;
  /**
   * A streamed body's chunks sent to the current worker, held (views, no copies) until its response
   * head: until then the worker may still refuse the stream unprocessed (GOAWAY last_stream,
   * REFUSED_STREAM; SPEC §10, §11), and the request is replayed on another worker from these. Null
   * once more than REPLAY_LIMIT_BYTES went out (then a refusal fails the request) or after the head.
   */
  #sentChunks: Buffer[] | null = null;
  #sentChunksBytes = 0;
  #requestSpool: BodySpool | null = null;

  // response side
  #headReceived = false;
  #headWritten = false;
  #discardBody = false;
  #tunnel = false;
  /** The tunnel was cut because its worker was going away (draining): close code 1001. */
  #goingAway = false;
  /** A WebSocket tunnel: frame boundaries, so that a dying tunnel can end with a close frame. */
  #webSocket: WebSocketFrameTracker | null = null;
  #clientBlocked = false;
  /** Response bytes received and not yet granted back to the worker. */
  #unconsumed = 0;
  #responseSpool: BodySpool | null = null;
  #spoolBlocked = false;
  #responseTrailers: HeaderPairs | null = null;
  #workerDone = false;

  // upstream timeout, checked by the dispatcher's sweep (no timer per request)
  /** The clock runs: a worker is assigned and has not finished. */
  #timed = false;
  /** Bumped on every upstream event (no clock read on the hot path). */
  #activity = 0;
  /** #activity as the last sweep (or the arming) saw it, and since when it has not moved. */
  #sweptActivity = 0;
  #idleSince = 0;

  constructor(exchange: Exchange, route: UpstreamRoute, ctx: RequestContext, serverName: string) {
    this.exchange = exchange;
    this.#route = route;
    this.#ctx = ctx;
    this.#serverName = serverName;
    this.needsUpgrade = exchange.head.upgrade !== '';
  }

  start(): void {
    const exchange = this.exchange;
    exchange.handler = this;
    exchange.upstream = this.#route.group.name;
    const forwarding = this.#ctx.forwardingCache.resolve(
      exchange.connection,
      exchange.head.headers,
      exchange.head.host,
    );
    // A request id from a trusted proxy is adopted before anything is written (exchange.ts).
    if (forwarding.forwarding.requestId !== null) exchange.requestId = forwarding.forwarding.requestId;
    const bodyLength = exchange.head.bodyLength;
    if (!this.needsUpgrade && bodyLength !== 0 && this.#bufferRequests()) {
      // Request buffering: the whole body first, then a worker slot (slow uploads never pin a sync worker).
      this.#requestSpool = new BodySpool(
        { memoryBytes: this.#ctx.bufferMemoryBytes, tempDir: this.#ctx.tempDir, retain: true },
        this,
      );
      this.#bodyStarted = true;
      this.#forwarding = forwarding;
      exchange.startRequestBody();
      return;
    }
    this.#forwarding = forwarding;
    this.#acquire(null);
  }

  #bufferRequests(): boolean {
    const mode = this.#route.buffering;
    return mode === 'on' || (mode === 'auto' && this.#route.group.lowConcurrency);
  }

  #acquire(avoid: WorkerEndpoint | null): void {
    try {
      this.#route.group.acquire(this, avoid);
    } catch (error) {
      this.#failWith(error);
    }
  }

  // ---- UpstreamWaiter ---------------------------------------------------------------------------

  onWorkerAssigned(endpoint: WorkerEndpoint, connection: WorkerConnection): void {
    if (this.#done) return;
    this.#attempts++;
    const environ = this.#environ ?? this.#buildEnviron();
    const head = this.exchange.head;
    let endStream: boolean;
    if (this.needsUpgrade) endStream = false;
    else if (this.#requestSpool !== null)
      endStream = this.#requestSpool.size === 0 && this.#requestTrailers === null;
    else if (head.bodyLength === 0) endStream = true;
    else endStream = this.#requestEnded && this.#pendingBytes === 0 && this.#requestTrailers === null;
    let stream: WorkerStream;
    try {
      stream = connection.openStream(this, environ, endStream);
    } catch (error) {
      this.#failWith(error);
      return;
    }
    this.#endpoint = endpoint;
    this.#connection = connection;
    this.#stream = stream;
    this.#requestSent = endStream;
    this.exchange.upstream = endpoint.label;
    this.#touch();
    this.#armTimer();
    // #armTimer just read the clock (the timer is disarmed before every assignment): no second read.
    this.#assignedAt = this.#idleSince;
    if (this.needsUpgrade) return; // SPEC §13: no DATA before the final RESPONSE
    if (this.#requestSpool !== null) {
      this.#requestSpool.rewind();
      this.#pumpRequestSpool();
    } else if (!this.#bodyStarted) {
      this.#bodyStarted = true;
      this.exchange.startRequestBody();
    } else this.#flushPending();
  }

  onWaitFailed(error: ProxyError): void {
    this.#fail(error);
  }

  #buildEnviron(): Environ {
    const head = this.exchange.head;
    const spool = this.#requestSpool;
    let bodyLength = head.bodyLength;
    let extra: HeaderPairs | null = null;
    if (spool !== null) {
      // A buffered chunked body has a known length now: announce it (as nginx does).
      if (bodyLength === null) extra = [['content-length', String(spool.size)]];
      bodyLength = spool.size;
    }
    const environ = buildEnviron(this.exchange, {
      forwarding: this.#forwarding!.forwarding,
      forwardingPairs: this.#forwarding!.pairs,
      serverName: this.#serverName,
      scriptName: this.#route.scriptName,
      bodyLength,
      extraHeaders: extra,
    });
    this.#environ = environ;
    return environ;
  }

  // ---- ExchangeHandler: request body from the client ----------------------------------------------

  onRequestBody(chunk: Buffer): void {
    if (this.#done || chunk.length === 0) return;
    this.#touch();
    const spool = this.#requestSpool;
    if (spool !== null) {
      if (!spool.write(chunk)) this.#pauseClient();
      return;
    }
    if (this.#workerDone && !this.#tunnel) return; // early response: the rest of the body is discarded
    const stream = this.#stream;
    if (stream !== null && this.#pendingBytes === 0) {
      const credit = stream.sendCredit;
      if (credit >= chunk.length) {
        this.#send(stream, chunk, false);
        return;
      }
      if (credit > 0) {
        this.#send(stream, chunk.subarray(0, credit), false);
        chunk = chunk.subarray(credit);
      }
    }
    (this.#pending ??= []).push(chunk);
    this.#pendingBytes += chunk.length;
    this.#pauseClient();
  }

  onRequestEnd(trailers: HeaderPairs | null): void {
    if (this.#done) return;
    this.#requestEnded = true;
    this.#requestTrailers = trailers !== null && trailers.length > 0 ? trailers : null;
    this.#touch();
    const spool = this.#requestSpool;
    if (spool !== null) {
      if (spool.ended) return;
      spool.end();
      if (this.#stream === null && !this.queued) this.#acquire(null);
      return;
    }
    if (this.#stream !== null && this.#pendingBytes === 0 && (!this.#workerDone || this.#tunnel)) {
      this.#endRequest(this.#stream);
    }
  }

  onResponseDrain(): void {
    if (this.#done) return;
    this.#clientBlocked = false;
    this.#touch();
    if (this.#responseSpool !== null) {
      this.#pumpResponseSpool();
      return;
    }
    const unconsumed = this.#unconsumed;
    this.#unconsumed = 0;
    if (this.#stream !== null) this.#connection!.consumed(this.#stream, unconsumed);
  }

  onAbort(reason: AbortReason): void {
    if (this.#done) return;
    this.#done = true;
    if (reason !== 'client-gone') {
      this.#logger().info({ reason, worker: this.#endpoint?.label }, 'request aborted on the client side');
    }
    // SPEC §10: the client went away: RESET CANCEL, the worker stops processing.
    this.#release('CANCEL');
    this.#ctx.requestFinished(this);
  }

  // ---- sending the request body --------------------------------------------------------------------

  #send(stream: WorkerStream, chunk: Buffer, end: boolean): void {
    if (this.#requestSpool === null && !this.#headReceived) this.#keepForReplay(chunk);
    this.#bodySent += chunk.length;
    this.#connection!.sendData(stream, chunk, end);
    if (end) this.#requestFullySent();
  }

  /** Holds a sent chunk of a streamed body while the worker may still refuse the stream. */
  #keepForReplay(chunk: Buffer): void {
    if (this.#sentChunks === null) {
      if (this.#bodySent > 0) return; // the limit was passed on this attempt: no replay
      this.#sentChunks = [];
    }
    this.#sentChunksBytes += chunk.length;
    if (this.#sentChunksBytes > REPLAY_LIMIT_BYTES) {
      this.#sentChunks = null;
      return;
    }
    this.#sentChunks.push(chunk);
  }

  #endRequest(stream: WorkerStream): void {
    if (this.#requestTrailers !== null) this.#connection!.sendTrailers(stream, this.#requestTrailers);
    else this.#connection!.sendData(stream, EMPTY, true);
    this.#requestFullySent();
  }

  #requestFullySent(): void {
    this.#requestSent = true;
    this.#touch();
    // A tunnel ends when both directions have (SPEC §13 step 2).
    if (this.#tunnel && this.#workerDone) this.#finish();
  }

  #flushPending(): void {
    const stream = this.#stream;
    if (stream === null) return;
    const pending = this.#pending;
    while (pending !== null && pending.length > 0) {
      const credit = stream.sendCredit;
      if (credit <= 0) return;
      const chunk = pending[0];
      if (chunk.length <= credit) {
        pending.shift();
        this.#pendingBytes -= chunk.length;
        this.#send(stream, chunk, false);
      } else {
        pending[0] = chunk.subarray(credit);
        this.#pendingBytes -= credit;
        this.#send(stream, chunk.subarray(0, credit), false);
        return;
      }
    }
    if (this.#requestEnded) {
      if (!this.#requestSent) this.#endRequest(stream);
    } else this.#resumeClient();
  }

  #pumpRequestSpool(): void {
    const stream = this.#stream;
    const spool = this.#requestSpool!;
    if (stream === null || this.#requestSent) return;
    for (;;) {
      const credit = stream.sendCredit;
      if (credit <= 0) return;
      const chunk = spool.read(Math.min(credit, SPOOL_READ_SIZE));
      if (chunk === null) {
        if (spool.drained) this.#endRequest(stream);
        return;
      }
      this.#send(stream, chunk, false);
    }
  }

  #pauseClient(): void {
    if (this.#clientPaused) return;
    this.#clientPaused = true;
    this.exchange.pauseRequestBody();
  }

  #resumeClient(): void {
    if (!this.#clientPaused) return;
    this.#clientPaused = false;
    this.exchange.resumeRequestBody();
  }

  // ---- StreamListener: the worker's side ---------------------------------------------------------------

  onRequestWritable(): void {
    if (this.#done) return;
    this.#touch();
    if (this.#requestSpool !== null) this.#pumpRequestSpool();
    else this.#flushPending();
  }

  onInformational(status: number, headers: HeaderPairs): void {
    if (this.#done || this.#headWritten) return;
    this.#touch();
    // The front answers Expect: 100-continue itself; other 1xx (103 Early Hints) are forwarded.
    if (status === 100) return;
    const problem = validateResponseHead({ status, headers, reason: '' });
    if (problem !== null) {
      this.#invalidHead(problem);
      return;
    }
    this.exchange.writeInformational(status, stripResponseHopByHop(headers, false));
  }

  onResponseHead(raw: RawResponseHead, endStream: boolean): void {
    if (this.#done) return;
    this.#touch();
    const status = raw.status;
    if (status === 101 || status === 426 || this.needsUpgrade) {
      this.#onGeneralHead({ status, headers: raw.pairs(), reason: raw.reason }, endStream);
      return;
    }
    // The fast path: fields checked and rendered from the payload bytes in one pass (SPEC §8.1).
    if (!isSafeFieldText(raw.reason)) {
      this.#invalidHead('the reason phrase contains a control character');
      return;
    }
    const outcome = renderResponseFields(raw, status === 204, RENDERED_FIELDS);
    if (outcome === INVALID) {
      this.#invalidHead(RENDERED_FIELDS.problem);
      return;
    }
    if (outcome === NEEDS_GENERAL_PATH) {
      this.#onGeneralHead({ status, headers: raw.pairs(), reason: raw.reason }, endStream);
      return;
    }
    this.#headReceived = true;
    this.#sentChunks = null; // the worker took the request: no replay from here on
    const exchange = this.exchange;
    this.#discardBody = exchange.head.method === 'HEAD' || status === 204 || status === 304;
    exchange.writeRenderedHead(status, raw.reason, RENDERED_FIELDS);
    this.#headWritten = true;
    this.#afterFinalHead(endStream);
  }

  /** Heads the fast path does not take: 101, 426, answers to upgrade requests, a Connection field. */
  #onGeneralHead(head: ResponseHead, endStream: boolean): void {
    let problem = validateResponseHead(head);
    if (problem === null && head.status === 101 && !this.needsUpgrade)
      problem = 'status 101 for a request that asked for no upgrade';
    if (problem !== null) {
      this.#invalidHead(problem);
      return;
    }
    this.#headReceived = true;
    this.#sentChunks = null; // the worker took the request: no replay from here on
    const exchange = this.exchange;
    if (head.status === 101) {
      // SPEC §13 step 2: the stream becomes a tunnel.
      this.#tunnel = true;
      if (exchange.head.upgrade === 'websocket') this.#webSocket = new WebSocketFrameTracker();
      this.#headWritten = true;
      exchange.switchProtocols(stripResponseHopByHop(head.headers, true));
      this.#bodyStarted = true;
      exchange.startRequestBody();
      if (endStream) exchange.endResponse(null);
      return;
    }
    if (this.needsUpgrade) {
      // SPEC §13 step 3: an ordinary answer; the request (which had no body) ends here.
      const stream = this.#stream!;
      if (!stream.localEnded) this.#endRequest(stream);
    }
    const status = head.status;
    this.#discardBody = exchange.head.method === 'HEAD' || status === 204 || status === 304;
    // RFC 9110 §15.5.22: a 426 MUST send Upgrade (the protocols the client may switch to).
    exchange.writeResponseHead(
      status,
      head.reason,
      stripResponseHopByHop(head.headers, false, status === 426),
    );
    this.#headWritten = true;
    if (this.needsUpgrade && !this.#bodyStarted) {
      this.#bodyStarted = true;
      exchange.startRequestBody();
    }
    this.#afterFinalHead(endStream);
  }

  /** A final, non-101 head was written: the response completes now or its body follows. */
  #afterFinalHead(endStream: boolean): void {
    if (endStream) {
      this.#responseComplete(null);
      return;
    }
    if (!this.#discardBody && this.#bufferResponses()) {
      this.#responseSpool = new BodySpool(
        { memoryBytes: this.#ctx.bufferMemoryBytes, tempDir: this.#ctx.tempDir, retain: false },
        this,
      );
    }
  }

  #bufferResponses(): boolean {
    const mode = this.#route.buffering;
    return mode === 'on' || (mode === 'auto' && this.#endpoint!.capacity <= this.#route.bufferingThreshold);
  }

  onResponseData(chunk: Buffer, endStream: boolean): void {
    if (this.#done) return;
    this.#activity++;
    const length = chunk.length;
    const stream = this.#stream!;
    if (this.#discardBody) {
      // SPEC §8.1: no body for HEAD, 204, 304; any DATA is dropped.
      this.#connection!.consumed(stream, length);
    } else if (this.#responseSpool !== null) {
      if (length > 0) {
        if (!this.#responseSpool.write(chunk)) this.#spoolBlocked = true;
        this.#unconsumed += length;
        this.#grantBuffered();
      }
    } else if (length > 0) {
      if (this.#webSocket !== null) this.#webSocket.observe(chunk);
      const accepted = this.exchange.writeResponseBody(chunk);
      if (this.#clientBlocked || !accepted) {
        // Hold the credit until the client drains: the worker sends at most a window ahead (SPEC §9).
        this.#clientBlocked = true;
        this.#unconsumed += length;
      } else this.#connection!.consumed(stream, length);
    }
    if (endStream) this.#responseComplete(null);
    else if (this.#responseSpool !== null) this.#pumpResponseSpool();
  }

  onResponseTrailers(trailers: HeaderPairs): void {
    if (this.#done) return;
    this.#responseComplete(stripResponseHopByHop(trailers, false));
  }

  onStreamReset(code: number, message: string): void {
    if (this.#done) return;
    const recalled = this.#stream?.recalled === true;
    this.#stream = null;
    const name = errorCodeName(code);
    if (name === 'REFUSED_STREAM') {
      // SPEC §6.4: the proxy took a queued request back itself (RECALL); not a failed attempt.
      if (recalled) this.#attempts--;
      this.#retryOrFail(`worker refused the stream${message ? `: ${message}` : ''}`);
      return;
    }
    const detail = `worker reset the stream with ${name}${message ? `: ${message}` : ''}`;
    this.#fail(new ProxyError(name === 'TIMEOUT' ? 'WORKER_TIMEOUT' : 'WORKER_RESET', detail));
  }

  onStreamFailed(failure: StreamFailure, message: string): void {
    if (this.#done) return;
    this.#stream = null;
    if (failure === 'refused') {
      this.#retryOrFail(message);
      return;
    }
    if (failure === 'invalid-head') {
      // SPEC §8.1: the connection already sent RESET INVALID_HEAD; the client gets a 502.
      this.#endpoint?.recordFailure(message);
      this.#fail(new ProxyError('INVALID_RESPONSE_HEAD', message));
      return;
    }
    // A tunnel cut when a draining worker's grace period ended is going away (1001), not a failure.
    this.#goingAway = failure === 'connection-lost' && this.#connection?.wentAway === true;
    this.#fail(new ProxyError(failure === 'protocol-error' ? 'PROTOCOL_VIOLATION' : 'WORKER_DIED', message));
  }

  // ---- response completion --------------------------------------------------------------------------

  #responseComplete(trailers: HeaderPairs | null): void {
    this.#workerFinished();
    if (this.#tunnel) {
      // The worker half-closed its direction of the tunnel.
      this.exchange.endResponse(null);
      if (this.#requestSent) this.#finish();
      return;
    }
    const spool = this.#responseSpool;
    if (spool !== null) {
      this.#responseTrailers = trailers;
      spool.end();
      this.#pumpResponseSpool();
      return;
    }
    this.exchange.endResponse(trailers);
    this.#finish();
  }

  /** The worker has sent its whole response: its slot is free (the request side ends now too). */
  #workerFinished(): void {
    this.#workerDone = true;
    this.#endpoint?.recordSuccess();
    this.#ctx.outcomes.responded(this.#route.group, performance.now() - this.#assignedAt);
    const stream = this.#stream;
    if (this.#tunnel) return; // a tunnel's stream lives until both directions end
    this.#stream = null;
    this.#clearTimer();
    // The usual case: the request side had ended too, and the connection closes the stream as soon
    // as this returns (it marks remote END before telling us), so nothing is sent. Only an early
    // response (SPEC §10: the worker answered while the body was still coming) needs a RESET
    // NO_ERROR, so that the worker stops waiting for the body.
    if (stream !== null && !stream.closed && !stream.localEnded) {
      this.#connection!.resetStream(stream, 'NO_ERROR');
      if (!this.#requestEnded) this.exchange.discardRequestBody();
    }
    if (this.#requestSpool !== null) {
      this.#requestSpool.close();
      this.#requestSpool = null;
    }
    this.#pending = null;
    this.#pendingBytes = 0;
  }

  #pumpResponseSpool(): void {
    const spool = this.#responseSpool;
    if (spool === null || this.#clientBlocked || this.#done) return;
    for (;;) {
      const chunk = spool.read(SPOOL_READ_SIZE);
      if (chunk === null) break;
      if (!this.exchange.writeResponseBody(chunk)) {
        this.#clientBlocked = true;
        break;
      }
    }
    this.#grantBuffered();
    if (!this.#clientBlocked && spool.drained) {
      this.exchange.endResponse(this.#responseTrailers);
      this.#finish();
    }
  }

  /** Buffered response: credit goes back at worker speed, until the spool holds bufferMaxBytes unread. */
  #grantBuffered(): void {
    const stream = this.#stream;
    if (stream === null || this.#unconsumed === 0 || this.#spoolBlocked) return;
    if (this.#responseSpool!.unread >= this.#ctx.bufferMaxBytes) return;
    const unconsumed = this.#unconsumed;
    this.#unconsumed = 0;
    this.#connection!.consumed(stream, unconsumed);
  }

  // ---- SpoolSink ------------------------------------------------------------------------------------------

  onSpoolReadable(): void {
    if (this.#done) return;
    // Both spools may be live at once (a worker that answers while the body still streams in).
    if (this.#requestSpool !== null) this.#pumpRequestSpool();
    if (this.#responseSpool !== null) this.#pumpResponseSpool();
  }

  onSpoolDrain(): void {
    if (this.#done) return;
    // The request spool is written only before a worker is assigned, the response spool only after.
    if (this.#requestSpool !== null && !this.#requestSpool.ended) this.#resumeClient();
    else if (this.#responseSpool !== null) {
      this.#spoolBlocked = false;
      this.#grantBuffered();
    }
  }

  onSpoolError(error: Error): void {
    if (this.#done) return;
    this.#logger().error({ err: error }, 'temporary file for a buffered body failed');
    this.#fail(new ProxyError('BUFFERING_FAILED', error.message));
  }

  // ---- retries, failures, timeouts ----------------------------------------------------------------------

  #retryOrFail(reason: string): void {
    const replayable = this.#requestSpool !== null || this.#bodySent === 0 || this.#sentChunks !== null;
    if (this.#headReceived || !replayable) {
      this.#fail(
        new ProxyError(
          'WORKER_RESET',
          `${reason}; the request body was already sent, so it cannot be retried`,
        ),
      );
      return;
    }
    if (this.#attempts >= this.#ctx.maxAttempts) {
      this.#fail(new ProxyError('RETRIES_EXHAUSTED', `${reason} (after ${this.#attempts} attempts)`));
      return;
    }
    this.#logger().debug(
      { worker: this.#endpoint?.label, reason, attempt: this.#attempts },
      'retrying on another worker',
    );
    this.#clearTimer();
    const sent = this.#sentChunks;
    if (sent !== null && sent.length > 0) {
      // The refused worker never processed the body it got: it goes first to the next one.
      this.#pending = this.#pending === null ? sent : sent.concat(this.#pending);
      this.#pendingBytes += this.#sentChunksBytes;
    }
    this.#sentChunks = null;
    this.#sentChunksBytes = 0;
    this.#bodySent = 0;
    const avoid = this.#endpoint;
    this.#connection = null;
    this.#requestSent = false;
    this.#acquire(avoid);
  }

  #invalidHead(problem: string): void {
    const stream = this.#stream;
    // SPEC §8.1: RESET INVALID_HEAD to the worker, 502 to the client.
    if (stream !== null) this.#connection!.resetStream(stream, 'INVALID_HEAD', problem);
    this.#stream = null;
    this.#endpoint?.recordFailure(problem);
    this.#fail(new ProxyError('INVALID_RESPONSE_HEAD', problem));
  }

  /**
   * SweepNode: the upstream response timeout (nginx proxy_read_timeout), or the tunnel idle timeout.
   * Activity since the previous sweep restarts the clock, so it fires between `limit` and `limit` +
   * one sweep interval after the last upstream event.
   */
  sweep(now: number): void {
    if (!this.#timed || this.#done || this.#stream === null) return;
    if (this.#activity !== this.#sweptActivity || !this.#waitingOnWorker()) {
      this.#sweptActivity = this.#activity;
      this.#idleSince = now;
      return;
    }
    const limit = this.#tunnel ? this.#ctx.tunnelIdleTimeoutMs : this.#ctx.responseTimeoutMs;
    if (now - this.#idleSince < limit) return;
    this.#timed = false;
    if (this.#tunnel) {
      this.#fail(new ProxyError('UPSTREAM_TIMEOUT', `tunnel idle for ${limit} ms`));
      return;
    }
    this.#endpoint?.recordFailure('response timeout');
    this.#fail(
      new ProxyError(
        'UPSTREAM_TIMEOUT',
        this.#headReceived ? `no response data for ${limit} ms` : `no response head within ${limit} ms`,
      ),
    );
  }

  /**
   * Whether the clock runs against the worker: not while the proxy waits for the client (its body,
   * or its reading of the response), which the front's own timeouts cover.
   */
  #waitingOnWorker(): boolean {
    if (this.#tunnel) return true;
    if (this.#headReceived) return !this.#clientBlocked && !this.#spoolBlocked;
    if (this.#requestSent || this.#requestSpool !== null) return true;
    return this.#pendingBytes > 0; // otherwise the body is still coming from the client
  }

  #touch(): void {
    this.#activity++;
  }

  #armTimer(): void {
    if (this.#timed) return;
    this.#timed = true;
    this.#sweptActivity = this.#activity;
    this.#idleSince = performance.now();
  }

  #clearTimer(): void {
    this.#timed = false;
  }

  #failWith(error: unknown): void {
    if (error instanceof ProxyError) this.#fail(error);
    else {
      this.#logger().error({ err: error }, 'internal error while dispatching');
      this.#fail(new ProxyError('WORKER_UNAVAILABLE', String(error)));
    }
  }

  /** Ends the exchange with the error's status (or a closed connection once the head went out). */
  #fail(error: ProxyError): void {
    if (this.#done) return;
    this.#done = true;
    this.#ctx.outcomes.failed(this.#route.group, error.code);
    const status = error.status;
    const fields = {
      code: error.code,
      status: this.#headWritten ? 0 : status,
      worker: this.#endpoint?.label,
      attempts: this.#attempts,
      detail: error.message,
    };
    if (status >= 500) this.#logger().warn(fields, 'upstream request failed');
    else this.#logger().info(fields, 'request refused by the proxy');
    this.#release('CANCEL');
    if (this.#webSocket !== null && this.#webSocket.canClose) {
      this.#closeWebSocket(error);
      return;
    }
    const headers: HeaderPairs | undefined =
      status === 503 ? [['retry-after', String(this.#ctx.retryAfterSeconds)]] : undefined;
    this.exchange.respondError(status, publicMessage(error.code), headers);
    this.#ctx.requestFinished(this);
  }

  /**
   * A WebSocket tunnel failed: the client gets a close frame (1011; 1001 for the idle timeout and
   * for a worker that was draining, e.g. a reload whose grace period ended)
   * and our FIN, not a bare close it would report as 1006 (RFC 6455 §7.1.7). Its reply is read and
   * dropped until it closes too, for at most WEBSOCKET_CLOSE_LINGER_MS.
   */
  #closeWebSocket(error: ProxyError): void {
    const exchange = this.exchange;
    const idle = error.code === 'UPSTREAM_TIMEOUT';
    exchange.writeResponseBody(
      idle
        ? webSocketCloseFrame(1001, 'idle timeout')
        : this.#goingAway
          ? webSocketCloseFrame(1001, 'upstream going away')
          : webSocketCloseFrame(1011, 'upstream failed'),
    );
    exchange.endResponse(null);
    exchange.resumeRequestBody();
    setTimeout(dropLingeringTunnel, WEBSOCKET_CLOSE_LINGER_MS, exchange).unref();
    this.#ctx.requestFinished(this);
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#release('CANCEL');
    this.#ctx.requestFinished(this);
  }

  /** Frees everything the request holds: queue slot, stream, spools, timer. */
  #release(resetCode: 'CANCEL'): void {
    this.#clearTimer();
    if (this.queued) this.#route.group.cancel(this);
    const stream = this.#stream;
    this.#stream = null;
    if (stream !== null && !stream.closed) this.#connection!.resetStream(stream, resetCode);
    if (this.#requestSpool !== null) this.#requestSpool.close();
    if (this.#responseSpool !== null) this.#responseSpool.close();
    this.#requestSpool = null;
    this.#responseSpool = null;
    this.#pending = null;
    this.#pendingBytes = 0;
    this.#sentChunks = null;
  }

  #logger(): Logger {
    return (this.#log ??= this.#ctx.logger.child({ requestId: this.exchange.requestId }));
  }
}

/** How long a client may take to answer the proxy's WebSocket close frame before its connection is dropped. */
const WEBSOCKET_CLOSE_LINGER_MS = 5000;

function dropLingeringTunnel(exchange: Exchange): void {
  exchange.respondError(502, 'the client did not close the WebSocket after the close frame'); // no-op once closed
}

function publicMessage(code: ProxyErrorCode): string {
  return new ProxyError(code).message;
}
