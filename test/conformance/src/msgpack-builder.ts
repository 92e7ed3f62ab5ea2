/**
 * A tiny MessagePack encoder for crafting payloads byte by byte: canonical ones, and the
 * malformed, oddly-ordered or wide-integer ones a worker must accept or reject (SPEC §1, §7.2).
 * The protocol package's encoders only write valid canonical payloads, which is not enough here.
 */

/** Bytes inserted verbatim (invalid MessagePack, on purpose). */
export class MpRaw {
  constructor(readonly bytes: Uint8Array) {}
}

/** An extension value (SPEC §1: a receiver must treat it as BAD_PAYLOAD). */
export class MpExt {
  constructor(
    readonly type: number,
    readonly data: Uint8Array,
  ) {}
}

/** A non-negative integer forced into the `uint 32` form rather than the smallest one. */
export class MpUint32 {
  constructor(readonly value: number) {}
}

/** A map with keys in exactly this order. */
export class MpMap {
  constructor(readonly entries: ReadonlyArray<readonly [string, MpValue]>) {}
}

export type MpValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly MpValue[]
  | MpMap
  | MpRaw
  | MpExt
  | MpUint32
  | { readonly [key: string]: MpValue };

export function mpMap(entries: ReadonlyArray<readonly [string, MpValue]>): MpMap {
  return new MpMap(entries);
}

export function encodeMsgpack(value: MpValue): Buffer {
  const out: Buffer[] = [];
  write(out, value);
  return Buffer.concat(out);
}

function header(out: Buffer[], bytes: number[]): void {
  out.push(Buffer.from(bytes));
}

function lengthPrefixed(
  out: Buffer[],
  length: number,
  small: number,
  fix: number | null,
  codes: number[],
): void {
  if (fix !== null && length < small) header(out, [fix | length]);
  else if (codes[0] !== 0 && length < 0x100) header(out, [codes[0], length]);
  else if (length < 0x10000) header(out, [codes[1], length >> 8, length & 0xff]);
  else {
    const b = Buffer.alloc(5);
    b[0] = codes[2];
    b.writeUInt32BE(length, 1);
    out.push(b);
  }
}

function write(out: Buffer[], value: MpValue): void {
  if (value === null) return header(out, [0xc0]);
  if (value === true) return header(out, [0xc3]);
  if (value === false) return header(out, [0xc2]);
  if (typeof value === 'number') return writeNumber(out, value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    lengthPrefixed(out, bytes.length, 32, 0xa0, [0xd9, 0xda, 0xdb]);
    out.push(bytes);
    return;
  }
  if (value instanceof Uint8Array) {
    lengthPrefixed(out, value.length, 0, null, [0xc4, 0xc5, 0xc6]);
    out.push(Buffer.from(value));
    return;
  }
  if (value instanceof MpRaw) {
    out.push(Buffer.from(value.bytes));
    return;
  }
  if (value instanceof MpUint32) {
    const b = Buffer.alloc(5);
    b[0] = 0xce;
    b.writeUInt32BE(value.value, 1);
    out.push(b);
    return;
  }
  if (value instanceof MpExt) {
    const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
    const code = fixed[value.data.length];
    if (code !== undefined) header(out, [code, value.type & 0xff]);
    else header(out, [0xc7, value.data.length, value.type & 0xff]);
    out.push(Buffer.from(value.data));
    return;
  }
  if (Array.isArray(value)) {
    const items = value as readonly MpValue[];
    lengthPrefixed(out, items.length, 16, 0x90, [0, 0xdc, 0xdd]);
    for (const item of items) write(out, item);
    return;
  }
  const entries = value instanceof MpMap ? value.entries : Object.entries(value as Record<string, MpValue>);
  lengthPrefixed(out, entries.length, 16, 0x80, [0, 0xde, 0xdf]);
  for (const [key, item] of entries) {
    write(out, key);
    write(out, item);
  }
}

function writeNumber(out: Buffer[], value: number): void {
  if (!Number.isInteger(value)) {
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(value, 1);
    out.push(b);
    return;
  }
  if (value >= 0) {
    if (value < 0x80) return header(out, [value]);
    if (value < 0x100) return header(out, [0xcc, value]);
    if (value < 0x10000) return header(out, [0xcd, value >> 8, value & 0xff]);
    if (value < 0x100000000) {
      const b = Buffer.alloc(5);
      b[0] = 0xce;
      b.writeUInt32BE(value, 1);
      out.push(b);
      return;
    }
    const b = Buffer.alloc(9);
    b[0] = 0xcf;
    b.writeBigUInt64BE(BigInt(value), 1);
    out.push(b);
    return;
  }
  if (value >= -32) return header(out, [value & 0xff]);
  if (value >= -128) return header(out, [0xd0, value & 0xff]);
  const b = Buffer.alloc(9);
  b[0] = 0xd3;
  b.writeBigInt64BE(BigInt(value), 1);
  out.push(b);
}
