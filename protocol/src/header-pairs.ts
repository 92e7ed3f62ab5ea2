import { Limits } from './constants.js';
import type { MsgpackReader } from './msgpack-reader.js';
import type { MsgpackWriter } from './msgpack-writer.js';

/**
 * Ordered header fields, duplicates kept: `[name, value]` pairs of ByteStrings (each character one
 * byte, U+0000–U+00FF), on the wire an array of 2-element arrays of bin (SPEC §7.1, §7.2).
 */
export type HeaderPair = [name: string, value: string];
export type HeaderPairs = HeaderPair[];

export function writeHeaderPairs(writer: MsgpackWriter, pairs: readonly HeaderPair[], what: string): void {
  const count = pairs.length;
  writer.arrayHeader(count);
  for (let i = 0; i < count; i++) {
    const pair = pairs[i];
    writer.ensure(1);
    writer.buf[writer.pos++] = 0x92;
    writer.bin(pair[0], what);
    writer.bin(pair[1], what);
  }
}

export function readHeaderPairs(reader: MsgpackReader, what: string): HeaderPairs {
  const count = reader.readArrayHeader(what);
  if (count > Limits.MAX_HEADER_PAIRS)
    reader.fail(what, `${count} header pairs exceed the limit of ${Limits.MAX_HEADER_PAIRS}`);
  const pairs: HeaderPairs = new Array<HeaderPair>(count);
  const buf = reader.buf;
  for (let i = 0; i < count; i++) {
    // A fixarray of 2 is the pair header every encoder writes; anything else takes the general path.
    if (reader.pos < reader.end && buf[reader.pos] === 0x92) reader.pos++;
    else if (reader.readArrayHeader(what) !== 2)
      reader.fail(what, `pair ${i} is not a [name, value] array of 2`);
    const name = reader.readBin(what);
    pairs[i] = [name, reader.readBin(what)];
  }
  return pairs;
}
