import type { HeaderPairs } from '@gatewire/protocol';
import { CR, FIELD_VALUE_CHAR, HTAB, LF, SP, TCHAR } from './char-classes.js';
import { HttpParseError, type ParseErrorCode } from './http-errors.js';

const COLON = 0x3a;

/**
 * Lowercased field names, shared: browsers send the same few dozen capitalised names
 * (`User-Agent`, `Accept`) on every request; one map lookup saves toLowerCase() allocating a new
 * string for each. Bounded, so a client inventing names cannot grow it.
 */
const LOWER_NAMES = new Map<string, string>();
const MAX_CACHED_NAMES = 512;

function lowerName(raw: string): string {
  let lower = LOWER_NAMES.get(raw);
  if (lower === undefined) {
    lower = raw.toLowerCase();
    if (LOWER_NAMES.size < MAX_CACHED_NAMES) LOWER_NAMES.set(raw, lower);
  }
  return lower;
}

/**
 * Parses the field lines of a header or trailer section (RFC 9112 §5) held in `s` (a latin1
 * string, one character per byte) from `pos` up to and including the empty line that ends the
 * section, appending `[lowercased name, trimmed value]` to `out`. Returns the index after that
 * empty line. The caller guarantees the section is complete (it ends with CRLF CRLF), so every
 * loop stops at a CR before the end of `s`.
 *
 * Refuses obs-fold, whitespace before the colon, empty or non-token names, CTLs other than HTAB
 * in values, bare CR and bare LF. In a trailer section every such refusal is INVALID_TRAILER.
 */
export function parseFieldLines(
  s: string,
  pos: number,
  out: HeaderPairs,
  maxCount: number,
  trailer: boolean,
): number {
  for (;;) {
    let c = s.charCodeAt(pos);
    if (c === CR) {
      if (s.charCodeAt(pos + 1) === LF) return pos + 2;
      fail(trailer, 'BARE_CR', 'CR not followed by LF');
    }
    if (c === SP || c === HTAB) fail(trailer, 'OBS_FOLD', 'field line starts with whitespace (obs-fold)');
    const nameStart = pos;
    let upper = false;
    while (TCHAR[c] === 1) {
      if (c <= 0x5a && c >= 0x41) upper = true;
      c = s.charCodeAt(++pos);
    }
    if (c !== COLON || pos === nameStart) {
      if (pos > nameStart && (c === SP || c === HTAB))
        fail(trailer, 'WHITESPACE_BEFORE_COLON', 'whitespace between field name and colon');
      if (c === LF) fail(trailer, 'BARE_LF', 'LF not preceded by CR');
      fail(trailer, 'INVALID_HEADER_NAME', 'invalid field name');
    }
    if (out.length >= maxCount)
      fail(
        trailer,
        'TOO_MANY_HEADERS',
        `more than ${maxCount} fields`,
        trailer ? 'TRAILERS_TOO_LARGE' : undefined,
      );
    const rawName = s.slice(nameStart, pos);
    const name = upper ? lowerName(rawName) : rawName;
    c = s.charCodeAt(++pos);
    while (c === SP || c === HTAB) c = s.charCodeAt(++pos);
    const valueStart = pos;
    let valueEnd = pos;
    while (c !== CR) {
      if (FIELD_VALUE_CHAR[c] !== 1) {
        if (c === LF) fail(trailer, 'BARE_LF', 'LF not preceded by CR');
        fail(trailer, 'INVALID_HEADER_VALUE', `control character 0x${(c | 0).toString(16)} in field value`);
      }
      pos++;
      if (c !== SP && c !== HTAB) valueEnd = pos;
      c = s.charCodeAt(pos);
    }
    if (s.charCodeAt(pos + 1) !== LF) fail(trailer, 'BARE_CR', 'CR not followed by LF');
    if (pos > valueEnd && !trailer) checkFramingTail(s, name, valueEnd, pos);
    out.push([name, valueStart === valueEnd ? '' : s.slice(valueStart, valueEnd)]);
    pos += 2;
  }
}

function fail(trailer: boolean, code: ParseErrorCode, message: string, trailerCode?: ParseErrorCode): never {
  if (trailer) throw new HttpParseError(trailerCode ?? 'INVALID_TRAILER', `trailer: ${message}`);
  throw new HttpParseError(code, message);
}

/**
 * A framing field (Content-Length, Transfer-Encoding) whose value is followed by HTAB: OWS by the
 * grammar, but llhttp refuses it, and we refuse whatever node's parser refuses. Only called when a
 * value has trailing whitespace, so the common path pays nothing.
 */
function checkFramingTail(s: string, name: string, from: number, to: number): void {
  if (name !== 'content-length' && name !== 'transfer-encoding') return;
  if (!s.slice(from, to).includes('\t')) return;
  throw new HttpParseError(
    name === 'content-length' ? 'INVALID_CONTENT_LENGTH' : 'INVALID_TRANSFER_ENCODING',
    `HTAB after the ${name} value`,
  );
}
