/**
 * A small gatewire protocol client that plays the proxy (SPEC §3–§13), for the worker tests and
 * the worker benchmark, until the proxy exists. One connection, many streams.
 */
import { connect, type Socket } from 'node:net';
import {
  ErrorCode,
  Feature,
  Flags,
  FrameDecoder,
  FrameEncoder,
  FrameType,
  ReceiveWindow,
  authProof,
  decodeGoaway,
  decodeHealth,
  decodeHello,
  decodeReset,
  decodeResponseHead,
  decodeTrailers,
  errorCodeName,
  makeHello,
  verifyAuthProof,
  decodeAuth,
  type Environ,
  type FrameHandler,
  type Goaway,
  type HeaderPairs,
  type Health,
  type Hello,
} from '@gatewire/protocol';

export interface ClientOptions {
  /** Shared secret for TCP workers (SPEC §5.4). */
  secret?: string;
  features?: string[];
  /** initial_window we grant the worker per stream. */
  initialWindow?: number;
  maxFrameSize?: number;
  /** Send WINDOW as response bytes arrive (default). When false, call `stream.grant()` yourself. */
  autoWindow?: boolean;
}

export interface RequestSpec {
  method?: string;
  path?: string;
  query?: string;
  headers?: HeaderPairs;
  /** Whole body, sent at once (within the worker's window). */
  body?: string | Uint8Array;
  /** Keep the request open after the REQUEST frame: send body with `stream.write()` / `stream.end()`. */
  streaming?: boolean;
  /** environ.upgrade (SPEC §13); implies streaming. */
  upgrade?: string;
  requestId?: string;
  /** Do not keep response bytes (huge responses); count them instead. */
  discardBody?: boolean;
  /** body_length in the environ; default: the body's length, or null when streaming. */
  bodyLength?: number | null;
}

export interface StreamResult {
  status: number;
  headers: HeaderPairs;
  body: Buffer;
  bodyBytes: number;
  trailers: HeaderPairs | null;
  /** Set when the worker reset the stream (or the connection closed: code -1). */
  reset: { code: number; name: string; message: string } | null;
}

