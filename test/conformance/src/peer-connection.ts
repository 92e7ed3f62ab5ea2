import { randomBytes } from 'node:crypto';
import net from 'node:net';
import {
  Feature,
  Flags,
  FrameDecoder,
  FrameType,
  Limits,
  PREFACE,
  PROTOCOL_VERSION,
  authProof,
  decodeAuth,
  decodeGoaway,
  decodeHealth,
  decodeHello,
  decodeReset,
  decodeResponseHead,
  decodeTrailers,
  isProtocolError,
  verifyAuthProof,
  type FrameHandler,
  type Goaway,
  type Health,
  type Hello,
} from '@gatewire/protocol';
import { environEntries, type RequestSpec } from './environ-builder.js';
import { CheckFailed } from './errors.js';
import { describeFrame, typeName, type ReceivedFrame } from './frame-names.js';
import { encodeMsgpack, mpMap, type MpValue } from './msgpack-builder.js';
import { PeerStream } from './peer-stream.js';
import { rawFrame } from './raw-frames.js';

/** What the suite advertises in its own HELLO, playing the proxy (SPEC §5.2). */
export interface PeerHelloOptions {
  /** Default 65536, the smallest a side may advertise, so a worker must split its DATA. */
  maxFrameSize?: number;
  /** Default 65536. Checks of response flow control use 1024, the minimum. */
  initialWindow?: number;
  /** Default: every feature SPEC §5.3 defines. */
  features?: string[];
  /** Default: 32 fresh random bytes. A hand-written HELLO with a fixed nonce says so here. */
  nonce?: Buffer;
}

export interface PeerOptions {
  /** How long any one expected event may take. */
  timeoutMs: number;
  hello?: PeerHelloOptions;
  /** Grant WINDOW for each DATA frame as it arrives. Default true. */
  autoGrant?: boolean;
  /** Shared secret, for a worker that asks for the proof of SPEC §5.4. */
  secret?: Uint8Array;
}

interface Waiter {
  check(): void;
}

const ALL_FEATURES = [Feature.TRAILERS, Feature.UPGRADE, Feature.HEALTH, Feature.QUEUE];
const HEALTH_UINT_FIELDS: Array<keyof Health> = ['rss', 'heapUsed', 'requests', 'inFlight'];

/**
 * One connection to the worker, with the suite playing the proxy (SPEC §1). It records every frame
 * the worker sends, checks each against the rules a worker must follow (a broken rule becomes a
 * violation that fails the check), keeps per-stream state and flow-control credit, answers PING,
 * and lets checks wait, with a timeout, for whatever they expect next.
 */
export class PeerConnection {
  readonly socketPath: string;
  readonly timeoutMs: number;
  readonly autoGrant: boolean;
  /** Every frame the worker sent, in order. */
  readonly frames: ReceivedFrame[] = [];
  /** Rules of the SPEC the worker broke on this connection. */
  readonly violations: string[] = [];
  readonly goaways: Array<Goaway & { seq: number }> = [];
  readonly healths: Array<Health & { seq: number }> = [];
  workerHello: Hello | undefined;
  /** A problem with the worker's preface or HELLO. */
  helloError: string | undefined;
  /** Features both HELLOs list (SPEC §5.3). */
  features = new Set<string>();
  closed = false;
  /** Set when the worker's bytes were not valid frames. */
  decodeError: string | undefined;

  #socket: net.Socket;
  #decoder: FrameDecoder;
  #ourHello: { maxFrameSize: number; initialWindow: number; features: string[]; nonce: Buffer };
  #secret: Uint8Array | undefined;
  #waiters = new Set<Waiter>();
  #streams = new Map<number, PeerStream>();
  #highestStreamId = 0;
  #dataPieces: Buffer[] = [];
  #authSent = false;
  #workerAuthOk = false;
  #pendingPings = new Set<string>();
  #pongs: ReceivedFrame[] = [];
  #errorGoawaySeen = false;
  #writeError: string | undefined;

