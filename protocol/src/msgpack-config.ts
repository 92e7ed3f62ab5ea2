import { Unpackr } from 'msgpackr';

/**
 * The one msgpackr configuration used on the wire (SPEC §1): standard MessagePack only, for
 * decoding the control payloads (HELLO, AUTH, RESET, GOAWAY, HEALTH) after the bounded reader has
 * checked their structure. Records (structures) and extensions are off so that nothing but plain
 * msgpack is accepted; 64-bit integers decode to numbers. Encoding does not use msgpackr: it writes
 * integers above 2^32 as float 64, where the SPEC wants a uint (msgpack-value-writer.ts). The
 * hot-path payloads (environ, response head, trailers) have their own codec in msgpack-writer.ts /
 * msgpack-reader.ts, cross-checked against msgpackr in the tests.
 */
export const unpackr = new Unpackr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  int64AsType: 'number',
  mapsAsObjects: true,
});
