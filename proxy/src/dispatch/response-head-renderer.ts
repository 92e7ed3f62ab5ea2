import type { RenderedFields } from '../http/exchange.js';
import { latin1Slice, latin1Write } from '../latin1.js';
import type { RawResponseHead } from '../upstream/response-head-reader.js';

/** RFC 9110 §5.6.2 tchar, by byte. */
const TCHAR = (() => {
  const table = new Uint8Array(256);
  for (const char of "!#$%&'*+-.^_`|~") table[char.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  return table;
})();

/**
 * Bytes not allowed in a field value (RFC 9110 §5.5: VCHAR / obs-text / SP / HTAB): controls other
 * than HTAB, and DEL. CR, LF and NUL are among them (SPEC §8.1).
 */
const BAD_VALUE = (() => {
  const table = new Uint8Array(256);
  for (let c = 0; c < 0x20; c++) if (c !== 0x09) table[c] = 1;
  table[0x7f] = 1;
  return table;
})();

/** What a field name is to the renderer. */
const FIELD_OTHER = 0;
const FIELD_DROP = 1; // hop-by-hop (SPEC §8.1) or framing: never forwarded
const FIELD_CONNECTION = 2; // names more hop-by-hop fields: the general path handles it
const FIELD_CONTENT_LENGTH = 3;
const FIELD_DATE = 4;

const LOWER = (() => {
  const names: Array<[string, number]> = [
    ['te', FIELD_DROP],
    ['date', FIELD_DATE],
    ['upgrade', FIELD_DROP],
    ['trailer', FIELD_DROP],
    ['connection', FIELD_CONNECTION],
    ['keep-alive', FIELD_DROP],
    ['content-length', FIELD_CONTENT_LENGTH],
    ['proxy-connection', FIELD_DROP],
    ['transfer-encoding', FIELD_DROP],
  ];
  const byLength: Array<Array<[Buffer, number]>> = [];
  for (const [name, kind] of names) (byLength[name.length] ??= []).push([Buffer.from(name, 'latin1'), kind]);
  return byLength;
})();

/**
 * The kind of the token `buf[start, start + length)`, case-insensitively. The bytes are tchar
 * (checked first), and for tchar bytes `b | 0x20` equals a lowercase letter or '-' exactly when b
 * is that letter in either case or '-' itself, so one OR per byte is a case-insensitive compare.
 */
function fieldKind(buf: Buffer, start: number, length: number): number {
  const candidates = LOWER[length];
  if (candidates === undefined) return FIELD_OTHER;
  for (let c = 0; c < candidates.length; c++) {
    const [lower, kind] = candidates[c];
    let i = 0;
    while (i < length && (buf[start + i] | 0x20) === lower[i]) i++;
    if (i === length) return kind;
  }
  return FIELD_OTHER;
}

/**
 * Where heads are rendered: the front copies the lines out during writeRenderedHead (exchange.ts),
 * so one buffer serves every head. Heads larger than this get a buffer of their own.
 */
let scratch = Buffer.allocUnsafeSlow(16 * 1024);

/** The field lines of a head, rendered and checked; one instance reused (consumed at once). */
export class RenderedResponseFields implements RenderedFields {
  lines: Buffer = Buffer.alloc(0);
  contentLength = -1;
  hasDate = false;
  /** Why the head was refused (for the log, never for the client). */
  problem = '';
}

/** renderResponseFields outcomes. */
export const RENDERED = 0;
/** A field the renderer does not handle (Connection, which names more fields to drop): use the general path. */
export const NEEDS_GENERAL_PATH = 1;
/** The head is invalid (SPEC §8.1): `out.problem` says why. */
export const INVALID = 2;

const COLON_SPACE_0 = 0x3a;
const COLON_SPACE_1 = 0x20;
const CONTENT_LENGTH = Buffer.from('content-length: ', 'latin1');

/**
 * Turns a final response head's fields into HTTP field lines in one pass over the payload bytes:
 * each name must be a token and each value free of CR, LF, NUL and other controls (SPEC §8.1),
 * hop-by-hop and framing fields are dropped (the front frames the body and manages the
 * connection), and one valid `content-length` is kept (the front enforces it) — several equal ones
 * count as one, conflicting or malformed ones are all dropped. `dropContentLength` for 204
 * (RFC 9110 §8.6). No string is made for a field unless the head is refused.
 *
 * The output is at most as long as the headers array itself (every pair costs at least five bytes
 * of MessagePack framing, and a line four), so a buffer of that size always fits. `out.lines` is a
 * view into a shared scratch buffer: valid until the next call.
 */
export function renderResponseFields(
  head: RawResponseHead,
  dropContentLength: boolean,
  out: RenderedResponseFields,
): number {
  const buf = head.payload;
  const count = head.headerCount;
  const bound = head.headersEnd - head.headersStart;
  if (bound > scratch.length) {
    if (bound <= 256 * 1024) scratch = Buffer.allocUnsafeSlow(bound * 2);
  }
  const lines = bound <= scratch.length ? scratch : Buffer.allocUnsafe(bound);
  let at = 0;
  let pos = head.headersStart;
  let contentLength = -1;
  let hasDate = false;
  for (let i = 0; i < count; i++) {
    const pairByte = buf[pos];
    pos += pairByte === 0x92 ? 1 : pairByte === 0xdc ? 3 : 5;
    // name
    let byte = buf[pos];
    let length =
      byte === 0xc4
        ? buf[pos + 1]
        : byte === 0xc5
          ? (buf[pos + 1] << 8) | buf[pos + 2]
          : buf.readUInt32BE(pos + 1);
    pos += byte === 0xc4 ? 2 : byte === 0xc5 ? 3 : 5;
    const nameStart = pos;
    const nameLength = length;
    if (nameLength === 0) return invalid(out, `header ${i} has a name that is not an HTTP token: ""`);
    for (let j = 0; j < nameLength; j++) {
      if (TCHAR[buf[pos + j]] === 0) {
        const name = latin1Slice(buf, nameStart, nameStart + Math.min(nameLength, 64));
        return invalid(out, `header ${i} has a name that is not an HTTP token: ${JSON.stringify(name)}`);
      }
    }
    pos += nameLength;
    // value
    byte = buf[pos];
    length =
      byte === 0xc4
        ? buf[pos + 1]
        : byte === 0xc5
          ? (buf[pos + 1] << 8) | buf[pos + 2]
          : buf.readUInt32BE(pos + 1);
    pos += byte === 0xc4 ? 2 : byte === 0xc5 ? 3 : 5;
    const valueStart = pos;
    const valueLength = length;
    for (let j = 0; j < valueLength; j++) {
      if (BAD_VALUE[buf[pos + j]] === 1) {
        const name = latin1Slice(buf, nameStart, nameStart + nameLength);
        return invalid(
          out,
          `header ${JSON.stringify(name)} has a value with CR, LF, NUL or another control character`,
        );
      }
    }
    pos += valueLength;
    const kind = fieldKind(buf, nameStart, nameLength);
    if (kind !== FIELD_OTHER) {
      if (kind === FIELD_DROP) continue;
      if (kind === FIELD_CONNECTION) return NEEDS_GENERAL_PATH;
      if (kind === FIELD_CONTENT_LENGTH) {
        if (dropContentLength || contentLength === -2) continue;
        const n = parseLength(buf, valueStart, valueLength);
        if (n < 0 || (contentLength >= 0 && n !== contentLength)) contentLength = -2;
        else contentLength = n;
        continue; // written once, after the other fields
      }
      hasDate = true;
    }
    // Byte loops: fields are short, and Buffer#copy costs a call and a view object each.
    for (let j = 0; j < nameLength; j++) lines[at + j] = buf[nameStart + j];
    at += nameLength;
    lines[at++] = COLON_SPACE_0;
    lines[at++] = COLON_SPACE_1;
    for (let j = 0; j < valueLength; j++) lines[at + j] = buf[valueStart + j];
    at += valueLength;
    lines[at++] = 0x0d;
    lines[at++] = 0x0a;
  }
  if (contentLength >= 0) {
    for (let j = 0; j < CONTENT_LENGTH.length; j++) lines[at + j] = CONTENT_LENGTH[j];
    at += CONTENT_LENGTH.length;
    at += latin1Write(lines, String(contentLength), at);
    lines[at++] = 0x0d;
    lines[at++] = 0x0a;
  }
  out.lines = lines.subarray(0, at);
  out.contentLength = contentLength < 0 ? -1 : contentLength;
  out.hasDate = hasDate;
  out.problem = '';
  return RENDERED;
}

function invalid(out: RenderedResponseFields, problem: string): number {
  out.problem = problem;
  return INVALID;
}

/** 1*DIGIT, at most 15 digits; -1 otherwise. */
function parseLength(buf: Buffer, start: number, length: number): number {
  if (length === 0 || length > 15) return -1;
  let n = 0;
  for (let i = 0; i < length; i++) {
    const d = buf[start + i] - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