  private constructor(socket: net.Socket, socketPath: string, options: PeerOptions) {
    this.#socket = socket;
    this.socketPath = socketPath;
    this.timeoutMs = options.timeoutMs;
    this.autoGrant = options.autoGrant ?? true;
    this.#secret = options.secret;
    this.#ourHello = {
      maxFrameSize: options.hello?.maxFrameSize ?? Limits.MIN_MAX_FRAME_SIZE,
      initialWindow: options.hello?.initialWindow ?? 65_536,
      features: options.hello?.features ?? ALL_FEATURES,
      nonce: options.hello?.nonce ?? randomBytes(32),
    };
    const handler: FrameHandler = {
      onFrame: (type, flags, streamId, payload) => this.#onFrame(type, flags, streamId, Buffer.from(payload)),
      onData: (streamId, flags, chunk, endOfFrame) => {
        this.#dataPieces.push(Buffer.from(chunk));
        if (!endOfFrame) return;
        const payload = this.#dataPieces.length === 1 ? this.#dataPieces[0] : Buffer.concat(this.#dataPieces);
        this.#dataPieces = [];
        this.#onFrame(FrameType.DATA, flags, streamId, payload);
      },
    };
    this.#decoder = new FrameDecoder(handler, { maxFrameSize: this.#ourHello.maxFrameSize });
    socket.on('data', (chunk: Buffer) => {
      if (this.#decoder.stopped) return;
      try {
        this.#decoder.push(chunk);
      } catch (error) {
        const message = isProtocolError(error) ? `${error.code}: ${error.message}` : String(error);
        this.decodeError = message;
        this.#violation(`the worker sent bytes that are not valid gatewire frames (SPEC §3, §4): ${message}`);
        socket.destroy();
      }
      this.#notify();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#writeError ??= error.code ?? error.message;
    });
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of [...this.#waiters]) waiter.check();
    });
  }

  /** Connects without sending anything: the check writes the preface and HELLO (or anything else). */
  static async connectRaw(socketPath: string, options: PeerOptions): Promise<PeerConnection> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new CheckFailed(`connecting to ${socketPath} did not complete within ${options.timeoutMs} ms`),
        );
      }, options.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new CheckFailed(
            `cannot connect to the worker socket ${socketPath}: ${error.code ?? error.message}`,
          ),
        );
      });
    });
    return new PeerConnection(socket, socketPath, options);
  }

  /** Connects and completes the handshake of SPEC §5 (with AUTH when the worker asks for it). */
  static async open(socketPath: string, options: PeerOptions): Promise<PeerConnection> {
    const conn = await PeerConnection.connectRaw(socketPath, options);
    try {
      conn.sendPrefaceAndHello();
      await conn.handshake();
    } catch (error) {
      conn.close();
      throw error;
    }
    return conn;
  }

  get ourInitialWindow(): number {
    return this.#ourHello.initialWindow;
  }

  get ourNonce(): Buffer {
    return this.#ourHello.nonce;
  }

  /** The worker's max_frame_size: the largest payload this side may send it. */
  get workerMaxFrameSize(): number {
    return this.workerHello?.maxFrameSize ?? Limits.DEFAULT_MAX_FRAME_SIZE;
  }

  get highestStreamId(): number {
    return this.#highestStreamId;
  }

  /** Sequence number of the last frame received so far (0 before any). */
  get lastSeq(): number {
    return this.frames.length;
  }

  stream(id: number): PeerStream | undefined {
    return this.#streams.get(id);
  }

  /**
   * Our HELLO payload (SPEC §5.2), in the canonical key order, with keys replaced, left out or
   * added, so that checks can send HELLOs a worker must refuse or must tolerate.
   */
  helloPayload(
    options: { override?: Record<string, MpValue>; omit?: string[]; extra?: Array<[string, MpValue]> } = {},
  ): Buffer {
    let entries: Array<[string, MpValue]> = [
      ['version', PROTOCOL_VERSION],
      ['role', 'proxy'],
      ['max_frame_size', this.#ourHello.maxFrameSize],
      ['initial_window', this.#ourHello.initialWindow],
      ['max_streams', 0],
      ['features', this.#ourHello.features],
      ['nonce', this.#ourHello.nonce],
      ['server', 'gatewire-conformance/0.1.0'],
      ['pid', process.pid],
    ];
    const override = options.override ?? {};
    entries = entries.map(([key, value]): [string, MpValue] => [
      key,
      key in override ? override[key] : value,
    ]);
    if (options.omit) entries = entries.filter(([key]) => !options.omit!.includes(key));
    if (options.extra) entries.push(...options.extra);
    return encodeMsgpack(mpMap(entries));
  }

  sendPrefaceAndHello(payload: Buffer = this.helloPayload()): void {
    this.write(Buffer.concat([PREFACE, rawFrame(FrameType.HELLO, 0, 0, payload)]));
  }

  /** Waits for the worker's HELLO (and AUTH when it asks for one); fails the check if it is invalid. */
  async handshake(): Promise<Hello> {
    const hello = await this.until("the worker's preface and HELLO (SPEC §3, §5.1)", () => {
      if (this.helloError) throw new CheckFailed(this.helloError);
      return this.workerHello;
    });
    if (hello.auth !== undefined) {
      if (!this.#secret) {
        throw new CheckFailed(
          'the worker asks for the shared-secret proof (SPEC §5.4, HELLO auth "hmac-sha256"); give the suite the secret (--secret or GATEWIRE_SECRET)',
        );
      }
      this.sendAuth(authProof(this.#secret, 'proxy', this.#ourHello.nonce, hello.nonce));
      await this.until("the worker's AUTH (SPEC §5.4)", () => (this.#workerAuthOk ? true : undefined));
    }
    return hello;
  }

  /** Notes that an AUTH went out in a hand-made write, so the worker's AUTH is expected. */
  markAuthSent(): void {
    this.#authSent = true;
  }

  sendAuth(proof: Uint8Array): void {
    this.#authSent = true;
    this.sendFrame(FrameType.AUTH, 0, 0, encodeMsgpack({ proof: Buffer.from(proof) }));
  }

  write(bytes: Uint8Array): void {
    if (this.#socket.destroyed) return;
    this.#socket.write(bytes);
  }

  sendFrame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): void {
    this.write(rawFrame(type, flags, streamId, payload));
  }

  /** Opens a stream with a REQUEST (SPEC §7). END_STREAM when the body length is 0, unless told. */
  request(spec: RequestSpec, options: { endStream?: boolean; streamId?: number } = {}): PeerStream {
    const stream = this.declareStream(
      options.streamId ?? this.#highestStreamId + 1,
      spec.upgrade !== undefined,
    );
    const endStream = options.endStream ?? (spec.bodyLength === undefined || spec.bodyLength === 0);
    this.sendFrame(
      FrameType.REQUEST,
      endStream ? Flags.END_STREAM : 0,
      stream.id,
      encodeMsgpack(mpMap(environEntries(spec))),
    );
    if (endStream) stream.localEnded = true;
    return stream;
  }

  /** Registers a stream id this side is about to open with a hand-made REQUEST. */
  declareStream(id: number, upgrade = false): PeerStream {
    const stream = new PeerStream(
      this,
      id,
      this.workerHello?.initialWindow ?? 0,
      this.#ourHello.initialWindow,
      upgrade,
    );
    this.#streams.set(id, stream);
    if (id > this.#highestStreamId) this.#highestStreamId = id;
    return stream;
  }

  /** PING with these 8 bytes; resolves with the matching PONG (SPEC §12.1). */
  async ping(opaque: Buffer = randomBytes(8)): Promise<ReceivedFrame> {
    const key = opaque.toString('hex');
    this.#pendingPings.add(key);
    this.sendFrame(FrameType.PING, 0, 0, opaque);
    return this.until(`a PONG answering PING ${key} (SPEC §12.1)`, () =>
      this.#pongs.find((pong) => pong.payload.toString('hex') === key),
    );
  }

  /**
   * A PING round trip. The worker reads its connection in order, so everything it did in answer
   * to earlier frames was written before this PONG; returns the PONG's sequence number.
   */
  async barrier(): Promise<number> {
    return (await this.ping()).seq;
  }

  /** Frames the worker sent after sequence number `seq`, optionally on one stream only. */
  framesAfter(seq: number, streamId?: number): ReceivedFrame[] {
    return this.frames.filter(
      (frame) => frame.seq > seq && (streamId === undefined || frame.streamId === streamId),
    );
  }

  /** Waits for the worker's first GOAWAY, or the connection closing without one. */
  async goawayOrClose(what: string): Promise<(Goaway & { seq: number }) | undefined> {
    return this.until(what, () => this.goaways[0] ?? (this.closed ? null : undefined)).then(
      (value) => value ?? undefined,
    );
  }

  async closedByWorker(what: string): Promise<void> {
    await this.until(what, () => (this.closed ? true : undefined));
  }

  /**
   * Resolves with the probe's first non-undefined value, re-evaluated after every frame and on
   * close; rejects with CheckFailed after the timeout, when the connection closes first, or with
   * whatever the probe throws.
   */
  until<T>(what: string, probe: () => T | undefined, timeoutMs = this.timeoutMs): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Settles the promise if the probe decides; true when it did.
      const decide = (): boolean => {
        let value: T | undefined;
        try {
          value = probe();
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return true;
        }
        if (value !== undefined) {
          resolve(value);
          return true;
        }
        if (this.closed) {
          reject(new CheckFailed(`the connection closed while waiting for ${what}${this.#summary()}`));
          return true;
        }
        return false;
      };
      if (decide()) return;
      const waiter: Waiter = {
        check: () => {
          if (!decide()) return;
          clearTimeout(timer);
          this.#waiters.delete(waiter);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new CheckFailed(`timed out after ${timeoutMs} ms waiting for ${what}${this.#summary()}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Ends this side and lets the socket go. Safe to call twice. */
  close(): void {
    this.#socket.destroy();
  }

  #summary(): string {
    const parts: string[] = [];
    const last = this.frames.slice(-6).map(describeFrame);
    parts.push(last.length ? `last frames from the worker: ${last.join(' ')}` : 'no frames from the worker');
    if (this.decodeError) parts.push(`undecodable bytes: ${this.decodeError}`);
    if (this.closed) parts.push('connection closed');
    if (this.#writeError) parts.push(`socket error ${this.#writeError}`);
    return ` (${parts.join('; ')})`;
  }

  #violation(message: string): void {
    if (this.violations.length < 20) this.violations.push(message);
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  #onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    const frame: ReceivedFrame = { seq: this.frames.length + 1, type, flags, streamId, payload };
    this.frames.push(frame);
    if (!this.workerHello && !this.helloError) {
      this.#onFirstFrame(frame);
      return;
    }
    if (this.helloError) return;
    if (streamId !== 0) {
      this.#onStreamFrame(frame);
      return;
    }
    switch (type) {
      case FrameType.HELLO:
        this.#violation('the worker sent a second HELLO (SPEC §5.1)');
        break;
      case FrameType.AUTH:
        this.#onAuth(frame);
        break;
      case FrameType.GOAWAY:
        this.#onGoaway(frame);
        break;
      case FrameType.PING:
        this.sendFrame(FrameType.PONG, 0, 0, payload);
        break;
      case FrameType.PONG: {
        const key = payload.toString('hex');
        if (this.#pendingPings.delete(key)) this.#pongs.push(frame);
        break;
      }
      case FrameType.HEALTH:
        this.#onHealth(frame);
        break;
      default:
        this.#violation(`the worker sent ${typeName(type)} on stream 0`);
    }
  }

  #onFirstFrame(frame: ReceivedFrame): void {
    if (frame.type !== FrameType.HELLO) {
      this.helloError = `the worker's first frame after its preface is ${describeFrame(frame)}, not HELLO (SPEC §5.1)`;
      this.#violation(this.helloError);
      return;
    }
    try {
      const hello = decodeHello(frame.payload);
      if (hello.role !== 'worker') throw new Error(`role is ${JSON.stringify(hello.role)}, not "worker"`);
      this.workerHello = hello;
      const theirs = new Set(hello.features);
      this.features = new Set(this.#ourHello.features.filter((feature) => theirs.has(feature)));
    } catch (error) {
      this.helloError = `the worker's HELLO is invalid (SPEC §5.2): ${(error as Error).message}`;
      this.#violation(this.helloError);
    }
  }

  #onAuth(frame: ReceivedFrame): void {
    const hello = this.workerHello;
    if (!hello?.auth || !this.#authSent || this.#workerAuthOk) {
      this.#violation('the worker sent AUTH it was not asked for (SPEC §5.4)');
      return;
    }
    try {
      const auth = decodeAuth(frame.payload);
      verifyAuthProof(auth.proof, this.#secret!, 'worker', this.#ourHello.nonce, hello.nonce);
      this.#workerAuthOk = true;
    } catch (error) {
      this.#violation(`the worker's AUTH proof is wrong (SPEC §5.4): ${(error as Error).message}`);
    }
  }

  #onGoaway(frame: ReceivedFrame): void {
    let goaway: Goaway;
    try {
      goaway = decodeGoaway(frame.payload);
    } catch (error) {
      this.#violation(`the worker's GOAWAY payload is invalid (SPEC §11): ${(error as Error).message}`);
      return;
    }
    if (this.#errorGoawaySeen)
      this.#violation('the worker sent GOAWAY again after a GOAWAY with an error code (SPEC §11)');
    if (goaway.code !== 0) this.#errorGoawaySeen = true;
    if (goaway.lastStream > this.#highestStreamId) {
      this.#violation(
        `GOAWAY last_stream ${goaway.lastStream} is above the highest stream opened, ${this.#highestStreamId} (SPEC §11)`,
      );
    }
    if (Buffer.byteLength(goaway.message) > Limits.MAX_MESSAGE_BYTES) {
      this.#violation(`GOAWAY message longer than ${Limits.MAX_MESSAGE_BYTES} bytes (SPEC §11)`);
    }
    for (const [id, stream] of this.#streams) {
      if (id > goaway.lastStream && stream.final && this.goaways.length === 0) {
        this.#violation(
          `GOAWAY last_stream ${goaway.lastStream}, yet stream ${id} above it had already been answered (SPEC §11)`,
        );
      }
    }
    this.goaways.push({ ...goaway, seq: frame.seq });
  }

  #onHealth(frame: ReceivedFrame): void {
    if (!this.features.has(Feature.HEALTH)) {
      this.#violation("the worker sent HEALTH although 'health' was not negotiated (SPEC §5.3, §12.2)");
    }
    try {
      const health = decodeHealth(frame.payload);
      for (const field of HEALTH_UINT_FIELDS) {
        const value = health[field];
        if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
          throw new Error(`${field} is ${value}, not a uint`);
        }
      }
      this.healths.push({ ...health, seq: frame.seq });
    } catch (error) {
      this.#violation(`the worker's HEALTH payload is invalid (SPEC §12.2): ${(error as Error).message}`);
    }
  }

  #onStreamFrame(frame: ReceivedFrame): void {
    const { type, streamId, payload } = frame;
    const stream = this.#streams.get(streamId);
    if (!stream) {
      this.#violation(
        `the worker sent ${describeFrame(frame)} for stream ${streamId}, which was never opened (SPEC §6.1)`,
      );
      return;
    }
    if (type === FrameType.REQUEST) {
      this.#violation('the worker sent a REQUEST: only the proxy opens streams (SPEC §1, §4.2)');
      return;
    }
    if (stream.workerReset) {
      this.#violation(
        `the worker sent ${describeFrame(frame)} after its own RESET on stream ${streamId} (SPEC §10)`,
      );
      return;
    }
    if (stream.ourResetAfterSeq !== undefined) {
      // In flight when the worker read our RESET, or a violation; checks that care use a barrier.
      stream.framesAfterOurReset.push(frame);
      if (type === FrameType.DATA) stream.recvCredit -= payload.length;
      return;
    }
    const goaway = this.goaways[0];
    if (goaway && streamId > goaway.lastStream && (type === FrameType.RESPONSE || type === FrameType.DATA)) {
      this.#violation(
        `the worker answered stream ${streamId} after its GOAWAY with last_stream ${goaway.lastStream} (SPEC §11: streams above it are not processed)`,
      );
    }
    switch (type) {
      case FrameType.RESPONSE:
        this.#onResponse(stream, frame);
        break;
      case FrameType.DATA:
        this.#onData(stream, frame);
        break;
      case FrameType.TRAILERS:
        if (!this.features.has(Feature.TRAILERS)) {
          this.#violation(
            `the worker sent TRAILERS on stream ${streamId} although 'trailers' was not negotiated (SPEC §5.3)`,
          );
        }
        if (!stream.final)
          this.#violation(
            `the worker sent TRAILERS on stream ${streamId} before its final RESPONSE (SPEC §6.2)`,
          );
        if (stream.ended)
          this.#violation(`the worker sent TRAILERS on stream ${streamId} after END_STREAM (SPEC §6.2)`);
        try {
          stream.trailers = decodeTrailers(payload);
        } catch (error) {
          this.#violation(
            `the worker's TRAILERS payload is invalid (SPEC §8.3): ${(error as Error).message}`,
          );
        }
        stream.ended = true;
        break;
      case FrameType.WINDOW: {
        const increment = payload.readUInt32BE(0);
        if (increment === 0 || increment > Limits.MAX_WINDOW) {
          this.#violation(
            `the worker sent WINDOW +${increment} on stream ${streamId}; increments are 1…${Limits.MAX_WINDOW} (SPEC §9)`,
          );
        } else if (stream.sendCredit + increment > Limits.MAX_WINDOW) {
          this.#violation(
            `the worker's WINDOW on stream ${streamId} raises the window above ${Limits.MAX_WINDOW} (SPEC §9)`,
          );
        }
        stream.sendCredit += increment;
        break;
      }
      case FrameType.RESET:
        try {
          const reset = decodeReset(payload);
          if (Buffer.byteLength(reset.message) > Limits.MAX_MESSAGE_BYTES) {
            this.#violation(`RESET message longer than ${Limits.MAX_MESSAGE_BYTES} bytes (SPEC §10)`);
          }
          stream.workerReset = { ...reset, seq: frame.seq };
        } catch (error) {
          this.#violation(`the worker's RESET payload is invalid (SPEC §10): ${(error as Error).message}`);
          stream.workerReset = { code: -1, message: 'undecodable', seq: frame.seq };
        }
        break;
      default:
        this.#violation(
          `the worker sent ${describeFrame(frame)}: not a frame a worker sends on a stream (SPEC §4.2)`,
        );
    }
  }

  #onResponse(stream: PeerStream, frame: ReceivedFrame): void {
    let head;
    try {
      head = decodeResponseHead(frame.payload);
    } catch (error) {
      this.#violation(
        `the worker's RESPONSE on stream ${stream.id} is invalid (SPEC §8.1): ${(error as Error).message}`,
      );
      return;
    }
    const id = stream.id;
    if (stream.final) {
      this.#violation(`the worker sent a second final RESPONSE on stream ${id} (SPEC §6.2)`);
      return;
    }
    if (stream.ended)
      this.#violation(`the worker sent RESPONSE on stream ${id} after END_STREAM (SPEC §6.2)`);
    stream.heads.push(head);
    const informational = head.status < 200 && head.status !== 101;
    if (informational) {
      if (frame.flags & Flags.END_STREAM) {
        this.#violation(
          `informational RESPONSE ${head.status} on stream ${id} carries END_STREAM (SPEC §4.3, §8.1)`,
        );
      }
      return;
    }
    if (head.status === 101 && !stream.upgrade) {
      this.#violation(`the worker answered 101 on stream ${id}, which did not ask for an upgrade (SPEC §13)`);
    }
    stream.final = head;
    if (frame.flags & Flags.END_STREAM) stream.ended = true;
  }

  #onData(stream: PeerStream, frame: ReceivedFrame): void {
    const id = stream.id;
    const size = frame.payload.length;
    if (!stream.final)
      this.#violation(`the worker sent DATA on stream ${id} before its final RESPONSE (SPEC §6.2)`);
    if (stream.ended) this.#violation(`the worker sent DATA on stream ${id} after END_STREAM (SPEC §6.2)`);
    if (size > stream.recvCredit) {
      this.#violation(
        `the worker sent ${size} bytes of DATA on stream ${id} with only ${Math.max(stream.recvCredit, 0)} bytes of credit (SPEC §9: never more than granted)`,
      );
    }
    stream.recvCredit -= size;
    if (size > 0) {
      stream.chunks.push(frame.payload);
      stream.received += size;
    }
    if (frame.flags & Flags.END_STREAM) stream.ended = true;
    else if (stream.autoGrant && size > 0 && !this.closed) stream.grant(size);
  }
}
