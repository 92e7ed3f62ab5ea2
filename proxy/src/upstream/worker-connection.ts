import { createConnection, type Socket } from 'node:net';
import {
  authProof,
  decodeAuth,
  decodeGoaway,
  decodeHealth,
  decodeHello,
  decodeReset,
  decodeTrailers,
  errorCodeName,
  expectRole,
  ErrorCode,
  Feature,
  Flags,
  FrameDecoder,
  FrameEncoder,
  FrameType,
  Limits,
  makeHello,
  negotiateFeatures,
  ProtocolError,
  verifyAuthProof,
  type Environ,
  type HeaderPairs,
  type Health,
  type Hello,
  type FrameHandler,
} from '@gatewire/protocol';
import type { Logger } from 'pino';
import { ProxyError } from '../errors/proxy-error.js';
import { RawResponseHead, readResponseHead } from './response-head-reader.js';
import { StreamTable } from './stream-table.js';
import { addressLabel, type WorkerAddress } from './worker-address.js';
import { WorkerStream, type StreamFailure, type StreamListener } from './worker-stream.js';

export interface WorkerConnectionOptions {
  /** Shared secret for SPEC §5.4; null when none is configured. */
  readonly secret: Buffer | null;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  /** How often an idle-or-busy connection is PINGed (SPEC §12.1); 0 turns health checks off. */
  readonly pingIntervalMs: number;
  /** A PING unanswered this long fails the connection. */
  readonly pingTimeoutMs: number;
  /** What the proxy advertises in its HELLO. */
  readonly maxFrameSize: number;
  readonly initialWindow: number;
  readonly logger: Logger;
}

/** How a connection ended badly, for the endpoint's ejection and backoff decisions. */
export type ConnectionFailureKind =
  /** connect() was refused or the socket file is missing: a stale socket (SPEC §16). */
  | 'refused'
  /** connect() failed otherwise or timed out. */
  | 'connect'
  /** HELLO/AUTH failed, or the handshake timed out. */
  | 'handshake'
  /** The shared-secret check failed (either side). */
  | 'auth'
  /** A protocol violation by the worker, or a GOAWAY with an error code. */
  | 'protocol'
  /** No PONG within pingTimeout. */
  | 'ping-timeout'
  /** The worker closed the connection (or it broke) without a GOAWAY. */
  | 'closed';

export interface ConnectionFailure {
  readonly kind: ConnectionFailureKind;
  readonly message: string;
  /** Streams that were active when it failed (and so failed with it). */
  readonly streams?: number;
}

/** The endpoint that owns a connection hears about its lifecycle through this. */
export interface ConnectionOwner {
  onConnectionReady(connection: WorkerConnection): void;
  /** A stream left the table: capacity freed. */
  onStreamClosed(connection: WorkerConnection): void;
  /** No new streams on this connection any more (GOAWAY received or sent, ids exhausted). */
  onConnectionDraining(connection: WorkerConnection): void;
  /** Closed; `failure` is null for an orderly close (drained). Called once. */
  onConnectionClosed(connection: WorkerConnection, failure: ConnectionFailure | null): void;
}

const enum State {
  Connecting,
  Handshaking,
  Ready,
  Draining,
  Closed,
}

/** Features the proxy offers (SPEC §5.3). */
const PROXY_FEATURES = [Feature.TRAILERS, Feature.UPGRADE, Feature.HEALTH, Feature.QUEUE];
const EMPTY = Buffer.alloc(0);
const CLOSE_GRACE_MS = 2000;
/** A capacity learned from REFUSED_STREAM is probed upwards only this long after the last refusal. */
const REFUSED_PROBE_MS = 1000;

/** Requests (stream listeners) recalled once already: a request is recalled at most once (SPEC §6.4). */
const recalledRequests = new WeakSet<StreamListener>();

function flushConnectionNow(connection: WorkerConnection): void {
  connection.flushNow();
}

function flushConnection(connection: WorkerConnection): void {
  connection.flush();
}

/**
 * The client side of one gatewire connection (SPEC §3–§12): connects, handshakes, multiplexes
 * streams with strictly increasing ids, enforces flow control both ways, answers PING, PINGs for
 * health, handles RESET and GOAWAY, and turns every protocol violation into a connection error
 * (GOAWAY with the code, then close) without ever throwing into the event loop.
 *
 * Writes are coalesced: frames are encoded into one batch and written once per event-loop turn.
 */