export class StreamResetError extends Error {
  readonly code: number;
  readonly codeName: string;
  constructor(code: number, message: string) {
    super(`stream reset with ${code < 0 ? 'CONNECTION_CLOSED' : errorCodeName(code)}: ${message}`);
    this.code = code;
    this.codeName = code < 0 ? 'CONNECTION_CLOSED' : errorCodeName(code);
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export function environFor(spec: RequestSpec, id: number, bodyLength: number | null): Environ {
  const path = spec.path ?? '/';
  const query = spec.query ?? '';
  return {
    method: spec.method ?? 'GET',
    target: query === '' ? path : `${path}?${query}`,
    path,
    query,
    httpVersion: 'HTTP/1.1',
    headers: spec.headers ?? [['host', 'localhost']],
    scheme: 'http',
    clientAddr: '127.0.0.1',
    clientPort: 40000 + (id % 20000),
    serverAddr: '127.0.0.1',
    serverPort: 8080,
    serverName: 'localhost',
    requestId: spec.requestId ?? `req-${id}`,
    bodyLength,
    scriptName: '',
    upgrade: spec.upgrade ?? '',
  };
}

/** One stream as seen from the proxy side. */
export class ClientStream {
  readonly id: number;
  readonly head = deferred<{ status: number; headers: HeaderPairs }>();
  readonly done = deferred<StreamResult>();
  status = 0;
  headers: HeaderPairs = [];
  chunks: Buffer[] = [];
  bodyBytes = 0;
  trailers: HeaderPairs | null = null;
  reset: StreamResult['reset'] = null;
  localEnded = false;
  remoteEnded = false;
  /** The worker sent more DATA than we granted. */
  flowViolation = false;
  closed = false;
  /** Called for each DATA piece (tunnels, slow readers). */
  onData: ((chunk: Buffer) => void) | null = null;
  readonly discardBody: boolean;
  sendWindow: number;
  readonly recv: ReceiveWindow;
  #client: ProtocolClient;
  #windowWaiters: Array<() => void> = [];

  constructor(
    client: ProtocolClient,
    id: number,
    sendWindow: number,
    recvWindow: number,
    discardBody: boolean,
  ) {
    this.#client = client;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recv = new ReceiveWindow(recvWindow);
    this.discardBody = discardBody;
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Resolves with the whole exchange; never rejects (a reset is in `reset`). */
  result(): Promise<StreamResult> {
    return this.done.promise;
  }

  /** Sends request body bytes, waiting for the worker's window (SPEC §9). */
  async write(bytes: Uint8Array | string, end = false): Promise<void> {
    let data =
      typeof bytes === 'string'
        ? Buffer.from(bytes)
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    do {
      while (this.sendWindow <= 0 && !this.closed)
        await new Promise<void>((resolve) => this.#windowWaiters.push(resolve));
      if (this.closed) throw new StreamResetError(this.reset?.code ?? -1, this.reset?.message ?? 'closed');
      const size = Math.min(this.sendWindow, data.length, this.#client.peerMaxFrameSize);
      const piece = data.subarray(0, size);
      data = data.subarray(size);
      this.sendWindow -= size;
      const last = data.length === 0;
      this.#client.encoder.data(this.id, piece, last && end);
      this.#client.flush();
    } while (data.length > 0);
    if (end) this.localEnded = true;
  }

  end(): void {
    if (this.localEnded || this.closed) return;
    this.localEnded = true;
    this.#client.encoder.data(this.id, Buffer.alloc(0), true);
    this.#client.flush();
  }

  sendTrailers(trailers: HeaderPairs): void {
    this.localEnded = true;
    this.#client.encoder.trailers(this.id, trailers);
    this.#client.flush();
  }

  /** RESET from the proxy side (CANCEL: the client went away). */
  cancel(code: number = ErrorCode.CANCEL, message = 'client went away'): void {
    if (this.closed) return;
    this.#client.encoder.reset(this.id, code, message);
    this.#client.flush();
    this.#finish({ code, name: errorCodeName(code), message: `(sent) ${message}` });
  }

  /** Manual flow control: grant the worker `bytes` more credit. */
  grant(bytes: number): void {
    if (this.closed || bytes <= 0) return;
    this.recv.remaining += bytes;
    this.#client.encoder.window(this.id, bytes);
    this.#client.flush();
  }

  windowUpdate(increment: number): void {
    this.sendWindow += increment;
    const waiters = this.#windowWaiters;
    this.#windowWaiters = [];
    for (const waiter of waiters) waiter();
  }

  receiveData(chunk: Buffer, end: boolean, autoWindow: boolean): void {
    this.bodyBytes += chunk.length;
    if (chunk.length > 0) {
      try {
        this.recv.receive(chunk.length, this.id);
      } catch {
        this.flowViolation = true; // the worker sent beyond the window we granted (SPEC §9)
      }
    }
    if (this.onData !== null) this.onData(chunk);
    else if (!this.discardBody && chunk.length > 0) this.chunks.push(Buffer.from(chunk));
    if (autoWindow && chunk.length > 0 && !end) {
      const increment = this.recv.consume(chunk.length); // already added to recv.remaining
      if (increment > 0 && !this.closed) {
        this.#client.encoder.window(this.id, increment);
        this.#client.flush();
      }
    }
    if (end) {
      this.remoteEnded = true;
      this.#finish(null);
    }
  }

  finishWithReset(code: number, message: string): void {
    this.#finish({ code, name: code < 0 ? 'CONNECTION_CLOSED' : errorCodeName(code), message });
  }

  #finish(reset: StreamResult['reset']): void {
    if (this.closed) return;
    this.closed = true;
    this.reset = reset;
    if (reset !== null) this.head.reject(new StreamResetError(reset.code, reset.message));
    const waiters = this.#windowWaiters;
    this.#windowWaiters = [];
    for (const waiter of waiters) waiter();
    this.#client.streamDone(this);
    this.done.resolve({
      status: this.status,
      headers: this.headers,
      body: this.body,
      bodyBytes: this.bodyBytes,
      trailers: this.trailers,
      reset,
    });
  }
}

/** The proxy side of one connection. */
export class ProtocolClient implements FrameHandler {
  readonly encoder = new FrameEncoder();
  readonly socket: Socket;
  readonly streams = new Map<number, ClientStream>();
  readonly options: ClientOptions;
  peerHello: Hello | null = null;
  peerMaxFrameSize = 65536;
  goaway: Goaway | null = null;
  readonly goawayReceived = deferred<Goaway>();
  readonly closed = deferred<void>();
  readonly handshake = deferred<void>();
  /** Every non-DATA frame received, for assertions. */
  readonly received: Array<{ type: number; flags: number; streamId: number; payload: Buffer }> = [];
  #decoder: FrameDecoder;
  #nextId = 1;
  #ourHello: Hello;
  #pings: Array<Deferred<{ health: Health | null }>> = [];
  #pendingPong: Deferred<{ health: Health | null }> | null = null;
  #autoWindow: boolean;
  #flushScheduled = false;
  #isClosed = false;

  private constructor(socket: Socket, options: ClientOptions) {
    this.socket = socket;
    this.options = options;
    this.#autoWindow = options.autoWindow ?? true;
    this.#decoder = new FrameDecoder(this, { maxFrameSize: options.maxFrameSize ?? 262144 });
    this.#ourHello = makeHello({
      role: 'proxy',
      maxFrameSize: options.maxFrameSize ?? 262144,
      initialWindow: options.initialWindow ?? 262144,
      features: options.features ?? [Feature.TRAILERS, Feature.UPGRADE, Feature.HEALTH],
      server: 'gatewire-test-client',
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk);
      } catch (error) {
        this.handshake.reject(error);
        socket.destroy(error as Error);
      }
    });
    socket.on('error', (error) => this.handshake.reject(error));
    socket.on('close', () => this.#onClose());
    this.encoder.preface();
    this.encoder.hello(this.#ourHello);
    this.flushNow();
  }

  /** Connects to a Unix socket path or `{ host, port }`; resolves after the handshake (SPEC §5). */
  static async connect(
    target: string | { host: string; port: number },
    options: ClientOptions = {},
  ): Promise<ProtocolClient> {
    const socket = typeof target === 'string' ? connect(target) : connect(target.port, target.host);
    socket.setNoDelay?.(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new ProtocolClient(socket, options);
    await client.handshake.promise;
    return client;
  }

  /** Opens a stream. A body given whole is sent right away (within the worker's window). */
  request(spec: RequestSpec = {}): ClientStream {
    const id = this.#nextId;
    this.#nextId += 1;
    const body =
      spec.body === undefined ? null : typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body;
    const streaming = spec.streaming === true || spec.upgrade !== undefined;
    const bodyLength =
      spec.bodyLength !== undefined ? spec.bodyLength : streaming ? null : (body?.length ?? 0);
    const stream = new ClientStream(
      this,
      id,
      this.peerHello!.initialWindow,
      this.options.initialWindow ?? 262144,
      spec.discardBody === true,
    );
    this.streams.set(id, stream);
    const endStream = !streaming && (body === null || body.length === 0);
    this.encoder.request(id, environFor(spec, id, bodyLength), endStream);
    if (endStream) stream.localEnded = true;
    this.flush();
    if (!streaming && body !== null && body.length > 0) {
      void stream.write(body, true).catch(() => undefined);
    }
    return stream;
  }

  /** Sends raw bytes (malformed-input tests). */
  writeRaw(bytes: Uint8Array): void {
    this.flushNow();
    this.socket.write(bytes);
  }

  /** Sends a frame built by hand: header fields as given. */
  writeFrame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): void {
    const header = Buffer.alloc(10);
    header.writeUInt32BE(payload.length, 0);
    header[4] = type;
    header[5] = flags;
    header.writeUInt32BE(streamId, 6);
    this.writeRaw(Buffer.concat([header, payload]));
  }

  /** The id the next request() will use. */
  get nextStreamId(): number {
    return this.#nextId;
  }

  /** Skips stream ids (gaps are allowed, SPEC §6.1). */
  set nextStreamId(id: number) {
    this.#nextId = id;
  }

  /** PING; resolves with the HEALTH that follows the PONG when the feature is on (SPEC §12). */
  ping(): Promise<{ health: Health | null }> {
    const waiter = deferred<{ health: Health | null }>();
    this.#pings.push(waiter);
    this.encoder.ping(Buffer.from('pingpong'));
    this.flush();
    return waiter.promise;
  }

  /** GOAWAY from the proxy side (shutting down). */
  sendGoaway(): void {
    this.encoder.goaway(0, ErrorCode.NO_ERROR, 'proxy shutting down');
    this.flush();
  }

  close(): void {
    this.socket.destroy();
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  streamDone(stream: ClientStream): void {
    this.streams.delete(stream.id);
  }

  flush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.flushNow();
    });
  }

