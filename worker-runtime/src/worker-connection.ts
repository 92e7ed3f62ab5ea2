import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  ErrorCode,
  FRAME_TYPE_NAMES,
  Feature,
  Flags,
  FrameDecoder,
  FrameEncoder,
  FrameType,
  Limits,
  ProtocolError,
  authProof,
  decodeAuth,
  decodeEnviron,
  decodeGoaway,
  decodeHello,
  decodeReset,
  decodeTrailers,
  errorCodeName,
  expectRole,
  makeHello,
  negotiateFeatures,
  verifyAuthProof,
  type FrameHandler,
  type Health,
  type Hello,
} from '@gatewire/protocol';
import type { Logger } from 'pino';
import type { ExecutionContext } from './app-contract.js';
import { callApp, type LoadedApp } from './app-loader.js';
import { GatewayRequest, headersFromPairs, requestUrl } from './gateway-request.js';
import { NativeRequest } from './native-web-classes.js';
import { RequestEnv } from './request-env.js';
import { RequestStream, type StreamHost } from './request-stream.js';
import { deliverResponse, failStream } from './response-writer.js';
import { registerPlainRequest } from './upgrade-tunnel.js';

/** Limits and identity a connection advertises in its HELLO (SPEC §5.2). */
export interface ConnectionSettings {
  readonly name: string;
  readonly maxStreams: number;
  readonly initialWindow: number;
  readonly maxFrameSize: number;
  /** The shared secret; when set, the proxy must prove it (SPEC §5.4). */
  readonly secret: Uint8Array | null;
  readonly fastWebObjects: boolean;
  /** `server` in HELLO. */
  readonly software: string;
}

/** What a connection needs from its server (implemented by WorkerServer). */
export interface ConnectionHost {
  readonly app: LoadedApp;
  readonly ctx: ExecutionContext;
  readonly logger: Logger;
  readonly settings: ConnectionSettings;
  streamOpened(): void;
  streamClosed(stream: RequestStream): void;
  connectionClosed(connection: WorkerConnection): void;
  health(): Health;
}

const STATE_HELLO = 0;
const STATE_AUTH = 1;
const STATE_OPEN = 2;
const STATE_CLOSED = 3;

/** Above this many unsent bytes in the socket, response pumps wait for 'drain'. */
const HIGH_WATER = 1 << 20;
/** After our side has ended, how long to wait for the peer to close before destroying. */
const LINGER_MS = 2000;

const OUR_FEATURES = [Feature.TRAILERS, Feature.UPGRADE, Feature.HEALTH];

function frameName(type: number): string {
  return FRAME_TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
}

/** Awaits an async handler's result; a module-level async function, so no closure per request. */
async function settle(stream: RequestStream, pending: PromiseLike<unknown>): Promise<void> {
  let response: unknown;
  try {
    response = await pending;
  } catch (error) {
    failStream(stream, error);
    return;
  }
  deliverResponse(stream, response);
}

function plainRequest(stream: RequestStream): Request {
  const environ = stream.environ;
  const method = environ.method;
  const init: RequestInit & { duplex?: 'half' } = {
    method,
    headers: headersFromPairs(environ.headers),
    signal: stream.signal,
  };
  const upper = method.toUpperCase();
  if (stream.body !== null && upper !== 'GET' && upper !== 'HEAD') {
    init.body = stream.body.stream();
    init.duplex = 'half';
  }
  const request = new NativeRequest(requestUrl(environ), init);
  registerPlainRequest(request, stream);
  return request;
}

let connectionCounter = 0;

/**
 * One proxy connection (SPEC §3–§12): handshake, frame dispatch, the streams it multiplexes,
 * and the write path. Frames are encoded into one FrameEncoder batch and written once per
 * event-loop turn (setImmediate, corked). Per-request state lives in RequestStream.
 *
 * Any protocol violation closes this connection with GOAWAY and the SPEC's code, and a log line;
 * it never throws out of a socket callback.
 */
