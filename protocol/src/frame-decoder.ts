import {
  FRAME_HEADER_SIZE,
  FRAME_TYPE_NAMES,
  Flags,
  FrameType,
  Limits,
  PREFACE,
  PREFACE_SIZE,
} from './constants.js';
import { ProtocolError } from './errors.js';

/**
 * Receives decoded frames. DATA payloads are delivered piece by piece as bytes arrive (no copy,
 * no buffering); every other frame is delivered whole.
 */
export interface FrameHandler {
  /** A complete non-DATA frame. `payload` may be a view into the caller's chunk: copy what you keep. */
  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void;
  /**
   * A piece of a DATA frame's payload. `endOfFrame` is true on the frame's last piece (and on the
   * single empty piece of an empty DATA frame); `flags` are the frame's flags on every piece.
   */
  onData(streamId: number, flags: number, chunk: Buffer, endOfFrame: boolean): void;
}

export interface FrameDecoderOptions {
  /** Require the 8-byte preface first (SPEC §3). Default true. */
  expectPreface?: boolean;
  /** Largest payload accepted (SPEC §4.1); until this side's HELLO is sent, 65536. */
  maxFrameSize?: number;
}

const STATE_PREFACE = 0;
const STATE_HEADER = 1;
const STATE_PAYLOAD = 2;
const STATE_DATA = 3;
const STATE_STOPPED = 4;

const EMPTY = Buffer.alloc(0);

/** Bits allowed in `flags`, per frame type (SPEC §4.3). */
const ALLOWED_FLAGS: readonly number[] = (() => {
  const allowed = new Array<number>(256).fill(0);
  allowed[FrameType.REQUEST] = Flags.END_STREAM;
  allowed[FrameType.RESPONSE] = Flags.END_STREAM;
  allowed[FrameType.DATA] = Flags.END_STREAM;
  allowed[FrameType.TRAILERS] = Flags.END_STREAM;
  return allowed;
})();

const CONNECTION_FRAME: readonly boolean[] = (() => {
  const connection = new Array<boolean>(256).fill(false);
  for (const type of [
    FrameType.HELLO,
    FrameType.AUTH,
    FrameType.GOAWAY,
    FrameType.PING,
    FrameType.PONG,
    FrameType.HEALTH,
  ]) {
    connection[type] = true;
  }
  return connection;
})();

/** Shows bytes the way an operator can read them: printable ASCII as is, the rest as \xNN. */
export function quoteBytes(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c) out += String.fromCharCode(byte);
    else if (byte === 0x0d) out += '\\r';
    else if (byte === 0x0a) out += '\\n';
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${out}"`;
}

