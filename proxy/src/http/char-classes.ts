/**
 * Byte-class lookup tables for the HTTP/1.1 grammar (RFC 9110 §5.6, RFC 9112, RFC 3986).
 * One Uint8Array indexed by byte value per class: a table load is cheaper than any chain of
 * comparisons in the per-character loops of the parsers.
 */

function table(predicate: (byte: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = predicate(b) ? 1 : 0;
  return t;
}

const isAlpha = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;

/** RFC 9110 §5.6.2 tchar: the characters of a token (method, field name, coding, chunk-ext name). */
export const TCHAR = table(
  (b) => isAlpha(b) || isDigit(b) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)),
);

/**
 * RFC 9110 §5.5 field-vchar / SP / HTAB: what may appear inside a field value. Every other CTL
 * (NUL, CR, LF, DEL, …) is refused; obs-text (0x80–0xFF) is allowed and passed on as-is.
 */
export const FIELD_VALUE_CHAR = table((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f));

/**
 * Bytes allowed in an origin-form or absolute-form request-target: visible ASCII except `#`.
 * Stricter than RFC 3986 would allow us to be for `"<>\^`{|}` and `[]` outside the authority: browsers
 * send several of them raw in queries (WHATWG URL), and passing them on is not ambiguous, as every
 * byte reaches the worker unchanged. `#` starts a fragment, which a request-target never has
 * (RFC 9112 §3.2). Bytes >= 0x80 are refused (llhttp refuses them too; clients percent-encode).
 */
export const TARGET_CHAR = table((b) => b > 0x20 && b < 0x7f && b !== 0x23);

/** RFC 3986 reg-name characters: unreserved / sub-delims (pct-encoded handled separately). */
export const REG_NAME_CHAR = table(
  (b) => isAlpha(b) || isDigit(b) || "-._~!$&'()*+,;=".includes(String.fromCharCode(b)),
);

/** Characters inside an IP-literal's brackets we accept: IPv6 (and an embedded IPv4) only, no IPvFuture. */
export const IP_LITERAL_CHAR = table(
  (b) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) || b === 0x3a || b === 0x2e,
);

/** RFC 9110 §5.6.4 qdtext and quoted-pair's second byte, for chunk-ext quoted-string values. */
export const QDTEXT = table(
  (b) =>
    b === 0x09 ||
    b === 0x20 ||
    b === 0x21 ||
    (b >= 0x23 && b <= 0x5b) ||
    (b >= 0x5d && b <= 0x7e) ||
    b >= 0x80,
);
export const QUOTED_PAIR_CHAR = table(
  (b) => b === 0x09 || b === 0x20 || (b >= 0x21 && b <= 0x7e) || b >= 0x80,
);

/** Hex digit values; 0xff for a byte that is not a hex digit. */
export const HEX_VALUE = (() => {
  const t = new Uint8Array(256).fill(0xff);
  for (let b = 0; b < 256; b++) {
    if (isDigit(b)) t[b] = b - 0x30;
    else if (b >= 0x41 && b <= 0x46) t[b] = b - 0x41 + 10;
    else if (b >= 0x61 && b <= 0x66) t[b] = b - 0x61 + 10;
  }
  return t;
})();

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