export class WorkerConnection implements FrameHandler, StreamHost {
  readonly encoder = new FrameEncoder();
  readonly logger: Logger;
  readonly id = ++connectionCounter;
  #socket: Socket;
  #host: ConnectionHost;
  #settings: ConnectionSettings;
  #decoder: FrameDecoder;
  #state = STATE_HELLO;
  #ourHello: Hello;
  #peerNonce: Uint8Array | null = null;
  #health = false;
  #trailers = false;
  #peerWindow = 0;
  #streams = new Map<number, RequestStream>();
  #highestId = 0;
  #goawaySent = false;
  #lastStream = 0;
  #peerGoaway = false;
  #endAfterFlush = false;
  #closing = false;
  #flushScheduled = false;
  #congested = false;
  #blocked: Set<RequestStream> | null = null;
  #handshakeTimer: NodeJS.Timeout | null;
  #lingerTimer: NodeJS.Timeout | null = null;
  #flushBound: () => void;

  constructor(socket: Socket, host: ConnectionHost) {
    this.#socket = socket;
    this.#host = host;
    this.#settings = host.settings;
    this.logger = host.logger;
    this.#flushBound = () => this.#flush();
    const settings = this.#settings;
    this.#ourHello = makeHello({
      role: 'worker',
      maxFrameSize: settings.maxFrameSize,
      initialWindow: settings.initialWindow,
      maxStreams: settings.maxStreams,
      features: OUR_FEATURES,
      auth: settings.secret !== null,
      server: settings.software,
      pid: process.pid,
      name: settings.name,
    });
    // Our HELLO goes out before we read anything, so our own limit applies from the start (SPEC §4.1).
    this.#decoder = new FrameDecoder(this, { maxFrameSize: settings.maxFrameSize });
    this.#handshakeTimer = setTimeout(() => this.#handshakeTimeout(), Limits.HANDSHAKE_TIMEOUT_MS);
    this.#handshakeTimer.unref();
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('error', (error: Error) => {
      this.logger.debug({ event: 'connection-error', conn: this.id, err: error }, 'connection error');
    });
    socket.on('close', () => this.#onClose());
    // SPEC §3, §5.1: preface and HELLO at once, without waiting for the proxy's.
    this.encoder.preface();
    this.encoder.hello(this.#ourHello);
    this.#flush();
    this.logger.debug({ event: 'connection-open', conn: this.id }, 'proxy connected');
  }

  /** Streams active on this connection (SPEC §6.3). */
  get activeStreams(): number {
    return this.#streams.size;
  }

  get congested(): boolean {
    return this.#congested;
  }

  get closed(): boolean {
    return this.#state === STATE_CLOSED;
  }

  /** The streams, for the server's timeout sweep. */
  streams(): IterableIterator<RequestStream> {
    return this.#streams.values();
  }

  scheduleFlush(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushBound);
    }
  }

  waitForDrain(stream: RequestStream): void {
    (this.#blocked ??= new Set()).add(stream);
  }

  streamClosed(stream: RequestStream): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    this.#blocked?.delete(stream);
    this.#host.streamClosed(stream);
    if ((this.#goawaySent || this.#peerGoaway) && this.#streams.size === 0 && !this.#closing) {
      this.#closeGracefully();
    }
  }

  /**
   * Graceful drain (SPEC §11): GOAWAY NO_ERROR with the highest id received, finish those streams,
   * then close. Later REQUESTs are refused.
   */
  drain(message = 'worker draining'): void {
    if (this.#closing || this.#goawaySent) return;
    this.#goawaySent = true;
    this.#lastStream = this.#highestId;
    this.encoder.goaway(this.#lastStream, ErrorCode.NO_ERROR, message);
    if (this.#streams.size === 0) this.#closeGracefully();
    else this.scheduleFlush();
  }

  /** Closes at once: active streams are aborted (used after the grace period). */
  destroy(reason = 'worker shutting down'): void {
    if (this.#state === STATE_CLOSED && this.#socket.destroyed) return;
    this.#shutdown(new DOMException(reason, 'AbortError'));
    this.#socket.destroy();
  }

  // ── FrameHandler ──

  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.#state !== STATE_OPEN) {
      if (this.#preOpenFrame(type, payload)) return;
    }
    switch (type) {
      case FrameType.REQUEST:
        this.#onRequest(flags, streamId, payload);
        return;
      case FrameType.WINDOW: {
        const stream = this.#streamFor(type, streamId);
        stream?.windowUpdate(payload.readUInt32BE(0));
        return;
      }
      case FrameType.RESET: {
        const stream = this.#streamFor(type, streamId);
        if (stream === undefined) return;
        const reset = decodeReset(payload);
        stream.peerReset(reset.code, reset.message);
        return;
      }
      case FrameType.RECALL:
        // This worker runs every stream it accepts at once: it never lists `queue` (SPEC §5.3, §6.4).
        throw new ProtocolError(
          'UNKNOWN_FRAME_TYPE',
          'RECALL frame, but the queue feature was not negotiated (SPEC §5.3)',
        );
      case FrameType.TRAILERS: {
        if (!this.#trailers) {
          throw new ProtocolError(
            'UNKNOWN_FRAME_TYPE',
            'TRAILERS frame, but the trailers feature was not negotiated (SPEC §5.3)',
          );
        }
        const stream = this.#streamFor(type, streamId);
        if (stream === undefined) return;
        if (stream.remoteEnded) {
          stream.reset(ErrorCode.STREAM_CLOSED, 'TRAILERS after END_STREAM');
          return;
        }
        stream.remoteEnd(decodeTrailers(payload));
        return;
      }
      case FrameType.PING:
        this.encoder.pong(payload);
        if (this.#health) this.encoder.health(this.#host.health()); // SPEC §12.2
        this.scheduleFlush();
        return;
      case FrameType.PONG:
        return; // we send no PING; an unmatched PONG is ignored (SPEC §12.1)
      case FrameType.GOAWAY:
        this.#onGoaway(payload);
        return;
      case FrameType.HELLO:
        throw new ProtocolError('HANDSHAKE_ERROR', 'a second HELLO (SPEC §5.1)');
      case FrameType.AUTH:
        throw new ProtocolError(
          'PROTOCOL_ERROR',
          this.#settings.secret === null
            ? 'AUTH frame, but this worker did not ask for authentication (SPEC §5.4)'
            : 'a second AUTH frame (SPEC §5.4)',
        );
      default:
        // RESPONSE, HEALTH
        throw new ProtocolError(
          'PROTOCOL_ERROR',
          `${frameName(type)} frame from the proxy: only a worker sends it (SPEC §4.2)`,
        );
    }
  }

  onData(streamId: number, flags: number, chunk: Buffer, endOfFrame: boolean): void {
    if (this.#state !== STATE_OPEN && this.#preOpenFrame(FrameType.DATA, chunk)) return;
    if (streamId > this.#highestId) {
      throw new ProtocolError(
        'PROTOCOL_ERROR',
        `DATA on stream ${streamId}, which was never opened (SPEC §6.1)`,
      );
    }
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return; // closed: ignore (SPEC §6.1)
    if (stream.remoteEnded) {
      stream.reset(ErrorCode.STREAM_CLOSED, 'DATA after END_STREAM');
      return;
    }
    if (chunk.length > 0) stream.receive(chunk);
    if (endOfFrame && (flags & Flags.END_STREAM) !== 0) stream.remoteEnd(null);
  }

  // ── frames ──

  /** Handles a frame before the handshake is complete; returns true when it was consumed. Throws on violations. */
  #preOpenFrame(type: number, payload: Buffer): boolean {
    if (this.#state === STATE_CLOSED) return true;
    if (this.#state === STATE_HELLO) {
      if (type !== FrameType.HELLO) {
        throw new ProtocolError(
          'HANDSHAKE_ERROR',
          `expected HELLO as the first frame, got ${frameName(type)} (SPEC §5.1)`,
        );
      }
      const hello = decodeHello(payload);
      expectRole(hello, 'proxy');
      const features = negotiateFeatures(OUR_FEATURES, hello.features);
      this.#trailers = features.has(Feature.TRAILERS);
      this.#health = features.has(Feature.HEALTH);
      this.encoder.maxFrameSize = hello.maxFrameSize;
      this.#peerWindow = hello.initialWindow;
      this.#peerNonce = Uint8Array.from(hello.nonce);
      if (this.#settings.secret !== null) this.#state = STATE_AUTH;
      else this.#open();
      return true;
    }
    // STATE_AUTH: only AUTH, GOAWAY, PING, PONG before the proxy's proof (SPEC §5.1, §5.4)
    switch (type) {
      case FrameType.AUTH: {
        const auth = decodeAuth(payload);
        const secret = this.#settings.secret!;
        verifyAuthProof(auth.proof, secret, 'proxy', this.#peerNonce!, this.#ourHello.nonce);
        this.encoder.auth({ proof: authProof(secret, 'worker', this.#peerNonce!, this.#ourHello.nonce) });
        this.#open();
        this.scheduleFlush();
        return true;
      }
      case FrameType.HELLO:
        throw new ProtocolError('HANDSHAKE_ERROR', 'a second HELLO (SPEC §5.1)');
      case FrameType.GOAWAY:
      case FrameType.PING:
      case FrameType.PONG:
        return false;
      default:
        throw new ProtocolError(
          'AUTH_FAILED',
          `${frameName(type)} frame before AUTH: this worker requires the shared-secret proof first (SPEC §5.4)`,
        );
    }
  }

  #open(): void {
    this.#state = STATE_OPEN;
    if (this.#handshakeTimer !== null) {
      clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = null;
    }
  }

  #streamFor(type: number, streamId: number): RequestStream | undefined {
    if (streamId > this.#highestId) {
      throw new ProtocolError(
        'PROTOCOL_ERROR',
        `${frameName(type)} on stream ${streamId}, which was never opened (SPEC §6.1)`,
      );
    }
    return this.#streams.get(streamId);
  }

  #onRequest(flags: number, streamId: number, payload: Buffer): void {
    if (streamId <= this.#highestId) {
      throw new ProtocolError(
        'PROTOCOL_ERROR',
        `REQUEST on stream ${streamId}: ids must increase, and ${this.#highestId} was already seen (SPEC §6.1)`,
      );
    }
    this.#highestId = streamId;
    if (this.#goawaySent) {
      // SPEC §11: above last_stream, never processed; the proxy may retry elsewhere.
      this.encoder.reset(streamId, ErrorCode.REFUSED_STREAM, 'worker draining');
      this.scheduleFlush();
      return;
    }
    if (this.#streams.size >= this.#settings.maxStreams) {
      // SPEC §6.3
      this.encoder.reset(
        streamId,
        ErrorCode.REFUSED_STREAM,
        `over max_streams (${this.#settings.maxStreams})`,
      );
      this.scheduleFlush();
      return;
    }
    const environ = decodeEnviron(payload);
    const stream = new RequestStream(
      this,
      streamId,
      environ,
      (flags & Flags.END_STREAM) !== 0,
      this.#settings.initialWindow,
      this.#peerWindow,
      performance.now(),
    );
    this.#streams.set(streamId, stream);
    this.#host.streamOpened();
    this.#dispatch(stream);
  }

  /** Calls the app. A synchronous Response is answered at once; a promise is awaited in settle(). */
  #dispatch(stream: RequestStream): void {
    const host = this.#host;
    let result: unknown;
    try {
      const request = this.#settings.fastWebObjects
        ? (new GatewayRequest(stream) as unknown as Request)
        : plainRequest(stream);
      result = callApp(host.app, request, new RequestEnv(stream.environ, stream.body), host.ctx);
    } catch (error) {
      failStream(stream, error);
      return;
    }
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as PromiseLike<unknown>).then === 'function'
    ) {
      void settle(stream, result as PromiseLike<unknown>);
    } else deliverResponse(stream, result);
  }

  #onGoaway(payload: Buffer): void {
    const goaway = decodeGoaway(payload);
    this.#peerGoaway = true;
    if (goaway.code !== ErrorCode.NO_ERROR) {
      this.logger.warn(
        { event: 'peer-goaway', conn: this.id, code: errorCodeName(goaway.code), message: goaway.message },
        'the proxy closed the connection with an error',
      );
      this.#shutdown(new DOMException(`the proxy closed the connection: ${goaway.message}`, 'AbortError'));
      return;
    }
    if (this.#streams.size === 0 && !this.#closing) this.#closeGracefully();
  }

  // ── socket ──

  #onData(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      this.#connectionError(error);
    }
  }

  #onDrain(): void {
    this.#congested = false;
    const blocked = this.#blocked;
    if (blocked === null) return;
    this.#blocked = null;
    for (const stream of blocked) stream.drained();
  }

  #onClose(): void {
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    if (this.#state !== STATE_CLOSED || this.#streams.size > 0) {
      this.#shutdown(new DOMException('the connection to the proxy closed', 'AbortError'));
    }
    this.#host.connectionClosed(this);
  }

  #handshakeTimeout(): void {
    this.#handshakeTimer = null;
    if (this.#state === STATE_OPEN || this.#state === STATE_CLOSED) return;
    this.#connectionError(
      new ProtocolError(
        'HANDSHAKE_ERROR',
        `handshake not complete after ${Limits.HANDSHAKE_TIMEOUT_MS / 1000} s (SPEC §5.1)`,
      ),
    );
  }

  /** SPEC §14.2: GOAWAY with the code and a message, then close; active streams fail. */
  #connectionError(error: unknown): void {
    if (this.#closing) return;
    const protocolError =
      error instanceof ProtocolError
        ? error
        : new ProtocolError(
            'INTERNAL_ERROR',
            `worker internal error: ${error instanceof Error ? error.message : String(error)}`,
          );
    if (protocolError.code === 'INTERNAL_ERROR') {
      this.logger.error(
        { event: 'protocol-error', conn: this.id, err: error },
        'internal error; closing the connection',
      );
    } else {
      this.logger.warn(
        { event: 'protocol-error', conn: this.id, code: protocolError.code, detail: protocolError.message },
        `closing the connection: ${protocolError.code}: ${protocolError.message}`,
      );
    }
    this.#decoder.stop();
    // Anything half-encoded for streams is moot: the connection ends here.
    this.encoder.take();
    this.encoder.goaway(this.#highestId, protocolError.wireCode, protocolError.message);
    this.#goawaySent = true;
    this.#shutdown(
      new DOMException(`protocol error on the connection: ${protocolError.message}`, 'AbortError'),
    );
  }

  /** Ends the connection: fail active streams, flush what is encoded, half-close, destroy after a linger. */
  #shutdown(reason: unknown): void {
    if (this.#closing && this.#state === STATE_CLOSED) {
      for (const stream of this.#streams.values()) stream.connectionLost(reason);
      return;
    }
    this.#closing = true;
    this.#state = STATE_CLOSED;
    if (this.#handshakeTimer !== null) {
      clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = null;
    }
    this.#decoder.stop();
    for (const stream of this.#streams.values()) stream.connectionLost(reason);
    this.#endAfterFlush = true;
    this.#flush();
  }

  #closeGracefully(): void {
    this.#closing = true;
    this.#state = STATE_CLOSED;
    this.#decoder.stop();
    this.#endAfterFlush = true;
    this.scheduleFlush();
  }

  #flush(): void {
    this.#flushScheduled = false;
    const socket = this.#socket;
    const encoder = this.encoder;
    if (socket.destroyed || socket.writableEnded) {
      if (encoder.hasPending) encoder.take();
      return;
    }
    if (encoder.hasPending) {
      const segments = encoder.take();
      if (segments.length === 1) socket.write(segments[0]);
      else {
        socket.cork();
        for (let i = 0; i < segments.length; i++) socket.write(segments[i]);
        socket.uncork();
      }
      if (socket.writableLength > HIGH_WATER) this.#congested = true;
    }
    if (this.#endAfterFlush) {
      socket.end();
      this.#lingerTimer = setTimeout(() => socket.destroy(), LINGER_MS);
      this.#lingerTimer.unref();
    }
  }
}
