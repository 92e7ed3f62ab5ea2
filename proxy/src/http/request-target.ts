import { HEX_VALUE, IP_LITERAL_CHAR, REG_NAME_CHAR } from './char-classes.js';
import { HttpParseError } from './http-errors.js';

/** The components of a request-target (RFC 9112 §3.2), raw: nothing decoded or normalised. */
export interface TargetParts {
  path: string;
  query: string;
  /** The authority of an absolute-form target; null for origin-form and asterisk-form. */
  authority: string | null;
}

const SLASH = 0x2f;
const QUESTION = 0x3f;
const PERCENT = 0x25;
const COLON = 0x3a;

/**
 * Splits a request-target whose characters were already checked (TARGET_CHAR) into path and
 * query, and for absolute-form the authority, which wins over Host (RFC 9112 §3.2.2). Accepts
 * origin-form, absolute-form with an `http` or `https` URI, and asterisk-form for OPTIONS only;
 * authority-form never reaches here (CONNECT is refused before). Percent-encoding in the path must
 * be well-formed (`%` then two hex digits): a malformed escape decodes differently in different
 * stacks, so it never reaches a worker (nginx refuses it too). The query is passed as received.
 */
export function splitTarget(method: string, target: string, out: TargetParts): void {
  const first = target.charCodeAt(0);
  if (first === SLASH) {
    const q = target.indexOf('?');
    if (q < 0) {
      out.path = target;
      out.query = '';
    } else {
      out.path = target.slice(0, q);
      out.query = target.slice(q + 1);
    }
    checkPercentEncoding(out.path);
    out.authority = null;
    return;
  }
  if (target === '*') {
    if (method !== 'OPTIONS') throw new HttpParseError('INVALID_TARGET', 'asterisk-form is only for OPTIONS');
    out.path = '*';
    out.query = '';
    out.authority = null;
    return;
  }
  splitAbsoluteForm(target, out);
}

function splitAbsoluteForm(target: string, out: TargetParts): void {
  const sep = target.indexOf('://');
  const scheme = sep > 0 ? target.slice(0, sep).toLowerCase() : '';
  if (scheme !== 'http' && scheme !== 'https')
    throw new HttpParseError('INVALID_TARGET', 'target is not origin-form, an http(s) absolute-form, or *');
  const authorityStart = sep + 3;
  let authorityEnd = authorityStart;
  const length = target.length;
  while (authorityEnd < length) {
    const c = target.charCodeAt(authorityEnd);
    if (c === SLASH || c === QUESTION) break;
    authorityEnd++;
  }
  const authority = target.slice(authorityStart, authorityEnd);
  // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid; userinfo (§4.2.4) is refused.
  if (authority.length === 0 || authority.charCodeAt(0) === COLON)
    throw new HttpParseError('INVALID_TARGET', 'absolute-form target without a host');
  if (authority.includes('@')) throw new HttpParseError('INVALID_TARGET', 'userinfo in absolute-form target');
  if (!isValidHost(authority))
    throw new HttpParseError('INVALID_TARGET', 'invalid authority in absolute-form target');
  const rest = target.slice(authorityEnd);
  const q = rest.indexOf('?');
  let path = q < 0 ? rest : rest.slice(0, q);
  if (path === '') path = '/';
  out.path = path;
  out.query = q < 0 ? '' : rest.slice(q + 1);
  out.authority = authority;
  checkPercentEncoding(path);
}

function checkPercentEncoding(path: string): void {
  let i = path.indexOf('%');
  while (i >= 0) {
    if (
      HEX_VALUE[path.charCodeAt(i + 1) & 0xff] === 0xff ||
      HEX_VALUE[path.charCodeAt(i + 2) & 0xff] === 0xff ||
      i + 2 >= path.length
    )
      throw new HttpParseError('INVALID_TARGET', 'malformed percent-encoding in path');
    i = path.indexOf('%', i + 3);
  }
}

/**
 * RFC 9110 §7.2 Host = uri-host [ ":" port ], with uri-host an IP-literal (IPv6 only, no IPvFuture),
 * an IPv4 address or a reg-name (unreserved, sub-delims, well-formed pct-encoded). The port, when
 * the colon is present, must be 1 to 5 digits and at most 65535 (RFC 3986 allows an empty port;
 * no client sends one, so we refuse it). An empty value is valid (RFC 9112 §3.2).
 */
export function isValidHost(value: string): boolean {
  const length = value.length;
  if (length === 0) return true;
  let i = 0;
  if (value.charCodeAt(0) === 0x5b) {
    const close = value.indexOf(']');
    if (close < 2) return false;
    for (i = 1; i < close; i++)
      if (IP_LITERAL_CHAR[value.charCodeAt(i) & 0xff] !== 1 || value.charCodeAt(i) > 0xff) return false;
    if (!value.slice(1, close).includes(':')) return false;
    i = close + 1;
    if (i === length) return true;
  } else {
    while (i < length) {
      const c = value.charCodeAt(i);
      if (c === COLON) break;
      if (c === PERCENT) {
        if (
          HEX_VALUE[value.charCodeAt(i + 1) & 0xff] === 0xff ||
          HEX_VALUE[value.charCodeAt(i + 2) & 0xff] === 0xff ||
          i + 2 >= length
        )
          return false;
        i += 3;
        continue;
      }
      if (c > 0xff || REG_NAME_CHAR[c] !== 1) return false;
      i++;
    }
    if (i === length) return true;
  }
  if (value.charCodeAt(i) !== COLON) return false;
  const digits = length - i - 1;
  if (digits < 1 || digits > 5) return false;
  let port = 0;
  for (let j = i + 1; j < length; j++) {
    const d = value.charCodeAt(j) - 0x30;
    if (d < 0 || d > 9) return false;
    port = port * 10 + d;
  }
  return port <= 65535;
}
