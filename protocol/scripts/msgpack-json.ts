import { isBin, type WireJson, type WireMap } from './wire-json.js';

/**
 * A small, independent MessagePack codec over the vectors' JSON form, written from the msgpack
 * spec rather than from protocol/src, so that the vectors and SPEC examples check the codec against
 * a second implementation:
 *
 * - `encodeCanonical`: the smallest representation of every value (SPEC §7.2's canonical form);
 *   non-integer numbers as float 64.
 * - `decodeJson`: any representation back to JSON (used to show and cross-check payloads).
 * - `mp`: explicit representations (map 16 for 3 entries, str 8 for "GET", uint 32 for 80, ext …)
 *   for the non-canonical and hostile vectors.
 */

type Form = 'fix' | 8 | 16 | 32 | 64;

function u8(...bytes: number[]): Buffer {
  return Buffer.from(bytes);
}

function be(value: number, width: 1 | 2 | 4): Buffer {
  const out = Buffer.alloc(width);
  out.writeUIntBE(value, 0, width);
  return out;
}

function lengthHeader(
  length: number,
  form: Form | undefined,
  fix: { base: number; max: number } | undefined,
  codes: { 8?: number; 16: number; 32: number },
  what: string,
): Buffer {
  const chosen =
    form ??
    (fix && length <= fix.max
      ? 'fix'
      : codes[8] !== undefined && length < 0x100
        ? 8
        : length < 0x10000
          ? 16
          : 32);
  if (chosen === 'fix') {
    if (!fix || length > fix.max) throw new RangeError(`${what} of ${length} has no fix form`);
    return u8(fix.base | length);
  }
  if (chosen === 8) {
    if (codes[8] === undefined || length > 0xff) throw new RangeError(`${what} of ${length} has no 8 form`);
    return u8(codes[8], length);
  }
  if (chosen === 16) return Buffer.concat([u8(codes[16]), be(length, 2)]);
  if (chosen === 32) return Buffer.concat([u8(codes[32]), be(length, 4)]);
  throw new RangeError(`${what} has no ${chosen} form`);
}

/** Explicit MessagePack representations. Each returns the encoded bytes of one value. */
export const mp = {
  nil: (): Buffer => u8(0xc0),
  bool: (value: boolean): Buffer => u8(value ? 0xc3 : 0xc2),
  raw: (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex'),

  uint(value: number, form?: Form): Buffer {
    const chosen =
      form ??
      (value < 0x80 ? 'fix' : value < 0x100 ? 8 : value < 0x10000 ? 16 : value <= 0xffffffff ? 32 : 64);
    switch (chosen) {
      case 'fix':
        if (value > 0x7f) throw new RangeError(`${value} has no positive fixint form`);
        return u8(value);
      case 8:
        return Buffer.concat([u8(0xcc), be(value, 1)]);
      case 16:
        return Buffer.concat([u8(0xcd), be(value, 2)]);
      case 32:
        return Buffer.concat([u8(0xce), be(value, 4)]);
      case 64: {
        const out = Buffer.alloc(9);
        out[0] = 0xcf;
        out.writeBigUInt64BE(BigInt(value), 1);
        return out;
      }
    }
  },

  /** A signed int form (also used for non-negative values written as int, which receivers accept). */
  int(value: number, form: 'fix' | 8 | 16 | 32 | 64): Buffer {
    switch (form) {
      case 'fix':
        if (value < -32 || value > 127) throw new RangeError(`${value} has no fixint form`);
        return u8(value & 0xff);
      case 8: {
        const out = Buffer.alloc(2);
        out[0] = 0xd0;
        out.writeInt8(value, 1);
        return out;
      }
      case 16: {
        const out = Buffer.alloc(3);
        out[0] = 0xd1;
        out.writeInt16BE(value, 1);
        return out;
      }
      case 32: {
        const out = Buffer.alloc(5);
        out[0] = 0xd2;
        out.writeInt32BE(value, 1);
        return out;
      }
      case 64: {
        const out = Buffer.alloc(9);
        out[0] = 0xd3;
        out.writeBigInt64BE(BigInt(value), 1);
        return out;
      }
    }
  },

  float64(value: number): Buffer {
    const out = Buffer.alloc(9);
    out[0] = 0xcb;
    out.writeDoubleBE(value, 1);
    return out;
  },

  float32(value: number): Buffer {
    const out = Buffer.alloc(5);
    out[0] = 0xca;
    out.writeFloatBE(value, 1);
    return out;
  },

  /** A str of the given text (UTF-8), or of raw bytes (to make invalid UTF-8). */
  str(text: string | Uint8Array, form?: Form): Buffer {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
    return Buffer.concat([
      lengthHeader(bytes.length, form, { base: 0xa0, max: 31 }, { 8: 0xd9, 16: 0xda, 32: 0xdb }, 'str'),
      bytes,
    ]);
  },

  /** A bin of bytes, or of a ByteString (one character per byte). */
  bin(bytes: string | Uint8Array, form?: Form): Buffer {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
    return Buffer.concat([
      lengthHeader(data.length, form, undefined, { 8: 0xc4, 16: 0xc5, 32: 0xc6 }, 'bin'),
      data,
    ]);
  },

  array(items: Buffer[], form?: Form): Buffer {
    return Buffer.concat([
      lengthHeader(items.length, form, { base: 0x90, max: 15 }, { 16: 0xdc, 32: 0xdd }, 'array'),
      ...items,
    ]);
  },

  /** A map; string keys are written as canonical str. */
  map(entries: Array<[string | Buffer, Buffer]>, form?: Form): Buffer {
    const parts: Buffer[] = [
      lengthHeader(entries.length, form, { base: 0x80, max: 15 }, { 16: 0xde, 32: 0xdf }, 'map'),
    ];
    for (const [key, value] of entries) parts.push(typeof key === 'string' ? mp.str(key) : key, value);
    return Buffer.concat(parts);
  },

  /** An extension value (never allowed on the gatewire wire; for the error vectors). */
  ext(type: number, data: Uint8Array): Buffer {
    const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
    const header =
      fixed[data.length] !== undefined
        ? u8(fixed[data.length])
        : data.length < 0x100
          ? u8(0xc7, data.length)
          : Buffer.concat([u8(0xc8), be(data.length, 2)]);
    return Buffer.concat([header, u8(type & 0xff), Buffer.from(data)]);
  },
};

/** The canonical (smallest) encoding of a JSON value. */
export function encodeCanonical(value: WireJson): Buffer {
  if (value === null) return mp.nil();
  if (typeof value === 'boolean') return mp.bool(value);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return mp.float64(value);
    if (value >= 0) return mp.uint(value);
    if (value >= -32) return mp.int(value, 'fix');
    if (value >= -0x80) return mp.int(value, 8);
    if (value >= -0x8000) return mp.int(value, 16);
    if (value >= -0x80000000) return mp.int(value, 32);
    return mp.int(value, 64);
  }
  if (typeof value === 'string') return mp.str(value);
  if (Array.isArray(value)) return mp.array(value.map(encodeCanonical));
  if (isBin(value)) return mp.bin(value.$bin);
  return mp.map(Object.entries(value).map(([key, item]) => [key, encodeCanonical(item)]));
}

class JsonReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  #take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error('msgpack value runs past the end');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  #uint(width: number): number {
    return this.#take(width).readUIntBE(0, width);
  }

  value(): WireJson {
    const byte = this.#uint(1);
    if (byte <= 0x7f) return byte;
    if (byte >= 0xe0) return byte - 0x100;
    if (byte <= 0x8f) return this.#map(byte & 0x0f);
    if (byte <= 0x9f) return this.#array(byte & 0x0f);
    if (byte <= 0xbf) return this.#str(byte & 0x1f);
    switch (byte) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return { $bin: this.#take(this.#uint(1)).toString('latin1') };
      case 0xc5:
        return { $bin: this.#take(this.#uint(2)).toString('latin1') };
      case 0xc6:
        return { $bin: this.#take(this.#uint(4)).toString('latin1') };
      case 0xca:
        return this.#take(4).readFloatBE(0);
      case 0xcb:
        return this.#take(8).readDoubleBE(0);
      case 0xcc:
        return this.#uint(1);
      case 0xcd:
        return this.#uint(2);
      case 0xce:
        return this.#uint(4);
      case 0xcf:
        return safe(this.#take(8).readBigUInt64BE(0));
      case 0xd0:
        return this.#take(1).readInt8(0);
      case 0xd1:
        return this.#take(2).readInt16BE(0);
      case 0xd2:
        return this.#take(4).readInt32BE(0);
      case 0xd3:
        return safe(this.#take(8).readBigInt64BE(0));
      case 0xd9:
        return this.#str(this.#uint(1));
      case 0xda:
        return this.#str(this.#uint(2));
      case 0xdb:
        return this.#str(this.#uint(4));
      case 0xdc:
        return this.#array(this.#uint(2));
      case 0xdd:
        return this.#array(this.#uint(4));
      case 0xde:
        return this.#map(this.#uint(2));
      case 0xdf:
        return this.#map(this.#uint(4));
      default:
        throw new Error(`msgpack byte 0x${byte.toString(16)} (ext or never-used) has no JSON form`);
    }
  }

  #str(length: number): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.#take(length));
  }

  #array(count: number): WireJson[] {
    const out: WireJson[] = [];
    for (let i = 0; i < count; i++) out.push(this.value());
    return out;
  }

  #map(count: number): WireMap {
    const out: WireMap = {};
    for (let i = 0; i < count; i++) {
      const key = this.value();
      if (typeof key !== 'string') throw new Error('map key is not a str');
      if (Object.hasOwn(out, key)) throw new Error(`duplicate map key ${key}`);
      Object.defineProperty(out, key, {
        value: this.value(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
}

function safe(big: bigint): number {
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER))
    throw new Error('integer beyond 2^53 has no exact JSON form here');
  return Number(big);
}

/** Decodes exactly one msgpack value filling `bytes` into its JSON form. */
export function decodeJson(bytes: Uint8Array): WireJson {
  const reader = new JsonReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const value = reader.value();
  if (reader.pos !== bytes.length) throw new Error('bytes left over after the msgpack value');
  return value;
}
