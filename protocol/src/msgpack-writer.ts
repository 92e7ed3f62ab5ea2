import { ProtocolError } from './errors.js';

// eslint-disable-next-line no-control-regex -- matching by code point range is the point
const NOT_LATIN1 = /[^\x00-\xff]/;

/**
 * Node's Buffer has had direct string-write bindings (`latin1Write`, `utf8Write`) for years; they
 * skip `Buffer#write`'s argument normalisation and encoding lookup, which costs about as much as
 * the copy itself for header-sized strings. Used when present, `write` otherwise.
 */
interface DirectWrites {
  latin1Write?(value: string, offset: number, length: number): number;
  utf8Write?(value: string, offset: number, length: number): number;
}
const DIRECT = Buffer.prototype as DirectWrites;
const latin1Write: (buf: Buffer, value: string, offset: number, length: number) => number =
  typeof DIRECT.latin1Write === 'function'
    ? (buf, value, offset, length) => (buf as DirectWrites).latin1Write!(value, offset, length)
    : (buf, value, offset, length) => buf.write(value, offset, length, 'latin1');
const utf8Write: (buf: Buffer, value: string, offset: number, length: number) => number =
  typeof DIRECT.utf8Write === 'function'
    ? (buf, value, offset, length) => (buf as DirectWrites).utf8Write!(value, offset, length)
    : (buf, value, offset, length) => buf.write(value, offset, length, 'utf8');

/**
 * Writes standard MessagePack, smallest representation first (the canonical form of SPEC §7.2),
 * into a caller-provided region of a Buffer. Used by the frame encoder for the hot-path payloads
 * (environ, response head, trailers).
 *
 * The writer never grows its buffer itself: callers reserve room with `ensure`, which asks the
 * owner (the frame encoder) for a bigger slab when needed.
 */
export class MsgpackWriter {
  buf: Buffer;
  pos: number;
  #grow: (writer: MsgpackWriter, needed: number) => void;

  constructor(buf: Buffer, grow: (writer: MsgpackWriter, needed: number) => void) {
    this.buf = buf;
    this.pos = 0;
    this.#grow = grow;
  }

  ensure(bytes: number): void {
    if (this.pos + bytes > this.buf.length) this.#grow(this, bytes);
  }

  mapHeader(count: number): void {
    this.ensure(5);
    const buf = this.buf;
    if (count < 16) buf[this.pos++] = 0x80 | count;
    else if (count < 0x10000) {
      buf[this.pos] = 0xde;
      buf[this.pos + 1] = count >> 8;
      buf[this.pos + 2] = count & 0xff;
      this.pos += 3;
    } else {
      buf[this.pos] = 0xdf;
      buf.writeUInt32BE(count, this.pos + 1);
      this.pos += 5;
    }
  }

  arrayHeader(count: number): void {
    this.ensure(5);
    const buf = this.buf;
    if (count < 16) buf[this.pos++] = 0x90 | count;
    else if (count < 0x10000) {
      buf[this.pos] = 0xdc;
      buf[this.pos + 1] = count >> 8;
      buf[this.pos + 2] = count & 0xff;
      this.pos += 3;
    } else {
      buf[this.pos] = 0xdd;
      buf.writeUInt32BE(count, this.pos + 1);
      this.pos += 5;
    }
  }

  nil(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0xc0;
  }

  bool(value: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = value ? 0xc3 : 0xc2;
  }