export class WorkerConnection implements FrameHandler {
  readonly address: WorkerAddress;
  readonly label: string;
  readonly #options: WorkerConnectionOptions;
  readonly #owner: ConnectionOwner;
  readonly #log: Logger;
  readonly #encoder = new FrameEncoder();
  readonly #decoder: FrameDecoder;
  readonly #streams = new StreamTable();
  /** Refilled for every RESPONSE; listeners use it during the call only. */
  readonly #rawHead = new RawResponseHead();
  #socket: Socket | null = null;
  #state = State.Connecting;
  #hello: Hello | null = null;
  #ourNonce: Uint8Array = EMPTY;
  #awaitingAuth = false;
  #features: ReadonlySet<string> = new Set();
  #nextStreamId = 1;
  /** Streams with ids up to this had their REQUEST handed to the socket. */
  #writtenThrough = 0;
  #flushScheduled = false;
  #tickFlushScheduled = false;
  #goawaySent = false;
  #lastStreamFromWorker: number = Limits.MAX_STREAM_ID;
  #handshakeTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #pingTimeoutTimer: NodeJS.Timeout | null = null;
  #pingSentAt = 0;
  #pingOutstanding = false;
  #pingCounter = 0;
  /**
   * After a REFUSED_STREAM while other streams were active, at most that many streams (SPEC §6.3: a
   * worker serving several connections may refuse once its process-wide capacity is in use,
   * whatever our own count says), so that retried and queued requests wait for one of ours to end
   * instead of being refused again. Lifted when our streams are all done; probed one higher per
   * stream end once no refusal came for a second. Infinity otherwise.
   */
  #refusedCap = Infinity;
  #refusedAt = 0;
  readonly #pingPayload = Buffer.alloc(8);
  #socketError: Error | null = null;
  #closeReason: ConnectionFailure | null = null;
  /** A graceful GOAWAY went either way (reload, recycling, shutdown): streams cut later were going away. */
  #wentAway = false;
  /** Last HEALTH report (SPEC §12.2) and when it arrived (ms since epoch); for metrics and status. */
  health: Health | null = null;
  healthAt = 0;
  /** Round-trip time of the last PING, ms. */
  pingRttMs = -1;
  /** Streams opened over the connection's life. */
  streamsOpened = 0;
  /** SPEC §6.4: the `queue` feature is in effect (the worker has queue slots and answers RECALL). */
  #queueing = false;
  /** Streams the worker runs at once: its `concurrency` with `queue`, else max_streams. */
  #runSlots = 0;
  /**
   * With `queue`: when the worker last made progress (performance.now()): a final response head, a
   * stream's end, or going from idle to busy. The balancer queues only on workers that progress.
   */
  progressAt = 0;

  constructor(address: WorkerAddress, options: WorkerConnectionOptions, owner: ConnectionOwner) {
    this.address = address;
    this.label = addressLabel(address);
    this.#options = options;
    this.#owner = owner;
    this.#log = options.logger;
    this.#decoder = new FrameDecoder(this);
  }

  // ---- public state -------------------------------------------------------------------------

  get ready(): boolean {
    return this.#state === State.Ready;
  }

  get closed(): boolean {
    return this.#state === State.Closed;
  }

  /** The connection was draining (a graceful GOAWAY, sent or received) before it closed or now. */
  get wentAway(): boolean {
    return this.#wentAway;
  }

  /** Active streams (SPEC §6.3). */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** The worker's advertised capacity (HELLO max_streams); 0 before the handshake. */
  get maxStreams(): number {
    return this.#hello?.maxStreams ?? 0;
  }

  /** Run slots (SPEC §6.3): `concurrency` when the queue feature is in effect, else max_streams. */
  get runSlots(): number {
    return this.#runSlots;
  }

  /** A new stream may be opened right now. */
  get hasCapacity(): boolean {
    const active = this.#streams.size;
    return (
      this.#state === State.Ready && active < (this.#hello?.maxStreams ?? 0) && active < this.#refusedCap
    );
  }

  get workerHello(): Hello | null {
    return this.#hello;
  }

