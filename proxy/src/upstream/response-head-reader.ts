import { Limits, MsgpackReader, type HeaderPairs } from '@gatewire/protocol';
import { latin1Slice } from '../latin1.js';

const EMPTY = Buffer.alloc(0);

/**
 * A RESPONSE payload (SPEC §8.1) whose structure was checked, with its header fields left as bytes
 * in the payload: the proxy's fast path renders them straight into HTTP field lines
 * (dispatch/response-head-renderer.ts) instead of making two strings and an array per field and
 * then writing the strings back out as bytes. `pairs()` gives the usual strings when needed.
 *
 * One instance per worker connection, refilled for every RESPONSE: it is valid only during the
 * listener call it is passed to (the payload is a view into the socket's buffer).
 */
export class RawResponseHead {
  payload: Buffer = EMPTY;
  /** Any uint: the caller checks the range (100…599). */
  status = 0;
  /** '' when absent: the standard phrase. */
  reason = '';
  /** Offset in `payload` of the first pair of the headers array, and the end of the array. */
  headersStart = 0;
  headersEnd = 0;
  headerCount = 0;

  /** The header fields as ByteStrings, in order (informational heads, 101, the general path). */
  pairs(): HeaderPairs {
    const payload = this.payload;
    const pairs: HeaderPairs = new Array(this.headerCount);
    let pos = this.headersStart;
    for (let i = 0; i < pairs.length; i++) {
      pos = skipPairHeader(payload, pos);
      const nameLength = binLength(payload, pos);
      pos += binHeaderSize(payload[pos]);
      const name = latin1Slice(payload, pos, pos + nameLength);
      pos += nameLength;
      const valueLength = binLength(payload, pos);
      pos += binHeaderSize(payload[pos]);
      pairs[i] = [name, latin1Slice(payload, pos, pos + valueLength)];
      pos += valueLength;
    }
    return pairs;
  }
}

const KEY_STATUS = 0;
const KEY_HEADERS = 1;
const KEY_REASON = 2;

const STATUS_BYTES = Buffer.from('status', 'latin1');
const HEADERS_BYTES = Buffer.from('headers', 'latin1');
const REASON_BYTES = Buffer.from('reason', 'latin1');

function bytesEqual(buf: Buffer, start: number, expected: Buffer): boolean {
  for (let i = 0; i < expected.length; i++) if (buf[start + i] !== expected[i]) return false;
  return true;
}

/** Which key the `length` bytes ending at `end` hold: status, headers, reason, or -1 (no string made). */
function keyOf(buf: Buffer, end: number, length: number): number {
  const start = end - length;
  if (length === 6) {
    if (bytesEqual(buf, start, STATUS_BYTES)) return KEY_STATUS;
    if (bytesEqual(buf, start, REASON_BYTES)) return KEY_REASON;
  } else if (length === 7 && bytesEqual(buf, start, HEADERS_BYTES)) return KEY_HEADERS;
  return -1;
}

/** Size of a bin header given its first byte (the structure was checked). */
function binHeaderSize(byte: number): number {
  return byte === 0xc4 ? 2 : byte === 0xc5 ? 3 : 5;
}

/** Length of the bin whose header starts at `pos` (the structure was checked). */
function binLength(buf: Buffer, pos: number): number {
  const byte = buf[pos];
  if (byte === 0xc4) return buf[pos + 1];
  if (byte === 0xc5) return (buf[pos + 1] << 8) | buf[pos + 2];
  return buf.readUInt32BE(pos + 1);
}

/** Past the [name, value] array header at `pos` (fixarray, or array 16/32 of 2: checked). */
function skipPairHeader(buf: Buffer, pos: number): number {
  const byte = buf[pos];
  return byte === 0x92 ? pos + 1 : byte === 0xdc ? pos + 3 : pos + 5;
}

/** Reads a bin header, checks that its bytes are there, and steps over them. */
function skipBin(reader: MsgpackReader, what: string): void {
  const buf = reader.buf;
  const pos = reader.pos;
  const end = reader.end;
  const byte = pos < end ? buf[pos] : -1;
  let length: number;
  let header: number;
  if (byte === 0xc4 && pos + 2 <= end) {
    length = buf[pos + 1];
    header = 2;
  } else if (byte === 0xc5 && pos + 3 <= end) {
    length = (buf[pos + 1] << 8) | buf[pos + 2];
    header = 3;
  } else if (byte === 0xc6 && pos + 5 <= end) {
    length = buf.readUInt32BE(pos + 1);
    header = 5;
  } else {
    // Not a bin, or a truncated header: the reader's own message names what it found.
    reader.readBinBytes(what);
    return;
  }
  if (end - pos - header < length) reader.fail(what, 'payload ends in the middle of a value');
  reader.pos = pos + header + length;
}

/**
 * Checks a RESPONSE payload's structure exactly as the protocol's decodeResponseHead does
 * (BAD_PAYLOAD for malformed MessagePack, a wrong type, a repeated or missing key, too many pairs)
 * and fills `out`. The status is not range-checked here: a well-formed head with a status out of
 * range is a stream error (SPEC §8.1), which the connection decides.
 */
export function readResponseHead(payload: Buffer, out: RawResponseHead): void {
  const reader = new MsgpackReader(payload);
  const count = reader.readMapHeader('response');
  let status = -1;
  let headersStart = -1;
  let headersEnd = 0;
  let headerCount = 0;
  let reason = '';
  for (let i = 0; i < count; i++) {
    const length = reader.readKeyBytes('response key');
    switch (keyOf(payload, reader.pos, length)) {
      case KEY_STATUS:
        if (status !== -1) reader.fail('response.status', 'key appears twice');
        status = reader.readUint('response.status');
        break;
      case KEY_HEADERS: {
        if (headersStart !== -1) reader.fail('response.headers', 'key appears twice');
        const pairs = reader.readArrayHeader('response.headers');
        if (pairs > Limits.MAX_HEADER_PAIRS)
          reader.fail(
            'response.headers',
            `${pairs} header pairs exceed the limit of ${Limits.MAX_HEADER_PAIRS}`,
          );
        headersStart = reader.pos;
        const buf = payload;
        for (let p = 0; p < pairs; p++) {
          // A fixarray of 2 is what every encoder writes; anything else takes the general check.
          if (reader.pos < reader.end && buf[reader.pos] === 0x92) reader.pos++;
          else if (reader.readArrayHeader('response.headers') !== 2)
            reader.fail('response.headers', `pair ${p} is not a [name, value] array of 2`);
          skipBin(reader, 'response.headers');
          skipBin(reader, 'response.headers');
        }
        headersEnd = reader.pos;
        headerCount = pairs;
        break;
      }
      case KEY_REASON:
        reason = reader.readStr('response.reason');
        break;
      default:
        reader.skip(`response.${reader.keyString(length)}`, 2);
    }
  }
  if (!reader.atEnd()) reader.fail('response', 'bytes left over after the map');
  if (status === -1) reader.fail('response', 'missing required key status');
  if (headersStart === -1) reader.fail('response', 'missing required key headers');
  out.payload = payload;
  out.status = status;
  out.reason = reason;
  out.headersStart = headersStart;
  out.headersEnd = headersEnd;
  out.headerCount = headerCount;
}
