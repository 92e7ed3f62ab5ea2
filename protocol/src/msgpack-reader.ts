import { Limits } from './constants.js';
import { ProtocolError } from './errors.js';

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

/**
 * Node's direct binding behind `buf.toString('latin1', …)`, without toString's argument handling
 * (a tenth of a small payload's decode time); `toString` where it is missing.
 */
interface DirectSlice {
  latin1Slice?(start: number, end: number): string;
}
const latin1Slice: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as DirectSlice).latin1Slice === 'function'
    ? (buf, start, end) => (buf as DirectSlice).latin1Slice!(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end);

/** MessagePack families the reader distinguishes when it reports a type mismatch. */
function familyOf(byte: number): string {
  if (byte <= 0x7f || byte === 0xcc || byte === 0xcd || byte === 0xce || byte === 0xcf) return 'uint';
  if (byte >= 0xe0 || (byte >= 0xd0 && byte <= 0xd3)) return 'int';
  if (byte <= 0x8f || byte === 0xde || byte === 0xdf) return 'map';
  if (byte <= 0x9f || byte === 0xdc || byte === 0xdd) return 'array';
  if (byte <= 0xbf || (byte >= 0xd9 && byte <= 0xdb)) return 'str';
  if (byte === 0xc0) return 'nil';
  if (byte === 0xc2 || byte === 0xc3) return 'bool';
  if (byte >= 0xc4 && byte <= 0xc6) return 'bin';
  if (byte === 0xca || byte === 0xcb) return 'float';
  if (byte === 0xc1) return 'the never-used byte 0xc1';
  return 'an extension type';
}

/**
 * A strict, bounded MessagePack reader over one frame payload (SPEC §1, §15).
 *
 * Bounds come first: every length is checked against the bytes that remain before anything is
 * allocated, nesting is capped at 16, extension types are refused. Errors are ProtocolError
 * BAD_PAYLOAD naming the field (`what`) being read.
 *
 * str and bin values are returned as JS strings: bin as a ByteString (one code point per byte,
 * ISO-8859-1), str as decoded UTF-8. Both are cut from one latin1 view of the payload, made once,
 * because one native call plus `substring` is far cheaper than one native call per field.
 */