function typeName(type: number): string {
  return FRAME_TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(2, '0')}`;
}

/**
 * Checks a frame header, in the order SPEC §4.2 fixes: length, type, flags, stream id, fixed size.
 * Throws the ProtocolError the SPEC assigns to the first failing check.
 */
export function validateFrameHeader(
  type: number,
  flags: number,
  streamId: number,
  length: number,
  maxFrameSize: number,
): void {
  if (length > maxFrameSize) {
    throw new ProtocolError(
      'FRAME_SIZE_ERROR',
      `${typeName(type)} frame of ${length} bytes exceeds the limit of ${maxFrameSize}`,
    );
  }
  if (type === 0 || type > FrameType.RECALL) {
    throw new ProtocolError(
      'UNKNOWN_FRAME_TYPE',
      `unknown frame type 0x${type.toString(16).padStart(2, '0')}`,
    );
  }
  if ((flags & ~ALLOWED_FLAGS[type]) !== 0) {
    throw new ProtocolError(
      'PROTOCOL_ERROR',
      `${typeName(type)} frame with reserved flags 0x${flags.toString(16).padStart(2, '0')}`,
    );
  }
  if (type === FrameType.TRAILERS && (flags & Flags.END_STREAM) === 0) {
    throw new ProtocolError('PROTOCOL_ERROR', 'TRAILERS frame without END_STREAM');
  }
  if (CONNECTION_FRAME[type]) {
    if (streamId !== 0)
      throw new ProtocolError(
        'PROTOCOL_ERROR',
        `${typeName(type)} frame on stream ${streamId}; it belongs on stream 0`,
      );
  } else if (streamId === 0) {
    throw new ProtocolError('PROTOCOL_ERROR', `${typeName(type)} frame on stream 0; it needs a stream id`);
  }
  if (type === FrameType.WINDOW && length !== Limits.WINDOW_PAYLOAD_SIZE) {
    throw new ProtocolError(
      'FRAME_SIZE_ERROR',
      `WINDOW frame of ${length} bytes; it must be ${Limits.WINDOW_PAYLOAD_SIZE}`,
    );
  }
  if ((type === FrameType.PING || type === FrameType.PONG) && length !== Limits.PING_PAYLOAD_SIZE) {
    throw new ProtocolError(
      'FRAME_SIZE_ERROR',
      `${typeName(type)} frame of ${length} bytes; it must be ${Limits.PING_PAYLOAD_SIZE}`,
    );
  }
  if (type === FrameType.RECALL && length !== 0) {
    throw new ProtocolError('FRAME_SIZE_ERROR', `RECALL frame of ${length} bytes; it must be empty`);
  }
}

/**
 * Incremental frame decoder: push bytes in chunks of any size, get frames (SPEC §3, §4).
 *
 * Bounds first: a frame's length is checked against maxFrameSize before a byte of its payload is
 * buffered, so hostile input never makes it allocate more than one maximum-size control frame.
 * DATA payloads are never buffered at all. Any violation throws a ProtocolError and the decoder
 * stops; so does `stop()`, which a handler calls when it closes the connection mid-chunk.
 */
export class FrameDecoder {
  #handler: FrameHandler;
  #maxFrameSize: number;
  #state: number;
  #prefaceSeen = Buffer.alloc(PREFACE_SIZE);
  #prefaceFill = 0;
  #header = Buffer.alloc(FRAME_HEADER_SIZE);
  #headerFill = 0;
  #type = 0;
  #flags = 0;
  #streamId = 0;
  #remaining = 0;
  #payload: Buffer = EMPTY;
  #payloadFill = 0;

  constructor(handler: FrameHandler, options: FrameDecoderOptions = {}) {
    this.#handler = handler;
    this.#maxFrameSize = options.maxFrameSize ?? Limits.DEFAULT_MAX_FRAME_SIZE;
    this.#state = options.expectPreface === false ? STATE_HEADER : STATE_PREFACE;
  }

  get maxFrameSize(): number {
    return this.#maxFrameSize;
  }

  /** Applies the limit this side advertised in its HELLO. */
  set maxFrameSize(size: number) {
    this.#maxFrameSize = size;
  }

  get stopped(): boolean {
    return this.#state === STATE_STOPPED;
  }

  /** True between frames: nothing partial is buffered. */
  get idle(): boolean {
    return this.#state === STATE_HEADER && this.#headerFill === 0;
  }

  stop(): void {
    this.#state = STATE_STOPPED;
    this.#payload = EMPTY;
  }

  push(chunk: Buffer): void {
    try {
      this.#push(chunk);
    } catch (error) {
      this.stop();
      throw error;
    }
  }

  #push(chunk: Buffer): void {
    const length = chunk.length;
    let offset = 0;
    while (offset < length) {
      switch (this.#state) {
        case STATE_HEADER: {
          if (this.#headerFill === 0 && length - offset >= FRAME_HEADER_SIZE) {
            // Byte arithmetic rather than readUInt32BE: its argument validation is a tenth of a
            // DATA frame's decode time.
            this.#beginFrame(
              ((chunk[offset] << 24) |
                (chunk[offset + 1] << 16) |
                (chunk[offset + 2] << 8) |
                chunk[offset + 3]) >>>
                0,
              chunk[offset + 4],
              chunk[offset + 5],
              ((chunk[offset + 6] << 24) |
                (chunk[offset + 7] << 16) |
                (chunk[offset + 8] << 8) |
                chunk[offset + 9]) >>>
                0,
            );
            offset += FRAME_HEADER_SIZE;
          } else {
            const take = Math.min(FRAME_HEADER_SIZE - this.#headerFill, length - offset);
            chunk.copy(this.#header, this.#headerFill, offset, offset + take);
            this.#headerFill += take;
            offset += take;
            if (this.#headerFill < FRAME_HEADER_SIZE) return;
            this.#headerFill = 0;
            const header = this.#header;
            this.#beginFrame(header.readUInt32BE(0), header[4], header[5], header.readUInt32BE(6));
          }
          break;
        }
        case STATE_DATA: {
          const available = length - offset;
          if (available >= this.#remaining) {
            const end = offset + this.#remaining;
            this.#remaining = 0;
            this.#state = STATE_HEADER;
            this.#handler.onData(
              this.#streamId,
              this.#flags,
              offset === 0 && end === length ? chunk : chunk.subarray(offset, end),
              true,
            );
            offset = end;
          } else {
            this.#remaining -= available;
            this.#handler.onData(
              this.#streamId,
              this.#flags,
              offset === 0 ? chunk : chunk.subarray(offset),
              false,
            );
            return;
          }
          break;
        }
        case STATE_PAYLOAD: {
          const available = length - offset;
          if (this.#payloadFill === 0 && available >= this.#remaining) {
            // Whole payload inside this chunk: hand out a view, no copy.
            const end = offset + this.#remaining;
            this.#state = STATE_HEADER;
            this.#handler.onFrame(this.#type, this.#flags, this.#streamId, chunk.subarray(offset, end));
            offset = end;
            break;
          }
          if (this.#payloadFill === 0) this.#payload = Buffer.allocUnsafe(this.#remaining);
          const take = Math.min(this.#remaining - this.#payloadFill, available);
          chunk.copy(this.#payload, this.#payloadFill, offset, offset + take);
          this.#payloadFill += take;
          offset += take;
          if (this.#payloadFill < this.#remaining) return;
          const payload = this.#payload;
          this.#payload = EMPTY;
          this.#payloadFill = 0;
          this.#state = STATE_HEADER;
          this.#handler.onFrame(this.#type, this.#flags, this.#streamId, payload);
          break;
        }
        case STATE_PREFACE: {
          const take = Math.min(PREFACE_SIZE - this.#prefaceFill, length - offset);
          chunk.copy(this.#prefaceSeen, this.#prefaceFill, offset, offset + take);
          const seenEnd = this.#prefaceFill + take;
          for (let i = this.#prefaceFill; i < seenEnd; i++) {
            if (this.#prefaceSeen[i] !== PREFACE[i]) {
              const shown = Buffer.concat([
                this.#prefaceSeen.subarray(0, seenEnd),
                chunk.subarray(offset + take, offset + take + 24),
              ]);
              throw new ProtocolError(
                'BAD_PREFACE',
                `peer did not start with the gatewire preface "GATEWIRE"; first bytes were ${quoteBytes(shown)}`,
              );
            }
          }
          this.#prefaceFill = seenEnd;
          offset += take;
          if (this.#prefaceFill === PREFACE_SIZE) this.#state = STATE_HEADER;
          break;
        }
        default:
          return; // stopped
      }
    }
  }

  #beginFrame(length: number, type: number, flags: number, streamId: number): void {
    validateFrameHeader(type, flags, streamId, length, this.#maxFrameSize);
    this.#type = type;
    this.#flags = flags;
    this.#streamId = streamId;
    this.#remaining = length;
    if (type === FrameType.DATA) {
      if (length === 0) {
        this.#handler.onData(streamId, flags, EMPTY, true);
        return;
      }
      this.#state = STATE_DATA;
      return;
    }
    if (length === 0) {
      this.#handler.onFrame(type, flags, streamId, EMPTY);
      return;
    }
    this.#state = STATE_PAYLOAD;
  }
}