  flushNow(): void {
    if (!this.encoder.hasPending || this.socket.destroyed) return;
    const segments = this.encoder.take();
    this.socket.cork();
    for (const segment of segments) this.socket.write(segment);
    this.socket.uncork();
  }

  // ── FrameHandler ──

  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    this.received.push({ type, flags, streamId, payload: Buffer.from(payload) });
    switch (type) {
      case FrameType.HELLO: {
        const hello = decodeHello(payload);
        this.peerHello = hello;
        this.peerMaxFrameSize = hello.maxFrameSize;
        this.encoder.maxFrameSize = hello.maxFrameSize;
        if (hello.auth !== undefined) {
          if (this.options.secret === undefined) {
            this.handshake.reject(
              new Error('the worker asks for a shared secret and the test client has none'),
            );
            this.socket.destroy();
            return;
          }
          const secret = Buffer.from(this.options.secret);
          this.encoder.auth({ proof: authProof(secret, 'proxy', this.#ourHello.nonce, hello.nonce) });
          this.flushNow();
          return;
        }
        this.handshake.resolve();
        return;
      }
      case FrameType.AUTH: {
        const auth = decodeAuth(payload);
        try {
          verifyAuthProof(
            auth.proof,
            Buffer.from(this.options.secret ?? ''),
            'worker',
            this.#ourHello.nonce,
            this.peerHello!.nonce,
          );
          this.handshake.resolve();
        } catch (error) {
          this.handshake.reject(error);
        }
        return;
      }
      case FrameType.RESPONSE: {
        const stream = this.streams.get(streamId);
        if (stream === undefined) return;
        const head = decodeResponseHead(payload);
        if (head.status >= 100 && head.status < 200 && head.status !== 101) return;
        stream.status = head.status;
        stream.headers = head.headers;
        stream.head.resolve({ status: head.status, headers: head.headers });
        if ((flags & Flags.END_STREAM) !== 0) stream.receiveData(Buffer.alloc(0), true, this.#autoWindow);
        return;
      }
      case FrameType.TRAILERS: {
        const stream = this.streams.get(streamId);
        if (stream === undefined) return;
        stream.trailers = decodeTrailers(payload);
        stream.receiveData(Buffer.alloc(0), true, this.#autoWindow);
        return;
      }
      case FrameType.WINDOW:
        this.streams.get(streamId)?.windowUpdate(payload.readUInt32BE(0));
        return;
      case FrameType.RESET: {
        const reset = decodeReset(payload);
        const stream = this.streams.get(streamId);
        if (stream === undefined) return;
        // RESET NO_ERROR after a complete response is an early-response hint (SPEC §10).
        stream.finishWithReset(reset.code, reset.message);
        return;
      }
      case FrameType.GOAWAY: {
        const goaway = decodeGoaway(payload);
        this.goaway = goaway;
        this.goawayReceived.resolve(goaway);
        if (goaway.code !== ErrorCode.NO_ERROR)
          this.handshake.reject(new Error(`GOAWAY ${errorCodeName(goaway.code)}: ${goaway.message}`));
        return;
      }
      case FrameType.PONG: {
        const waiter = this.#pings.shift();
        if (waiter === undefined) return;
        if (
          this.peerHello?.features.includes(Feature.HEALTH) &&
          (this.options.features ?? [Feature.HEALTH]).includes(Feature.HEALTH)
        ) {
          this.#pendingPong = waiter;
        } else waiter.resolve({ health: null });
        return;
      }
      case FrameType.HEALTH: {
        const waiter = this.#pendingPong;
        this.#pendingPong = null;
        waiter?.resolve({ health: decodeHealth(payload) });
        return;
      }
      default:
        return;
    }
  }

  onData(streamId: number, flags: number, chunk: Buffer, endOfFrame: boolean): void {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    stream.receiveData(chunk, endOfFrame && (flags & Flags.END_STREAM) !== 0, this.#autoWindow);
  }

  #onClose(): void {
    this.#isClosed = true;
    for (const stream of [...this.streams.values()]) stream.finishWithReset(-1, 'connection closed');
    for (const waiter of this.#pings) waiter.reject(new Error('connection closed'));
    this.#pings = [];
    this.handshake.reject(new Error('connection closed during the handshake'));
    this.closed.resolve();
  }
}
