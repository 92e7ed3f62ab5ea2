import { ProtocolError } from './errors.js';
import { MsgpackWriter } from './msgpack-writer.js';

/**
 * Canonical MessagePack for plain values (the control payloads: HELLO, AUTH, RESET, GOAWAY,
 * HEALTH): every value in its smallest representation, map keys in insertion order, non-integer
 * numbers as float 64, undefined as nil.
 *
 * msgpackr is not used for encoding because it writes integers above 2^32 as float 64 (and a
 * BigInt as int 64), where the SPEC asks for a uint: an `rss` of 5 GiB must be a uint 64 (§12.2).
 */
export function encodeValue(value: unknown): Buffer {
  const writer = new MsgpackWriter(Buffer.allocUnsafe(256), (w, needed) => {
    const grown = Buffer.allocUnsafe(Math.max(w.buf.length * 2, w.pos + needed));
    w.buf.copy(grown, 0, 0, w.pos);
    w.buf = grown;
  });
  writeValue(writer, value, 'payload');
  return Buffer.from(writer.buf.subarray(0, writer.pos));
}

function writeValue(writer: MsgpackWriter, value: unknown, what: string): void {
  switch (typeof value) {
    case 'string':
      return writer.str(value);
    case 'boolean':
      return writer.bool(value);
    case 'undefined':
      return writer.nil();
    case 'number':
      return writeNumber(writer, value);
    case 'object':
      if (value === null) return writer.nil();
      if (value instanceof Uint8Array) return writer.binBytes(value);
      if (Array.isArray(value)) {
        writer.arrayHeader(value.length);
        for (const item of value) writeValue(writer, item, what);
        return;
      }
      {
        const entries = Object.entries(value);
        writer.mapHeader(entries.length);
        for (const [key, item] of entries) {
          writer.str(key);
          writeValue(writer, item, `${what}.${key}`);
        }
      }
      return;
    default:
      throw new ProtocolError(
        'BAD_PAYLOAD',
        `cannot encode ${what}: ${typeof value} has no MessagePack form`,
      );
  }
}

const TWO_64 = 2 ** 64;

function writeNumber(writer: MsgpackWriter, value: number): void {
  if (Number.isInteger(value) && value >= 0 && value < TWO_64) {
    if (value <= Number.MAX_SAFE_INTEGER) return writer.uint(value, 'number');
    // An integral double above 2^53 is still exact as a uint 64.
    writer.ensure(9);
    writer.buf[writer.pos] = 0xcf;
    writer.buf.writeBigUInt64BE(BigInt(value), writer.pos + 1);
    writer.pos += 9;
    return;
  }
  writer.ensure(9);
  const buf = writer.buf;
  const pos = writer.pos;
  if (Number.isInteger(value) && value >= -(2 ** 63)) {
    if (value >= -32) {
      buf[pos] = value & 0xff;
      writer.pos = pos + 1;
    } else if (value >= -0x80) {
      buf[pos] = 0xd0;
      buf.writeInt8(value, pos + 1);
      writer.pos = pos + 2;
    } else if (value >= -0x8000) {
      buf[pos] = 0xd1;
      buf.writeInt16BE(value, pos + 1);
      writer.pos = pos + 3;
    } else if (value >= -0x8000_0000) {
      buf[pos] = 0xd2;
      buf.writeInt32BE(value, pos + 1);
      writer.pos = pos + 5;
    } else {
      buf[pos] = 0xd3;
      buf.writeBigInt64BE(BigInt(value), pos + 1);
      writer.pos = pos + 9;
    }
    return;
  }
  buf[pos] = 0xcb;
  buf.writeDoubleBE(value, pos + 1);
  writer.pos = pos + 9;
}
