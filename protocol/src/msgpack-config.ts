import { Packr, Unpackr } from 'msgpackr';

/**
 * The one msgpackr configuration used on the wire (SPEC §1): standard MessagePack only.
 * Records (structures) and extensions are off so that any language's msgpack library reads every
 * frame; undefined is written as nil; 64-bit integers decode to numbers. Used for the control
 * payloads (HELLO, AUTH, RESET, GOAWAY, HEALTH); the hot-path payloads (environ, response head,
 * trailers) have their own codec in msgpack-writer.ts / msgpack-reader.ts, cross-checked against
 * this one in the tests.
 */
export const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  encodeUndefinedAsNil: true,
  variableMapSize: true,
  useFloat32: 0,
  int64AsType: 'number',
  mapsAsObjects: true,
});

export const unpackr = new Unpackr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  int64AsType: 'number',
  mapsAsObjects: true,
});
