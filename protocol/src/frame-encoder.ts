import { FRAME_HEADER_SIZE, FRAME_TYPE_NAMES, Flags, FrameType, Limits, PREFACE } from './constants.js';
import {
  encodeAuth,
  encodeGoaway,
  encodeHealth,
  encodeHello,
  encodeReset,
  type Auth,
  type Health,
  type Hello,
} from './control-payloads.js';
import { writeEnviron, type Environ } from './environ.js';
import { ErrorCode, ProtocolError, type ErrorCodeName } from './errors.js';
import { writeHeaderPairs, type HeaderPair } from './header-pairs.js';
import { MsgpackWriter } from './msgpack-writer.js';
import { writeResponseHead, type ResponseHead } from './response-head.js';

const SLAB_SIZE = 64 * 1024;
/** DATA payloads at least this long are passed by reference, not copied into the slab. */
const COPY_THRESHOLD = 4096;

/**
 * Encodes frames into a batch that the connection writes in one go (SPEC §4).
 *
 * Small frames are packed back to back into a slab; large DATA payloads are referenced, never
 * copied. `take()` hands over the batch as a few Buffers for one corked write. A slab region, once
 * taken, is never written again (the socket may still hold it), so no copy is needed on take.
 *
 * Every method checks the payload against the peer's max_frame_size and throws a ProtocolError
 * FRAME_SIZE_ERROR if it does not fit (DATA is split instead), or BAD_PAYLOAD if a value cannot be
 * encoded; either way the batch is left as it was, without the failed frame.
 */
export class FrameEncoder {
  /** The peer's advertised max_frame_size (SPEC §5.2); 65536 until its HELLO arrives. */
  maxFrameSize: number = Limits.DEFAULT_MAX_FRAME_SIZE;

  #writer: MsgpackWriter;
  #segmentStart = 0;
  #frameStart = 0;
  #segments: Buffer[] = [];
  #pendingBytes = 0;

