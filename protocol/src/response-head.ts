import { ProtocolError } from './errors.js';
import { readHeaderPairs, writeHeaderPairs, type HeaderPairs } from './header-pairs.js';
import { MsgpackReader } from './msgpack-reader.js';
import { encodedKey, type MsgpackWriter } from './msgpack-writer.js';

/** The worker's answer to a stream (SPEC §8.1). Header names and values are ByteStrings. */
export interface ResponseHead {
  status: number;
  headers: HeaderPairs;
  /** Reason phrase; '' means "use the standard phrase". */
  reason: string;
}

const KEY_STATUS = encodedKey('status');
const KEY_HEADERS = encodedKey('headers');
const KEY_REASON = encodedKey('reason');

export function writeResponseHead(writer: MsgpackWriter, head: ResponseHead): void {
  const hasReason = head.reason !== '';
  writer.mapHeader(hasReason ? 3 : 2);
  writer.raw(KEY_STATUS);
  writer.uint(head.status, 'response.status');
  writer.raw(KEY_HEADERS);
  writeHeaderPairs(writer, head.headers, 'response.headers');
  if (hasReason) {
    writer.raw(KEY_REASON);
    writer.str(head.reason);
  }
}

/**
 * Decodes a RESPONSE payload. Malformed payloads (wrong types, missing keys) are BAD_PAYLOAD, a
 * connection error; a status outside 100…599 is INVALID_HEAD, a stream error (SPEC §8.1, §14.1:
 * reset the stream, answer the client 502, keep the connection). Header *content* (tokens,
 * CR/LF/NUL) is the proxy's business, also answered with INVALID_HEAD.
 */
export function decodeResponseHead(payload: Buffer): ResponseHead {
  const reader: MsgpackReader = new MsgpackReader(payload);
  const count = reader.readMapHeader('response');
  let status = -1;
  let headers: HeaderPairs | undefined;
  let reason = '';
  for (let i = 0; i < count; i++) {
    const key = reader.keyString(reader.readKeyBytes('response key'));
    switch (key) {
      case 'status':
        if (status !== -1) reader.fail('response.status', 'key appears twice');
        status = reader.readUint('response.status');
        // SPEC §8.1: a well-formed head with a status out of range is rejected for its stream only.
        if (status < 100 || status > 599)
          throw new ProtocolError('INVALID_HEAD', `response.status: ${status} is not in 100…599`);
        break;
      case 'headers':
        if (headers) reader.fail('response.headers', 'key appears twice');
        headers = readHeaderPairs(reader, 'response.headers');
        break;
      case 'reason':
        reason = reader.readStr('response.reason');
        break;
      default:
        reader.skip(`response.${key}`, 2);
    }
  }
  if (!reader.atEnd()) reader.fail('response', 'bytes left over after the map');
  if (status === -1) reader.fail('response', 'missing required key status');
  if (!headers) reader.fail('response', 'missing required key headers');
  return { status, headers, reason };
}

/** Decodes a TRAILERS payload (SPEC §8.3). */
export function decodeTrailers(payload: Buffer): HeaderPairs {
  const reader: MsgpackReader = new MsgpackReader(payload);
  const pairs = readHeaderPairs(reader, 'trailers');
  if (!reader.atEnd()) reader.fail('trailers', 'bytes left over after the array');
  return pairs;
}
