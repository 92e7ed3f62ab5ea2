/**
 * Decodes a MessagePack payload into the JSON form of protocol/vectors/README.md (bin as
 * `{"$bin": "<ISO-8859-1 string>"}`), to compare a worker's frames with the vectors' patterns.
 * Throws on malformed input or extension types (SPEC §1).
 */
export function msgpackToJson(bytes: Uint8Array): unknown {
  const reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const value = reader.value(0);
  if (reader.pos !== reader.buf.length) throw new Error('bytes left over after the value');
  return value;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  #need(count: number): void {
    if (this.pos + count > this.buf.length) throw new Error('payload ends inside a value');
  }

  #u8(): number {
    this.#need(1);
    return this.buf[this.pos++];
  }

  #uint(width: number): number {
    this.#need(width);
    const value =
      width === 8 ? Number(this.buf.readBigUInt64BE(this.pos)) : this.buf.readUIntBE(this.pos, width);
    this.pos += width;
    return value;
  }

  #int(width: number): number {
    this.#need(width);
    const value =
      width === 8 ? Number(this.buf.readBigInt64BE(this.pos)) : this.buf.readIntBE(this.pos, width);
    this.pos += width;
    return value;
  }

  #bytes(length: number): Buffer {
    this.#need(length);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  #array(length: number, depth: number): unknown[] {
    const out: unknown[] = [];
    for (let i = 0; i < length; i++) out.push(this.value(depth + 1));
    return out;
  }

  #map(length: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < length; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== 'string') throw new Error('a map key that is not a str');
      out[key] = this.value(depth + 1);
    }
    return out;
  }

  value(depth: number): unknown {
    if (depth > 64) throw new Error('nesting too deep');
    const byte = this.#u8();
    if (byte <= 0x7f) return byte;
    if (byte >= 0xe0) return byte - 0x100;
    if (byte >= 0x80 && byte <= 0x8f) return this.#map(byte & 0x0f, depth);
    if (byte >= 0x90 && byte <= 0x9f) return this.#array(byte & 0x0f, depth);
    if (byte >= 0xa0 && byte <= 0xbf) return this.#bytes(byte & 0x1f).toString('utf8');
    switch (byte) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return { $bin: this.#bytes(this.#uint(1)).toString('latin1') };
      case 0xc5:
        return { $bin: this.#bytes(this.#uint(2)).toString('latin1') };
      case 0xc6:
        return { $bin: this.#bytes(this.#uint(4)).toString('latin1') };
      case 0xca: {
        this.#need(4);
        const value = this.buf.readFloatBE(this.pos);
        this.pos += 4;
        return value;
      }
      case 0xcb: {
        this.#need(8);
        const value = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return value;
      }
      case 0xcc:
        return this.#uint(1);
      case 0xcd:
        return this.#uint(2);
      case 0xce:
        return this.#uint(4);
      case 0xcf:
        return this.#uint(8);
      case 0xd0:
        return this.#int(1);
      case 0xd1:
        return this.#int(2);
      case 0xd2:
        return this.#int(4);
      case 0xd3:
        return this.#int(8);
      case 0xd9:
        return this.#bytes(this.#uint(1)).toString('utf8');
      case 0xda:
        return this.#bytes(this.#uint(2)).toString('utf8');
      case 0xdb:
        return this.#bytes(this.#uint(4)).toString('utf8');
      case 0xdc:
        return this.#array(this.#uint(2), depth);
      case 0xdd:
        return this.#array(this.#uint(4), depth);
      case 0xde:
        return this.#map(this.#uint(2), depth);
      case 0xdf:
        return this.#map(this.#uint(4), depth);
      default:
        throw new Error(`byte 0x${byte.toString(16)} (an extension type or never used)`);
    }
  }
}

/** Pattern matching of protocol/vectors/README.md: a map matches if it has every key of the pattern. */
export function matchesPattern(actual: unknown, pattern: unknown): boolean {
  if (pattern !== null && typeof pattern === 'object' && !Array.isArray(pattern) && !('$bin' in pattern)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(pattern).every(([key, value]) =>
      deepEqual((actual as Record<string, unknown>)[key], value),
    );
  }
  return deepEqual(actual, pattern);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => deepEqual(item, other[index]));
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return (
    keysA.length === keysB.length &&
    keysA.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  );
}