export class MsgpackReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  #latin1: string | undefined;
  #base: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.#base = start;
    this.#latin1 = undefined;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(what: string, problem: string): never {
    throw new ProtocolError('BAD_PAYLOAD', `${what}: ${problem}`);
  }

  #need(n: number, what: string): void {
    if (this.end - this.pos < n) this.fail(what, 'payload ends in the middle of a value');
  }

  #byte(what: string): number {
    if (this.pos >= this.end) this.fail(what, 'payload ends where a value was expected');
    return this.buf[this.pos++];
  }

  #mismatch(what: string, expected: string, byte: number): never {
    this.fail(what, `expected ${expected}, got ${familyOf(byte)}`);
  }

  #view(start: number, end: number): string {
    if (this.#latin1 === undefined) this.#latin1 = latin1Slice(this.buf, this.#base, this.end);
    return this.#latin1.substring(start - this.#base, end - this.#base);
  }

  peekByte(): number {
    if (this.pos >= this.end) this.fail('payload', 'payload ends where a value was expected');
    return this.buf[this.pos];
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a map header and returns its entry count, bounded by the bytes left (2 per entry at least). */
  readMapHeader(what: string): number {
    const byte = this.#byte(what);
    let count: number;
    if (byte >= 0x80 && byte <= 0x8f) count = byte & 0x0f;
    else if (byte === 0xde) count = this.#u16(what);
    else if (byte === 0xdf) count = this.#u32(what);
    else return this.#mismatch(what, 'map', byte);
    if (count * 2 > this.end - this.pos)
      this.fail(what, `map claims ${count} entries but the payload is too short`);
    return count;
  }

  /** Reads an array header and returns its length, bounded by the bytes left (1 per element at least). */
  readArrayHeader(what: string): number {
    const byte = this.#byte(what);
    let count: number;
    if (byte >= 0x90 && byte <= 0x9f) count = byte & 0x0f;
    else if (byte === 0xdc) count = this.#u16(what);
    else if (byte === 0xdd) count = this.#u32(what);
    else return this.#mismatch(what, 'array', byte);
    if (count > this.end - this.pos)
      this.fail(what, `array claims ${count} elements but the payload is too short`);
    return count;
  }

  #u16(what: string): number {
    this.#need(2, what);
    const value = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return value;
  }

  #u32(what: string): number {
    this.#need(4, what);
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  #strLength(byte: number, what: string): number {
    if (byte >= 0xa0 && byte <= 0xbf) return byte & 0x1f;
    if (byte === 0xd9) return this.#byte(what);
    if (byte === 0xda) return this.#u16(what);
    if (byte === 0xdb) return this.#u32(what);
    return this.#mismatch(what, 'str', byte);
  }

  /** Reads a str (UTF-8, validated). */
  readStr(what: string): string {
    const length = this.#strLength(this.#byte(what), what);
    this.#need(length, what);
    const start = this.pos;
    const end = start + length;
    this.pos = end;
    const buf = this.buf;
    for (let i = start; i < end; i++) {
      if (buf[i] >= 0x80) {
        try {
          return utf8Fatal.decode(buf.subarray(start, end));
        } catch {
          this.fail(what, 'str is not valid UTF-8');
        }
      }
    }
    return this.#view(start, end);
  }

  /** Reads a bin and returns it as a ByteString (each byte one code point U+0000–U+00FF). */
  readBin(what: string): string {
    const byte = this.#byte(what);
    let length: number;
    if (byte === 0xc4) length = this.#byte(what);
    else if (byte === 0xc5) length = this.#u16(what);
    else if (byte === 0xc6) length = this.#u32(what);
    else return this.#mismatch(what, 'bin', byte);
    this.#need(length, what);
    const start = this.pos;
    this.pos = start + length;
    return this.#view(start, this.pos);
  }

  /** Reads a bin and returns a Buffer view of it (no copy). */
  readBinBytes(what: string): Buffer {
    const byte = this.#byte(what);
    let length: number;
    if (byte === 0xc4) length = this.#byte(what);
    else if (byte === 0xc5) length = this.#u16(what);
    else if (byte === 0xc6) length = this.#u32(what);
    else return this.#mismatch(what, 'bin', byte);
    this.#need(length, what);
    const start = this.pos;
    this.pos = start + length;
    return this.buf.subarray(start, this.pos);
  }

  /** Reads a non-negative integer in any integer representation, up to 2^53 - 1. */
  readUint(what: string): number {
    const byte = this.#byte(what);
    if (byte <= 0x7f) return byte;
    const buf = this.buf;
    let value: number;
    switch (byte) {
      case 0xcc:
        return this.#byte(what);
      case 0xcd:
        return this.#u16(what);
      case 0xce:
        return this.#u32(what);
      case 0xcf: {
        this.#need(8, what);
        const big = buf.readBigUInt64BE(this.pos);
        this.pos += 8;
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(what, 'integer too large');
        return Number(big);
      }
      case 0xd0:
        this.#need(1, what);
        value = buf.readInt8(this.pos);
        this.pos += 1;
        break;
      case 0xd1:
        this.#need(2, what);
        value = buf.readInt16BE(this.pos);
        this.pos += 2;
        break;
      case 0xd2:
        this.#need(4, what);
        value = buf.readInt32BE(this.pos);
        this.pos += 4;
        break;
      case 0xd3: {
        this.#need(8, what);
        const big = buf.readBigInt64BE(this.pos);
        this.pos += 8;
        if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < 0n) this.fail(what, 'integer out of range');
        return Number(big);
      }
      default:
        if (byte >= 0xe0) this.fail(what, 'expected a non-negative integer, got a negative one');
        return this.#mismatch(what, 'uint', byte);
    }
    if (value < 0) this.fail(what, 'expected a non-negative integer, got a negative one');
    return value;
  }

  /** Reads a number (any integer or float). */
  readNumber(what: string): number {
    const byte = this.peekByte();
    if (byte === 0xca) {
      this.pos++;
      this.#need(4, what);
      const value = this.buf.readFloatBE(this.pos);
      this.pos += 4;
      return value;
    }
    if (byte === 0xcb) {
      this.pos++;
      this.#need(8, what);
      const value = this.buf.readDoubleBE(this.pos);
      this.pos += 8;
      return value;
    }
    if (byte >= 0xe0) {
      this.pos++;
      return byte - 0x100;
    }
    return this.readUint(what);
  }

  readBool(what: string): boolean {
    const byte = this.#byte(what);
    if (byte === 0xc2) return false;
    if (byte === 0xc3) return true;
    return this.#mismatch(what, 'bool', byte);
  }

  /** True (and consumes it) if the next value is nil. */
  readNilIf(): boolean {
    if (this.pos < this.end && this.buf[this.pos] === 0xc0) {
      this.pos++;
      return true;
    }
    return false;
  }

  /**
   * Reads a map key (a str) as its raw byte range, so that callers can dispatch on bytes without
   * creating a string. Returns the key length; the key bytes are buf[pos - length, pos).
   */
  readKeyBytes(what: string): number {
    const length = this.#strLength(this.#byte(what), what);
    this.#need(length, what);
    this.pos += length;
    return length;
  }

  keyString(length: number): string {
    return this.#view(this.pos - length, this.pos);
  }

  /**
   * Skips one value of any type, with nesting and size bounds; refuses extension types.
   * `depth` is the nesting level a container at this position has: 1 for the payload's top-level
   * value, 2 for a value inside it. SPEC §15 bounds the levels of arrays and maps at 16; scalars
   * do not count, so [[…16 arrays…[1]]] is as deep as [[…16 arrays…[]]].
   */
  skip(what: string, depth = 1): void {
    const byte = this.#byte(what);
    if (byte <= 0x7f || byte >= 0xe0 || byte === 0xc0 || byte === 0xc2 || byte === 0xc3) return;
    if (byte >= 0xa0 && byte <= 0xbf) return this.#advance(byte & 0x1f, what);
    if (byte >= 0x80 && byte <= 0x8f) return this.#skipEntries((byte & 0x0f) * 2, what, depth);
    if (byte >= 0x90 && byte <= 0x9f) return this.#skipEntries(byte & 0x0f, what, depth);
    switch (byte) {
      case 0xc4:
      case 0xd9:
        return this.#advance(this.#byte(what), what);
      case 0xc5:
      case 0xda:
        return this.#advance(this.#u16(what), what);
      case 0xc6:
      case 0xdb:
        return this.#advance(this.#u32(what), what);
      case 0xcc:
      case 0xd0:
        return this.#advance(1, what);
      case 0xcd:
      case 0xd1:
        return this.#advance(2, what);
      case 0xca:
      case 0xce:
      case 0xd2:
        return this.#advance(4, what);
      case 0xcb:
      case 0xcf:
      case 0xd3:
        return this.#advance(8, what);
      case 0xdc:
        return this.#skipEntries(this.#u16(what), what, depth);
      case 0xdd:
        return this.#skipEntries(this.#u32(what), what, depth);
      case 0xde:
        return this.#skipEntries(this.#u16(what) * 2, what, depth);
      case 0xdf:
        return this.#skipEntries(this.#u32(what) * 2, what, depth);
      default:
        this.fail(what, `${familyOf(byte)} (0x${byte.toString(16)}) is not allowed`);
    }
  }

  #advance(n: number, what: string): void {
    this.#need(n, what);
    this.pos += n;
  }

  #skipEntries(count: number, what: string, depth: number): void {
    if (depth > Limits.MAX_NESTING_DEPTH) this.fail(what, `nesting deeper than ${Limits.MAX_NESTING_DEPTH}`);
    if (count > this.end - this.pos)
      this.fail(what, `container claims ${count} values but the payload is too short`);
    for (let i = 0; i < count; i++) this.skip(what, depth + 1);
  }
}