  supports(feature: string): boolean {
    return this.#features.has(feature);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  connect(): void {
    const address = this.address;
    const socket =
      address.kind === 'unix'
        ? createConnection({ path: address.path })
        : createConnection({ host: address.host, port: address.port, noDelay: true });
    this.#socket = socket;
    socket.setTimeout(this.#options.connectTimeoutMs);
    socket.on('connect', () => this.#onConnect());
    socket.on('timeout', () => this.#onSocketTimeout());
    socket.on('data', (chunk: Buffer) => this.#onSocketData(chunk));
    socket.on('error', (error: Error) => {
      this.#socketError ??= error;
    });
    socket.on('close', () => this.#onSocketClose());
  }

  /**
   * Proxy-side drain (SPEC §11): GOAWAY with last_stream 0, no new streams, close once the active
   * streams have ended.
   */
  drain(message = 'proxy is shutting down'): void {
    if (this.#state === State.Closed) return;
    if (this.#state === State.Connecting || this.#state === State.Handshaking) {
      this.#close(null);
      return;
    }
    if (!this.#goawaySent) {
      this.#goawaySent = true;
      this.#encoder.goaway(0, 'NO_ERROR', message);
      this.#scheduleFlush();
    }
    this.#enterDraining();
  }

  /** Closes now: active streams fail (the owner's requests answer 502). */
  destroy(message: string): void {
    this.#close({ kind: 'closed', message });
  }

  // ---- streams (called by proxied requests) ----------------------------------------------------

  /**
   * Opens a stream with a REQUEST (SPEC §6.1, §7). The caller checked `hasCapacity`.
   * Throws ProxyError ENVIRON_TOO_LARGE when the environ does not fit the worker's max_frame_size.
   */
  openStream(listener: StreamListener, environ: Environ, endStream: boolean): WorkerStream {
    const hello = this.#hello;
    if (this.#state !== State.Ready || hello === null || this.#streams.size >= hello.maxStreams) {
      throw new Error(`connection to ${this.label} cannot open a stream now`);
    }
    const id = this.#nextStreamId;
    try {
      this.#encoder.request(id, environ, endStream);
    } catch (error) {
      if (error instanceof ProtocolError) throw new ProxyError('ENVIRON_TOO_LARGE', error.message);
      throw error;
    }
    this.#nextStreamId = id + 1;
    this.streamsOpened++;
    const stream = new WorkerStream(
      id,
      this,
      listener,
      hello.initialWindow,
      this.#options.initialWindow,
      environ.upgrade !== '',
    );
    stream.localEnded = endStream;
    if (this.#queueing) {
      stream.recallable = endStream && environ.upgrade === '';
      if (this.#streams.size === 0) this.progressAt = performance.now();
    }
    this.#streams.add(stream);
    this.#scheduleFlush();
    // SPEC §6.1: a proxy that runs out of ids opens a new connection.
    if (id === Limits.MAX_STREAM_ID) this.drain('stream ids exhausted');
    return stream;
  }

  /** Sends request body (or tunnel) bytes; `chunk.length` must not exceed `stream.sendCredit` (SPEC §9). */
  sendData(stream: WorkerStream, chunk: Buffer, endStream: boolean): void {
    if (stream.closed || stream.localEnded) return;
    if (chunk.length > 0) {
      stream.spend(chunk.length);
      this.#encoder.data(stream.id, chunk, endStream);
    } else if (endStream) {
      this.#encoder.data(stream.id, EMPTY, true);
    } else return;
    if (endStream) this.#endLocal(stream);
    this.#scheduleFlush();
  }

  /** Ends the request side with trailers when negotiated (SPEC §8.3), else with an empty DATA. */
  sendTrailers(stream: WorkerStream, trailers: HeaderPairs): void {
    if (stream.closed || stream.localEnded) return;
    if (this.#features.has(Feature.TRAILERS) && trailers.length > 0) {
      try {
        this.#encoder.trailers(stream.id, trailers);
      } catch {
        this.#encoder.data(stream.id, EMPTY, true); // too large for one frame: dropped
      }
    } else this.#encoder.data(stream.id, EMPTY, true);
    this.#endLocal(stream);
    this.#scheduleFlush();
  }

  /** The client took `bytes` of response body: grant them back to the worker when due (SPEC §9). */
  consumed(stream: WorkerStream, bytes: number): void {
    if (stream.closed || stream.remoteEnded || bytes === 0) return;
    const increment = stream.consume(bytes);
    if (increment > 0) {
      this.#encoder.window(stream.id, increment);
      this.#flushAfterTick();
    }
  }

  /**
   * SPEC §6.4: sends RECALL for the newest stream that may still wait in the worker's queue (no
   * response head yet, no request body, not recalled before). Returns false when there is none.
   * A worker that has started it ignores the RECALL; one that has not answers REFUSED_STREAM, and
   * the request is retried elsewhere (ProxiedRequest's refused path).
   */
  recallNewest(): boolean {
    if (!this.#queueing || this.#state !== State.Ready || this.#streams.size <= this.#runSlots) return false;
    let newest: WorkerStream | null = null;
    for (const stream of this.#streams.toArray()) {
      if (
        stream.recallable &&
        !stream.finalHead &&
        (newest === null || stream.id > newest.id) &&
        !recalledRequests.has(stream.listener)
      )
        newest = stream;
    }
    if (newest === null) return false;
    newest.recallable = false;
    newest.recalled = true;
    recalledRequests.add(newest.listener);
    this.#encoder.recall(newest.id);
    this.#scheduleFlush();
    return true;
  }

  /** RESET from the proxy (CANCEL on client abort, INVALID_HEAD, …), SPEC §10. Silent: no listener call. */
  resetStream(stream: WorkerStream, code: keyof typeof ErrorCode, message = ''): void {
    if (stream.closed) return;
    if (this.#state !== State.Closed) {
      this.#encoder.reset(stream.id, code, message);
      this.#scheduleFlush();
    }
    this.#removeStream(stream);
  }

  // ---- writing ----------------------------------------------------------------------------------

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(flushConnection, this);
  }

  /**
   * Credit goes out at the end of the current callback (one socket read), not after every read of
   * this event-loop turn: the worker refills the window while the proxy writes the rest to the
   * client, instead of the pipeline draining once per window (SPEC §9).
   */
  #flushAfterTick(): void {
    if (this.#tickFlushScheduled) return;
    this.#tickFlushScheduled = true;
    process.nextTick(flushConnectionNow, this);
  }

  /** Public only for the nextTick trampoline. */
  flushNow(): void {
    this.#tickFlushScheduled = false;
    this.#writePending();
  }

  /** Writes the pending batch in one corked write. Public only for the setImmediate trampoline. */
  flush(): void {
    this.#flushScheduled = false;
    this.#writePending();
  }

  #writePending(): void {
    const socket = this.#socket;
    if (socket === null || socket.destroyed || !this.#encoder.hasPending) return;
    const segments = this.#encoder.take();
    this.#writtenThrough = this.#nextStreamId - 1;
    if (segments.length === 1) {
      socket.write(segments[0]);
      return;
    }
    socket.cork();
    for (const segment of segments) socket.write(segment);
    socket.uncork();
  }

  // ---- socket events ------------------------------------------------------------------------------

  #onConnect(): void {
    const socket = this.#socket!;
    this.#state = State.Handshaking;
    socket.setTimeout(0);
    // SPEC §5.1: preface and HELLO at once, without waiting for the worker's.
    const hello = makeHello({
      role: 'proxy',
      maxFrameSize: this.#options.maxFrameSize,
      initialWindow: this.#options.initialWindow,
      maxStreams: 0,
      features: PROXY_FEATURES,
      server: 'gatewire-proxy/0.1.0',
      pid: process.pid,
    });
    this.#ourNonce = hello.nonce;
    this.#encoder.preface();
    this.#encoder.hello(hello);
    this.flush();
    // SPEC §4.1: our limit applies once our HELLO is sent.
    this.#decoder.maxFrameSize = this.#options.maxFrameSize;
    this.#handshakeTimer = setTimeout(() => this.#onHandshakeTimeout(), this.#options.handshakeTimeoutMs);
    this.#handshakeTimer.unref();
  }

  #onSocketTimeout(): void {
    if (this.#state === State.Connecting) {
      this.#close({
        kind: 'connect',
        message: `connect timed out after ${this.#options.connectTimeoutMs} ms`,
      });
    }
  }

  #onHandshakeTimeout(): void {
    this.#handshakeTimer = null;
    if (this.#state !== State.Handshaking) return;
    // SPEC §5.1: a side whose handshake is not complete in time closes with HANDSHAKE_ERROR.
    this.#connectionError(
      new ProtocolError(
        'HANDSHAKE_ERROR',
        `handshake not complete after ${this.#options.handshakeTimeoutMs} ms (the worker sent no valid HELLO)`,
      ),
    );
  }

  #onSocketData(chunk: Buffer): void {
    if (this.#state === State.Closed) return;
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      // SPEC §14.2: hostile or broken worker output becomes a connection error, never a crash.
      this.#connectionError(error);
    }
  }

  #onSocketClose(): void {
    if (this.#state === State.Closed) return;
    if (this.#state === State.Connecting) {
      const error = this.#socketError as NodeJS.ErrnoException | null;
      const code = error?.code;
      const refused = code === 'ECONNREFUSED' || code === 'ENOENT';
      this.#close({
        kind: refused ? 'refused' : 'connect',
        message: error ? `connect failed: ${error.message}` : 'connect failed',
      });
      return;
    }
    if (this.#state === State.Draining && this.#streams.size === 0) {
      this.#close(null);
      return;
    }
    const detail = this.#socketError ? `: ${this.#socketError.message}` : '';
    this.#close({
      kind: this.#state === State.Handshaking ? 'handshake' : 'closed',
      message: `the worker closed the connection${detail}`,
      streams: this.#streams.size,
    });
  }

  // ---- frames (FrameHandler) --------------------------------------------------------------------------

  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.#state === State.Closed) return;
    if (this.#hello === null) {
      // SPEC §5.1: the first frame after the preface must be HELLO.
      if (type !== FrameType.HELLO) {
        throw new ProtocolError('HANDSHAKE_ERROR', `expected HELLO first, got frame type ${type}`);
      }
      this.#onHello(payload);
      return;
    }
    switch (type) {
      case FrameType.RESPONSE:
        this.#onResponse(flags, streamId, payload);
        return;
      case FrameType.WINDOW:
        this.#onWindow(streamId, payload.readUInt32BE(0));
        return;
      case FrameType.RESET:
        this.#onReset(streamId, payload);
        return;
      case FrameType.TRAILERS:
        // SPEC §5.3: a frame of a feature not in effect is as if its type were undefined.
        if (!this.#features.has(Feature.TRAILERS))
          throw new ProtocolError(
            'UNKNOWN_FRAME_TYPE',
            'TRAILERS frame, but the trailers feature is not in effect',
          );
        this.#onTrailers(streamId, payload);
        return;
      case FrameType.PING:
        this.#encoder.pong(payload);
        this.#scheduleFlush();
        return;
      case FrameType.PONG:
        this.#onPong(payload);
        return;
      case FrameType.HEALTH:
        if (!this.#features.has(Feature.HEALTH))
          throw new ProtocolError(
            'UNKNOWN_FRAME_TYPE',
            'HEALTH frame, but the health feature is not in effect',
          );
        this.health = decodeHealth(payload);
        this.healthAt = Date.now();
        return;
      case FrameType.GOAWAY:
        this.#onGoaway(payload);
        return;
      case FrameType.AUTH:
        this.#onAuth(payload);
        return;
      case FrameType.HELLO:
        throw new ProtocolError('HANDSHAKE_ERROR', 'second HELLO on the connection');
      case FrameType.RECALL:
        // SPEC §5.3: without `queue` it is an undefined type; with it, a frame only the proxy sends.
        if (!this.#queueing)
          throw new ProtocolError(
            'UNKNOWN_FRAME_TYPE',
            'RECALL frame, but the queue feature is not in effect',
          );
        throw new ProtocolError('PROTOCOL_ERROR', 'RECALL frame from a worker: only the proxy sends it');
      default:
        // REQUEST from a worker (SPEC §4.2: wrong side).
        throw new ProtocolError('PROTOCOL_ERROR', `frame type ${type} may not be sent by a worker`);
    }
  }

  onData(streamId: number, flags: number, chunk: Buffer, endOfFrame: boolean): void {
    if (this.#state === State.Closed) return;
    if (this.#hello === null) throw new ProtocolError('HANDSHAKE_ERROR', 'expected HELLO first, got DATA');
    const stream = this.#lookup(streamId, 'DATA');
    if (stream === undefined) return;
    if (!stream.finalHead) {
      // SPEC §6.2: DATA before the final RESPONSE is a connection error.
      throw new ProtocolError('PROTOCOL_ERROR', `DATA on stream ${streamId} before its final RESPONSE`);
    }
    if (stream.remoteEnded) {
      this.#streamError(stream, 'STREAM_CLOSED', `DATA on stream ${streamId} after END_STREAM`);
      return;
    }
    stream.receive(chunk.length); // SPEC §9: FLOW_CONTROL_ERROR on overspend
    const end = endOfFrame && (flags & Flags.END_STREAM) !== 0;
    if (end) stream.remoteEnded = true;
    stream.listener.onResponseData(chunk, end);
    if (end) this.#maybeClose(stream);
  }

  /**
   * A stream frame's id: greater than any opened is a connection error; a closed stream's frames
   * are ignored (SPEC §6.1).
   */
  #lookup(streamId: number, what: string): WorkerStream | undefined {
    if (streamId >= this.#nextStreamId) {
      throw new ProtocolError('PROTOCOL_ERROR', `${what} on stream ${streamId}, which was never opened`);
    }
    return this.#streams.get(streamId);
  }

  #onHello(payload: Buffer): void {
    const hello = decodeHello(payload);
    expectRole(hello, 'worker');
    this.#hello = hello;
    this.#streams.resize(hello.maxStreams);
    this.#encoder.maxFrameSize = hello.maxFrameSize;
    this.#features = negotiateFeatures(PROXY_FEATURES, hello.features);
    this.#queueing = this.#features.has(Feature.QUEUE);
    // SPEC §6.3: a proxy without `queue` counts every stream as running.
    this.#runSlots = this.#queueing ? (hello.concurrency ?? hello.maxStreams) : hello.maxStreams;
    const secret = this.#options.secret;
    if (hello.auth === 'hmac-sha256') {
      if (secret === null) {
        throw new ProtocolError(
          'AUTH_FAILED',
          'the worker requires shared-secret authentication, but no secret is configured for this upstream',
        );
      }
      // SPEC §5.4 step 1.
      this.#encoder.auth({ proof: authProof(secret, 'proxy', this.#ourNonce, hello.nonce) });
      this.#scheduleFlush();
      this.#awaitingAuth = true;
      return;
    }
    if (secret !== null && this.address.kind === 'tcp') {
      // SPEC §5.4: a secret configured, a TCP worker that does not ask for it: refuse.
      throw new ProtocolError(
        'AUTH_FAILED',
        'a secret is configured, but this TCP worker does not ask for authentication; refusing an unauthenticated worker',
      );
    }
    this.#becomeReady();
  }

  #onAuth(payload: Buffer): void {
    if (!this.#awaitingAuth) {
      throw new ProtocolError('PROTOCOL_ERROR', 'AUTH frame although authentication is not in progress');
    }
    this.#awaitingAuth = false;
    const auth = decodeAuth(payload);
    // SPEC §5.4 step 3: mutual authentication.
    verifyAuthProof(auth.proof, this.#options.secret!, 'worker', this.#ourNonce, this.#hello!.nonce);
    this.#becomeReady();
  }

  #becomeReady(): void {
    if (this.#handshakeTimer !== null) {
      clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = null;
    }
    this.#state = State.Ready;
    if (this.#options.pingIntervalMs > 0) {
      this.#pingTimer = setInterval(() => this.#onPingTimer(), this.#options.pingIntervalMs);
      this.#pingTimer.unref();
    }
    const hello = this.#hello!;
    this.#log.debug(
      {
        worker: this.label,
        maxStreams: hello.maxStreams,
        features: [...this.#features],
        server: hello.server,
        pid: hello.pid,
      },
      'worker connection ready',
    );
    this.#owner.onConnectionReady(this);
  }

  #onResponse(flags: number, streamId: number, payload: Buffer): void {
    const stream = this.#lookup(streamId, 'RESPONSE');
    if (stream === undefined) return;
    if (stream.remoteEnded) {
      this.#streamError(stream, 'STREAM_CLOSED', `RESPONSE on stream ${streamId} after END_STREAM`);
      return;
    }
    if (stream.finalHead) {
      throw new ProtocolError('PROTOCOL_ERROR', `second final RESPONSE on stream ${streamId}`);
    }
    const head = this.#rawHead;
    readResponseHead(payload, head); // malformed: BAD_PAYLOAD, a connection error
    const end = (flags & Flags.END_STREAM) !== 0;
    const status = head.status;
    if (status < 100 || status > 599) {
      // SPEC §8.1, §14.1: a well-formed head with a status out of range costs only its stream:
      // RESET INVALID_HEAD to the worker, 502 to the client; the connection and its other streams go on.
      this.#streamError(
        stream,
        'INVALID_HEAD',
        `response status ${status} is not in 100…599`,
        'invalid-head',
      );
      return;
    }
    if (status < 200 && status !== 101) {
      if (end) {
        // SPEC §4.3, §8.1: an informational head must not carry END_STREAM.
        throw new ProtocolError(
          'PROTOCOL_ERROR',
          `informational RESPONSE with END_STREAM on stream ${streamId}`,
        );
      }
      stream.listener.onInformational(status, head.pairs());
      return;
    }
    stream.finalHead = true;
    if (this.#queueing) this.progressAt = performance.now();
    if (end) stream.remoteEnded = true;
    stream.listener.onResponseHead(head, end);
    if (end) this.#maybeClose(stream);
  }

  #onTrailers(streamId: number, payload: Buffer): void {
    const stream = this.#lookup(streamId, 'TRAILERS');
    if (stream === undefined) return;
    if (!stream.finalHead) {
      throw new ProtocolError('PROTOCOL_ERROR', `TRAILERS on stream ${streamId} before its final RESPONSE`);
    }
    if (stream.remoteEnded) {
      this.#streamError(stream, 'STREAM_CLOSED', `TRAILERS on stream ${streamId} after END_STREAM`);
      return;
    }
    const trailers = decodeTrailers(payload);
    stream.remoteEnded = true;
    stream.listener.onResponseTrailers(trailers);
    this.#maybeClose(stream);
  }

  #onWindow(streamId: number, increment: number): void {
    const stream = this.#lookup(streamId, 'WINDOW');
    if (stream === undefined) return; // SPEC §9: WINDOW for a closed stream is ignored
    stream.grant(increment);
    if (!stream.localEnded) stream.listener.onRequestWritable();
  }

  #onReset(streamId: number, payload: Buffer): void {
    const reset = decodeReset(payload);
    const stream = this.#lookup(streamId, 'RESET');
    if (stream === undefined) return;
    if (reset.code === ErrorCode.REFUSED_STREAM && this.#streams.size > 1 && !stream.recalled) {
      // Full for now: the retry (and the queue) go elsewhere until one of our streams here ends.
      this.#refusedCap = this.#streams.size - 1;
      this.#refusedAt = performance.now();
      this.#removeStream(stream, true);
    } else this.#removeStream(stream);
    stream.listener.onStreamReset(reset.code, reset.message);
  }

  #onGoaway(payload: Buffer): void {
    const goaway = decodeGoaway(payload);
    this.#lastStreamFromWorker = Math.min(this.#lastStreamFromWorker, goaway.lastStream);
    const graceful = goaway.code === ErrorCode.NO_ERROR;
    const logFields = {
      worker: this.label,
      code: errorCodeName(goaway.code),
      lastStream: goaway.lastStream,
      detail: goaway.message,
    };
    if (graceful) this.#log.debug(logFields, 'worker sent GOAWAY: draining');
    else this.#log.warn(logFields, 'worker closed the connection with an error');
    if (!graceful) {
      const name = errorCodeName(goaway.code);
      // Streams above last_stream come out of #close as 'refused'.
      this.#close({
        kind: name === 'AUTH_FAILED' ? 'auth' : 'protocol',
        message: `worker sent GOAWAY ${name}${goaway.message ? `: ${goaway.message}` : ''}`,
      });
      return;
    }
    if (this.#state === State.Handshaking) {
      this.#close({ kind: 'handshake', message: 'worker sent GOAWAY during the handshake' });
      return;
    }
    // Draining first, so that a refused request retried below cannot land on this connection again.
    this.#enterDraining();
    // SPEC §11: streams above last_stream were never processed: refused, retry elsewhere.
    const refused: WorkerStream[] = [];
    for (const stream of this.#streams.toArray()) if (stream.id > goaway.lastStream) refused.push(stream);
    refused.sort((a, b) => a.id - b.id);
    for (const stream of refused) {
      this.#removeStream(stream);
      stream.listener.onStreamFailed('refused', `above the worker's GOAWAY last_stream ${goaway.lastStream}`);
    }
  }

  #onPong(payload: Buffer): void {
    // SPEC §12.1: a PONG that matches no outstanding PING is ignored.
    if (!this.#pingOutstanding || !payload.equals(this.#pingPayload)) return;
    this.#pingOutstanding = false;
    if (this.#pingTimeoutTimer !== null) clearTimeout(this.#pingTimeoutTimer);
    this.#pingTimeoutTimer = null;
    this.pingRttMs = performance.now() - this.#pingSentAt;
  }

  #onPingTimer(): void {
    if (this.#pingOutstanding || (this.#state !== State.Ready && this.#state !== State.Draining)) return;
    this.#pingCounter = (this.#pingCounter + 1) >>> 0;
    this.#pingPayload.writeUInt32BE(process.pid, 0);
    this.#pingPayload.writeUInt32BE(this.#pingCounter, 4);
    this.#pingOutstanding = true;
    this.#pingSentAt = performance.now();
    this.#encoder.ping(this.#pingPayload);
    this.#scheduleFlush();
    this.#pingTimeoutTimer = setTimeout(() => this.#onPingTimeout(), this.#options.pingTimeoutMs);
    this.#pingTimeoutTimer.unref();
  }

  #onPingTimeout(): void {
    this.#pingTimeoutTimer = null;
    if (!this.#pingOutstanding) return;
    // SPEC §12.1: a worker that does not answer within the health timeout is considered failed.
    this.#connectionError(
      new ProtocolError('INTERNAL_ERROR', `no PONG within ${this.#options.pingTimeoutMs} ms`),
      'ping-timeout',
    );
  }

  // ---- stream bookkeeping -------------------------------------------------------------------------

  #endLocal(stream: WorkerStream): void {
    stream.localEnded = true;
    this.#maybeClose(stream);
  }

  #maybeClose(stream: WorkerStream): void {
    if (stream.localEnded && stream.remoteEnded) this.#removeStream(stream);
  }

  #removeStream(stream: WorkerStream, refused = false): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#streams.delete(stream);
    // A response ended. (A stream cancelled, refused or recalled before its head is no progress.)
    if (this.#queueing && stream.finalHead) this.progressAt = performance.now();
    if (!refused && this.#refusedCap !== Infinity) this.#relaxRefusedCap();
    if (this.#state === State.Draining && this.#streams.size === 0) {
      // SPEC §11: the proxy closes a drained connection once its active streams have ended.
      setImmediate(closeDrained, this);
      return;
    }
    if (this.#state === State.Ready) this.#owner.onStreamClosed(this);
  }

  #relaxRefusedCap(): void {
    if (this.#streams.size === 0) this.#refusedCap = Infinity;
    else if (performance.now() - this.#refusedAt > REFUSED_PROBE_MS) {
      this.#refusedCap++;
      if (this.#refusedCap >= (this.#hello?.maxStreams ?? 0)) this.#refusedCap = Infinity;
    }
  }

  /** Public only for the setImmediate trampoline. */
  closeIfDrained(): void {
    if (this.#state === State.Draining && this.#streams.size === 0) this.#close(null);
  }

  /** SPEC §14.4: a stream error: RESET with the code; the connection and its other streams go on. */
  #streamError(
    stream: WorkerStream,
    code: 'STREAM_CLOSED' | 'INVALID_HEAD',
    message: string,
    failure: StreamFailure = 'protocol-error',
  ): void {
    this.resetStream(stream, code, message);
    stream.listener.onStreamFailed(failure, message);
  }

  #enterDraining(): void {
    if (this.#state === State.Draining || this.#state === State.Closed) return;
    this.#state = State.Draining;
    this.#wentAway = true;
    this.#owner.onConnectionDraining(this);
    if (this.#streams.size === 0) setImmediate(closeDrained, this);
  }

  /** SPEC §14.2: GOAWAY with the code and a message, then close; active streams fail. */
  #connectionError(error: unknown, kind?: ConnectionFailureKind): void {
    if (this.#state === State.Closed) return;
    const protocolError =
      error instanceof ProtocolError
        ? error
        : new ProtocolError('INTERNAL_ERROR', error instanceof Error ? error.message : String(error));
    if (!(error instanceof ProtocolError)) {
      this.#log.error({ worker: this.label, err: error }, 'internal error on worker connection');
    }
    const code = protocolError.code;
    const failureKind: ConnectionFailureKind =
      kind ??
      (code === 'AUTH_FAILED'
        ? 'auth'
        : code === 'HANDSHAKE_ERROR' || code === 'UNSUPPORTED_VERSION' || this.#state === State.Handshaking
          ? 'handshake'
          : 'protocol');
    if (!this.#goawaySent || code !== 'NO_ERROR') {
      // SPEC §11: never a second GOAWAY after one with an error code.
      this.#goawaySent = true;
      try {
        this.#encoder.goaway(0, code, protocolError.message); // SPEC §11: a proxy's last_stream is 0
      } catch {
        // unencodable message: close without GOAWAY
      }
    }
    this.#close({ kind: failureKind, message: `${code}: ${protocolError.message}` });
  }

  #close(failure: ConnectionFailure | null): void {
    if (this.#state === State.Closed) return;
    const wasConnecting = this.#state === State.Connecting;
    this.#state = State.Closed;
    this.#closeReason = failure;
    this.#decoder.stop();
    if (this.#handshakeTimer !== null) clearTimeout(this.#handshakeTimer);
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    if (this.#pingTimeoutTimer !== null) clearTimeout(this.#pingTimeoutTimer);
    this.#handshakeTimer = null;
    this.#pingTimer = null;
    this.#pingTimeoutTimer = null;
    const socket = this.#socket;
    if (socket !== null && !socket.destroyed) {
      if (!wasConnecting && this.#encoder.hasPending && socket.writable) {
        this.flush();
        socket.end();
        setTimeout(destroySocket, CLOSE_GRACE_MS, socket).unref();
      } else if (!wasConnecting && failure === null && socket.writable) {
        socket.end();
        setTimeout(destroySocket, CLOSE_GRACE_MS, socket).unref();
      } else socket.destroy();
    }
    if (failure !== null && failure.kind !== 'refused') {
      const fields = {
        worker: this.label,
        reason: failure.kind,
        detail: failure.message,
        streams: this.#streams.size,
      };
      if (failure.kind === 'closed' && this.#streams.size === 0)
        this.#log.info(fields, 'worker connection closed');
      else this.#log.warn(fields, 'worker connection failed');
    }
    // SPEC §11: streams still active when a connection closes are failed.
    // In id order: requests fail (and may retry) in the order they were sent.
    const streams = this.#streams.toArray().sort((a, b) => a.id - b.id);
    this.#streams.clear();
    const failureKind: StreamFailure = failure?.kind === 'protocol' ? 'protocol-error' : 'connection-lost';
    const message = failure?.message ?? 'connection closed';
    for (const stream of streams) {
      stream.closed = true;
      const written = stream.id <= this.#writtenThrough && stream.id <= this.#lastStreamFromWorker;
      try {
        stream.listener.onStreamFailed(written ? failureKind : 'refused', message);
      } catch (error) {
        this.#log.error({ worker: this.label, err: error }, 'stream listener threw while failing a stream');
      }
    }
    this.#owner.onConnectionClosed(this, failure);
  }

  /** Why the connection closed (null while open or after an orderly close). */
  get closeReason(): ConnectionFailure | null {
    return this.#closeReason;
  }
}

function closeDrained(connection: WorkerConnection): void {
  connection.closeIfDrained();
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