  constructor() {
    this.#writer = new MsgpackWriter(Buffer.allocUnsafeSlow(SLAB_SIZE), (writer, needed) =>
      this.#grow(writer, needed),
    );
  }

  /** Bytes encoded and not yet taken. */
  get pendingBytes(): number {
    return this.#pendingBytes + (this.#writer.pos - this.#segmentStart);
  }

  get hasPending(): boolean {
    return this.#segments.length > 0 || this.#writer.pos > this.#segmentStart;
  }

  /** Hands over everything encoded so far, in order, and starts a new batch. */
  take(): Buffer[] {
    this.#closeSegment();
    const segments = this.#segments;
    this.#segments = [];
    this.#pendingBytes = 0;
    if (this.#writer.buf.length - this.#writer.pos < 1024) this.#newSlab(SLAB_SIZE);
    return segments;
  }

  /** Like take(), joined into one Buffer (tests, tools). */
  takeBuffer(): Buffer {
    const segments = this.take();
    return segments.length === 1 ? segments[0] : Buffer.concat(segments);
  }

  preface(): void {
    this.#writer.raw(PREFACE);
  }

  hello(hello: Hello): void {
    this.#control(FrameType.HELLO, 0, encodeHello(hello));
  }

  auth(auth: Auth): void {
    this.#control(FrameType.AUTH, 0, encodeAuth(auth));
  }

  request(streamId: number, environ: Environ, endStream: boolean): void {
    this.#begin(FrameType.REQUEST, endStream ? Flags.END_STREAM : 0, streamId);
    try {
      writeEnviron(this.#writer, environ);
    } catch (error) {
      this.#abandon();
      throw error;
    }
    this.#end();
  }

  response(streamId: number, head: ResponseHead, endStream: boolean): void {
    this.#begin(FrameType.RESPONSE, endStream ? Flags.END_STREAM : 0, streamId);
    try {
      writeResponseHead(this.#writer, head);
    } catch (error) {
      this.#abandon();
      throw error;
    }
    this.#end();
  }

  trailers(streamId: number, trailers: readonly HeaderPair[]): void {
    this.#begin(FrameType.TRAILERS, Flags.END_STREAM, streamId);
    try {
      writeHeaderPairs(this.#writer, trailers, 'trailers');
    } catch (error) {
      this.#abandon();
      throw error;
    }
    this.#end();
  }

  /** DATA, split into frames of at most maxFrameSize; END_STREAM goes on the last one. */
  data(streamId: number, bytes: Uint8Array, endStream: boolean): void {
    const max = this.maxFrameSize;
    let offset = 0;
    const total = bytes.length;
    do {
      const size = Math.min(max, total - offset);
      const last = offset + size >= total;
      this.#dataFrame(streamId, bytes, offset, size, last && endStream);
      offset += size;
    } while (offset < total);
  }

  #dataFrame(streamId: number, bytes: Uint8Array, offset: number, size: number, endStream: boolean): void {
    const writer = this.#writer;
    this.#header(FrameType.DATA, endStream ? Flags.END_STREAM : 0, streamId, size);
    if (size < COPY_THRESHOLD) {
      writer.ensure(size);
      writer.buf.set(
        offset === 0 && size === bytes.length ? bytes : bytes.subarray(offset, offset + size),
        writer.pos,
      );
      writer.pos += size;
      return;
    }
    this.#closeSegment();
    // The caller's Buffer itself when the frame carries all of it: a view costs ~45 ns.
    const view =
      bytes instanceof Buffer
        ? offset === 0 && size === bytes.length
          ? bytes
          : bytes.subarray(offset, offset + size)
        : Buffer.from(bytes.buffer, bytes.byteOffset + offset, size);
    this.#segments.push(view);
    this.#pendingBytes += size;
  }

  window(streamId: number, increment: number): void {
    if (!Number.isInteger(increment) || increment < 1 || increment > Limits.MAX_WINDOW) {
      throw new ProtocolError(
        'FLOW_CONTROL_ERROR',
        `cannot send WINDOW increment ${increment}: it must be in 1…${Limits.MAX_WINDOW}`,
      );
    }
    this.#header(FrameType.WINDOW, 0, streamId, 4);
    const writer = this.#writer;
    writer.buf.writeUInt32BE(increment, writer.pos);
    writer.pos += 4;
  }

  reset(streamId: number, code: ErrorCodeName | number, message = ''): void {
    this.#control(
      FrameType.RESET,
      streamId,
      encodeReset({ code: typeof code === 'number' ? code : ErrorCode[code], message }),
    );
  }

  goaway(lastStream: number, code: ErrorCodeName | number, message = ''): void {
    this.#control(
      FrameType.GOAWAY,
      0,
      encodeGoaway({ lastStream, code: typeof code === 'number' ? code : ErrorCode[code], message }),
    );
  }

  ping(opaque: Uint8Array): void {
    this.#fixed8(FrameType.PING, opaque);
  }

  pong(opaque: Uint8Array): void {
    this.#fixed8(FrameType.PONG, opaque);
  }

  health(health: Health): void {
    this.#control(FrameType.HEALTH, 0, encodeHealth(health));
  }

  /** SPEC §6.4: the proxy asks for a stream the worker has not started yet (empty payload). */
  recall(streamId: number): void {
    this.#header(FrameType.RECALL, 0, streamId, 0);
  }

  #fixed8(type: number, opaque: Uint8Array): void {
    if (opaque.length !== Limits.PING_PAYLOAD_SIZE) {
      throw new ProtocolError(
        'FRAME_SIZE_ERROR',
        `${FRAME_TYPE_NAMES[type]} payload must be ${Limits.PING_PAYLOAD_SIZE} bytes, got ${opaque.length}`,
      );
    }
    this.#header(type, 0, 0, 8);
    this.#writer.raw(opaque);
  }

  #control(type: number, streamId: number, payload: Buffer): void {
    if (payload.length > this.maxFrameSize) this.#tooLarge(type, payload.length);
    this.#header(type, 0, streamId, payload.length);
    this.#writer.raw(payload);
  }

  #header(type: number, flags: number, streamId: number, length: number): void {
    const writer = this.#writer;
    writer.ensure(FRAME_HEADER_SIZE);
    const buf = writer.buf;
    const pos = writer.pos;
    this.#frameStart = pos;
    buf[pos] = length >>> 24;
    buf[pos + 1] = length >>> 16;
    buf[pos + 2] = length >>> 8;
    buf[pos + 3] = length;
    buf[pos + 4] = type;
    buf[pos + 5] = flags;
    buf[pos + 6] = streamId >>> 24;
    buf[pos + 7] = streamId >>> 16;
    buf[pos + 8] = streamId >>> 8;
    buf[pos + 9] = streamId;
    writer.pos = pos + FRAME_HEADER_SIZE;
  }

  #begin(type: number, flags: number, streamId: number): void {
    const writer = this.#writer;
    writer.ensure(FRAME_HEADER_SIZE);
    this.#frameStart = writer.pos;
    const buf = writer.buf;
    const pos = writer.pos;
    buf[pos + 4] = type;
    buf[pos + 5] = flags;
    buf.writeUInt32BE(streamId, pos + 6);
    writer.pos = pos + FRAME_HEADER_SIZE;
  }

  #end(): void {
    const writer = this.#writer;
    const length = writer.pos - this.#frameStart - FRAME_HEADER_SIZE;
    if (length > this.maxFrameSize) {
      const type = writer.buf[this.#frameStart + 4];
      writer.pos = this.#frameStart;
      this.#tooLarge(type, length);
    }
    writer.buf.writeUInt32BE(length, this.#frameStart);
  }

  /** A payload that cannot be encoded (BAD_PAYLOAD): drop the partial frame, keep the batch. */
  #abandon(): void {
    this.#writer.pos = this.#frameStart;
  }

  #tooLarge(type: number, length: number): never {
    throw new ProtocolError(
      'FRAME_SIZE_ERROR',
      `cannot send ${FRAME_TYPE_NAMES[type]}: payload of ${length} bytes exceeds the peer's max_frame_size of ${this.maxFrameSize}`,
    );
  }

  #closeSegment(): void {
    const writer = this.#writer;
    if (writer.pos > this.#segmentStart) {
      this.#segments.push(writer.buf.subarray(this.#segmentStart, writer.pos));
      this.#pendingBytes += writer.pos - this.#segmentStart;
      this.#segmentStart = writer.pos;
    }
  }

  /**
   * The slab is full mid-frame (in a msgpack payload being written): close what precedes the frame
   * as a segment and carry the frame's bytes so far over to a new, big enough slab.
   */
  #grow(writer: MsgpackWriter, needed: number): void {
    const frameStart = this.#frameStart;
    const carried = writer.pos - frameStart;
    const old = writer.buf;
    if (frameStart > this.#segmentStart) {
      this.#segments.push(old.subarray(this.#segmentStart, frameStart));
      this.#pendingBytes += frameStart - this.#segmentStart;
    }
    const slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, (carried + needed) * 2));
    old.copy(slab, 0, frameStart, writer.pos);
    writer.buf = slab;
    writer.pos = carried;
    this.#frameStart -= frameStart;
    this.#segmentStart = 0;
  }

  #newSlab(size: number): void {
    this.#writer.buf = Buffer.allocUnsafeSlow(size);
    this.#writer.pos = 0;
    this.#segmentStart = 0;
    this.#frameStart = 0;
  }
}