  /** A non-negative safe integer, in its smallest uint form. */
  uint(value: number, what: string): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ProtocolError(
        'BAD_PAYLOAD',
        `cannot encode ${what}: ${String(value)} is not a non-negative integer`,
      );
    }
    this.ensure(9);
    const buf = this.buf;
    if (value < 0x80) buf[this.pos++] = value;
    else if (value < 0x100) {
      buf[this.pos] = 0xcc;
      buf[this.pos + 1] = value;
      this.pos += 2;
    } else if (value < 0x10000) {
      buf[this.pos] = 0xcd;
      buf[this.pos + 1] = value >> 8;
      buf[this.pos + 2] = value & 0xff;
      this.pos += 3;
    } else if (value <= 0xffffffff) {
      buf[this.pos] = 0xce;
      buf.writeUInt32BE(value, this.pos + 1);
      this.pos += 5;
    } else {
      buf[this.pos] = 0xcf;
      buf.writeBigUInt64BE(BigInt(value), this.pos + 1);
      this.pos += 9;
    }
  }

  /** Pre-encoded bytes (a constant map key, say). */
  raw(bytes: Uint8Array): void {
    const length = bytes.length;
    this.ensure(length);
    const buf = this.buf;
    const pos = this.pos;
    // A map key is a few bytes: a JS loop beats the ~30 ns of a TypedArray.set call.
    if (length <= 16) for (let i = 0; i < length; i++) buf[pos + i] = bytes[i];
    else buf.set(bytes, pos);
    this.pos = pos + length;
  }

  /** A str: the value's UTF-8 bytes. */
  str(value: string): void {
    const length = value.length;
    if (length < 32) {
      // Optimistically ASCII (method, addresses, ids): copy while checking, keep it if it was.
      this.ensure(1 + length);
      const buf = this.buf;
      const start = this.pos + 1;
      let seen = 0;
      for (let i = 0; i < length; i++) {
        const code = value.charCodeAt(i);
        seen |= code;
        buf[start + i] = code;
      }
      if (seen < 0x80) {
        buf[start - 1] = 0xa0 | length;
        this.pos = start + length;
        return;
      }
    }
    const byteLength = Buffer.byteLength(value, 'utf8');
    this.#strHeader(byteLength);
    this.ensure(byteLength);
    this.pos += utf8Write(this.buf, value, this.pos, byteLength);
  }

  #strHeader(length: number): void {
    this.ensure(5);
    const buf = this.buf;
    if (length < 32) buf[this.pos++] = 0xa0 | length;
    else if (length < 0x100) {
      buf[this.pos] = 0xd9;
      buf[this.pos + 1] = length;
      this.pos += 2;
    } else if (length < 0x10000) {
      buf[this.pos] = 0xda;
      buf[this.pos + 1] = length >> 8;
      buf[this.pos + 2] = length & 0xff;
      this.pos += 3;
    } else {
      buf[this.pos] = 0xdb;
      buf.writeUInt32BE(length, this.pos + 1);
      this.pos += 5;
    }
  }

  /**
   * A bin from a ByteString: each code point U+0000–U+00FF is one byte. A code point above U+00FF
   * is refused rather than truncated (truncation is how U+010A would become a bare LF).
   */
  bin(value: string, what: string): void {
    const length = value.length;
    this.ensure(5 + length);
    const buf = this.buf;
    let pos = this.pos;
    if (length < 0x100) {
      buf[pos] = 0xc4;
      buf[pos + 1] = length;
      pos += 2;
    } else if (length < 0x10000) {
      buf[pos] = 0xc5;
      buf[pos + 1] = length >> 8;
      buf[pos + 2] = length & 0xff;
      pos += 3;
    } else {
      buf[pos] = 0xc6;
      buf.writeUInt32BE(length, pos + 1);
      pos += 5;
    }
    // Below ~32 characters a JS copy (~1.7 ns a character) beats a native call (~55 ns plus the
    // regex check); the check is folded into one OR so the loop body stays a load and a store.
    if (length < 32) {
      let seen = 0;
      for (let i = 0; i < length; i++) {
        const code = value.charCodeAt(i);
        seen |= code;
        buf[pos + i] = code;
      }
      if (seen > 0xff) this.#notLatin1(value, what);
      this.pos = pos + length;
      return;
    }
    if (NOT_LATIN1.test(value)) this.#notLatin1(value, what);
    this.pos = pos + latin1Write(buf, value, pos, length);
  }

  /** A bin from bytes. */
  binBytes(value: Uint8Array): void {
    const length = value.length;
    this.ensure(5 + length);
    const buf = this.buf;
    if (length < 0x100) {
      buf[this.pos] = 0xc4;
      buf[this.pos + 1] = length;
      this.pos += 2;
    } else if (length < 0x10000) {
      buf[this.pos] = 0xc5;
      buf[this.pos + 1] = length >> 8;
      buf[this.pos + 2] = length & 0xff;
      this.pos += 3;
    } else {
      buf[this.pos] = 0xc6;
      buf.writeUInt32BE(length, this.pos + 1);
      this.pos += 5;
    }
    buf.set(value, this.pos);
    this.pos += length;
  }

  #notLatin1(value: string, what: string): never {
    const index = value.search(NOT_LATIN1);
    const code = value.codePointAt(index) ?? 0;
    throw new ProtocolError(
      'BAD_PAYLOAD',
      `cannot encode ${what}: character U+${code.toString(16).toUpperCase().padStart(4, '0')} at index ${index} is not a byte (header text must be ISO-8859-1)`,
    );
  }
}

/** The msgpack bytes of a str key, precomputed for the hot-path encoders. */
export function encodedKey(key: string): Buffer {
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length >= 32) throw new Error(`key too long for fixstr: ${key}`);
  return Buffer.concat([Buffer.from([0xa0 | bytes.length]), bytes]);
}
