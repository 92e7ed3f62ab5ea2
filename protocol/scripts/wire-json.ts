/**
 * The JSON form of MessagePack values used by protocol/vectors (described in vectors/README.md):
 * nil → null, bool → boolean, int and float → number, str → string, array → array, map → object
 * (key order kept), bin → `{"$bin": "<string>"}` where each code point U+0000–U+00FF is one byte
 * (ISO-8859-1), so ASCII stays readable and any language converts it with its latin-1 codec.
 */
export type WireJson = null | boolean | number | string | BinJson | WireJson[] | WireMap;
export interface BinJson {
  $bin: string;
}
export interface WireMap {
  [key: string]: WireJson;
}

/** A bin from bytes, or from a ByteString (one character per byte). */
export function bin(bytes: Uint8Array | string): BinJson {
  if (typeof bytes === 'string') {
    assertByteString(bytes);
    return { $bin: bytes };
  }
  return { $bin: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1') };
}

export function isBin(value: unknown): value is BinJson {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$bin' && typeof (value as BinJson).$bin === 'string';
}

export function isWireMap(value: WireJson | undefined): value is WireMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isBin(value);
}

/** The bytes of a `{"$bin"}` value. */
export function binBytes(value: WireJson | undefined): Buffer {
  if (!isBin(value)) throw new TypeError(`expected {"$bin": …}, got ${JSON.stringify(value)}`);
  assertByteString(value.$bin);
  return Buffer.from(value.$bin, 'latin1');
}

/** The ByteString of a `{"$bin"}` value (what the TypeScript codec uses for wire bytes). */
export function binString(value: WireJson | undefined): string {
  if (!isBin(value)) throw new TypeError(`expected {"$bin": …}, got ${JSON.stringify(value)}`);
  assertByteString(value.$bin);
  return value.$bin;
}

function assertByteString(text: string): void {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff)
      throw new RangeError(`code point above U+00FF at index ${i} of a $bin string`);
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Buffer {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error(`not lowercase hex: ${hex.slice(0, 40)}`);
  return Buffer.from(hex, 'hex');
}

/** Deep equality of two JSON values, map key order ignored (maps compare as key sets). */
export function wireEqual(a: WireJson | undefined, b: WireJson | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => wireEqual(item, b[i]));
  }
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  const bMap = b as WireMap;
  return aKeys.every((key) => Object.hasOwn(bMap, key) && wireEqual((a as WireMap)[key], bMap[key]));
}
