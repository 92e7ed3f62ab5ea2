import type { HeaderPairs } from '@gatewire/protocol';
import { CR, LF, SP, TARGET_CHAR, TCHAR } from './char-classes.js';
import type { RequestHead } from './exchange.js';
import { parseFieldLines } from './field-line-parser.js';
import { HttpParseError } from './http-errors.js';
import { REQUEST_METHODS } from './request-methods.js';
import { isValidHost, splitTarget, type TargetParts } from './request-target.js';

/** The limits the head parser enforces (see HttpFrontOptions for their meaning). */
export interface HeadLimits {
  readonly maxTargetBytes: number;
  readonly maxHeaderCount: number;
  /** 0 = unlimited. */
  readonly maxBodyBytes: number;
}

/** A request head as RequestHead describes it; a class so every head shares one shape. */
export class ParsedRequestHead implements RequestHead {
  constructor(
    readonly method: string,
    readonly target: string,
    readonly path: string,
    readonly query: string,
    readonly httpVersion: 'HTTP/1.0' | 'HTTP/1.1',
    readonly headers: HeaderPairs,
    readonly host: string,
    readonly bodyLength: number | null,
    readonly expectContinue: boolean,
    readonly upgrade: string,
    readonly keepAlive: boolean,
  ) {}
}

const parts: TargetParts = { path: '', query: '', authority: null };

/** Digits of a Content-Length we evaluate exactly; beyond, the value exceeds any body we take. */
const MAX_LENGTH_DIGITS = 15;

/**
 * Parses a complete request head: `s` holds it as latin1 (one character per byte) from the first
 * byte of the request line up to and including the empty line. Every refusal throws an
 * HttpParseError whose status is the answer (400, 413, 414, 417, 431, 501, 505).
 *
 * Check order: request line syntax (method token, target bytes and length, version), then the
 * method registry and target form, then field lines, then framing (Transfer-Encoding /
 * Content-Length, the smuggling-shaped cases first), Host, Expect, and the body limit.
 */
export function parseRequestHead(s: string, limits: HeadLimits): ParsedRequestHead {
  const lineEnd = parseRequestLineEnd(s, limits.maxTargetBytes);
  const methodEnd = s.indexOf(' ');
  const method = s.slice(0, methodEnd);
  const target = s.slice(methodEnd + 1, lineEnd - 9);
  const minor = s.charCodeAt(lineEnd - 1);
  const httpVersion = minor === 0x31 ? 'HTTP/1.1' : 'HTTP/1.0';
  if (!REQUEST_METHODS.has(method)) {
    if (method === 'CONNECT') throw new HttpParseError('CONNECT_NOT_SUPPORTED', 'CONNECT is not supported');
    throw new HttpParseError('UNKNOWN_METHOD', 'unknown method');
  }
  splitTarget(method, target, parts);

  const headers: HeaderPairs = [];
  parseFieldLines(s, lineEnd + 2, headers, limits.maxHeaderCount, false);

  let contentLength = -1;
  let transferEncoding: string | null = null;
  let host: string | null = null;
  let expect: string | null = null;
  let connectionClose = false;
  let connectionKeepAlive = false;
  let connectionUpgrade = false;
  let upgrade: string | null = null;
  const count = headers.length;
  for (let i = 0; i < count; i++) {
    const pair = headers[i];
    const name = pair[0];
    // Dispatch on length first: most names are none of these and leave after one comparison.
    switch (name.length) {
      case 4:
        if (name === 'host') {
          if (host !== null) throw new HttpParseError('DUPLICATE_HOST', 'more than one Host field');
          host = pair[1];
        }
        break;
      case 6:
        if (name === 'expect') {
          if (expect !== null)
            throw new HttpParseError('UNSUPPORTED_EXPECTATION', 'more than one Expect field');
          expect = pair[1];
        }
        break;
      case 7:
        if (name === 'upgrade') upgrade = upgrade === null ? pair[1] : `${upgrade}, ${pair[1]}`;
        break;
      case 10:
        if (name === 'connection') {
          const flags = connectionFlags(pair[1]);
          if ((flags & CLOSE) !== 0) connectionClose = true;
          if ((flags & KEEP_ALIVE) !== 0) connectionKeepAlive = true;
          if ((flags & UPGRADE) !== 0) connectionUpgrade = true;
        }
        break;
      case 14:
        if (name === 'content-length') {
          if (contentLength >= 0)
            throw new HttpParseError('DUPLICATE_CONTENT_LENGTH', 'more than one Content-Length field');
          contentLength = parseContentLength(pair[1], limits.maxBodyBytes);
        }
        break;
      case 17:
        if (name === 'transfer-encoding') {
          if (httpVersion === 'HTTP/1.0')
            throw new HttpParseError(
              'TRANSFER_ENCODING_IN_HTTP10',
              'Transfer-Encoding in an HTTP/1.0 request',
            );
          if (transferEncoding !== null)
            throw new HttpParseError('INVALID_TRANSFER_ENCODING', 'more than one Transfer-Encoding field');
          transferEncoding = pair[1];
        }
        break;
    }
  }

  let bodyLength: number | null = contentLength < 0 ? 0 : contentLength;
  if (transferEncoding !== null) {
    if (contentLength >= 0)
      throw new HttpParseError(
        'CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
        'both Content-Length and Transfer-Encoding',
      );
    checkTransferEncoding(transferEncoding);
    bodyLength = null;
  }

  if (host === null) {
    if (httpVersion === 'HTTP/1.1') throw new HttpParseError('MISSING_HOST', 'HTTP/1.1 request without Host');
  } else if (!isValidHost(host)) {
    throw new HttpParseError('INVALID_HOST', 'invalid Host');
  }

  let expectContinue = false;
  if (expect !== null && httpVersion === 'HTTP/1.1') {
    // RFC 9110 §10.1.1: 100-continue is the only expectation; an HTTP/1.0 request's is ignored.
    if (expect.length !== 12 || expect.toLowerCase() !== '100-continue')
      throw new HttpParseError('UNSUPPORTED_EXPECTATION', 'unsupported expectation');
    expectContinue = bodyLength !== 0;
  }

  const keepAlive = httpVersion === 'HTTP/1.1' ? !connectionClose : connectionKeepAlive && !connectionClose;
  // RFC 9110 §7.8: an HTTP/1.0 request's Upgrade is ignored; SPEC §13: only a request without a body tunnels.
  const upgradeValue =
    upgrade !== null && connectionUpgrade && httpVersion === 'HTTP/1.1' && bodyLength === 0
      ? upgrade.toLowerCase()
      : '';

  return new ParsedRequestHead(
    method,
    target,
    parts.path,
    parts.query,
    httpVersion,
    headers,
    parts.authority ?? host ?? '',
    bodyLength,
    expectContinue,
    upgradeValue,
    keepAlive,
  );
}

/**
 * Checks the request line `method SP request-target SP HTTP-version CRLF` at the start of `s`
 * and returns the index of its CR. Single spaces only (RFC 9112 §3 lets a recipient split on
 * any whitespace; we do not). Throws 414 for a target over the limit, 505 for a well-formed
 * version other than 1.0/1.1 and for an HTTP/0.9-style line without a version.
 */
export function parseRequestLineEnd(s: string, maxTargetBytes: number): number {
  let pos = 0;
  let c = s.charCodeAt(0);
  while (TCHAR[c] === 1) c = s.charCodeAt(++pos);
  if (c !== SP || pos === 0) {
    if (c === CR && s.charCodeAt(pos + 1) !== LF)
      throw new HttpParseError('BARE_CR', 'CR not followed by LF');
    if (c === LF) throw new HttpParseError('BARE_LF', 'LF not preceded by CR');
    if (c === CR || c === SP)
      throw new HttpParseError('INVALID_REQUEST_LINE', 'request line is not method SP target SP version');
    throw new HttpParseError('INVALID_METHOD', 'method is not a token');
  }
  const targetStart = ++pos;
  c = s.charCodeAt(pos);
  while (TARGET_CHAR[c] === 1) c = s.charCodeAt(++pos);
  const targetLength = pos - targetStart;
  if (targetLength > maxTargetBytes)
    throw new HttpParseError('TARGET_TOO_LONG', `target over ${maxTargetBytes} bytes`);
  if (targetLength === 0)
    throw new HttpParseError('INVALID_REQUEST_LINE', 'request line is not method SP target SP version');
  if (c === CR && s.charCodeAt(pos + 1) === LF)
    throw new HttpParseError('UNSUPPORTED_VERSION', 'HTTP/0.9 request line without a version');
  if (c !== SP) {
    if (c === LF) throw new HttpParseError('BARE_LF', 'LF not preceded by CR');
    throw new HttpParseError('INVALID_TARGET', 'invalid character in target');
  }
  pos++;
  if (s.charCodeAt(pos) === SP)
    throw new HttpParseError('INVALID_REQUEST_LINE', 'request line is not method SP target SP version');
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3).
  if (
    s.charCodeAt(pos) !== 0x48 ||
    s.charCodeAt(pos + 1) !== 0x54 ||
    s.charCodeAt(pos + 2) !== 0x54 ||
    s.charCodeAt(pos + 3) !== 0x50 ||
    s.charCodeAt(pos + 4) !== 0x2f ||
    !isDigit(s.charCodeAt(pos + 5)) ||
    s.charCodeAt(pos + 6) !== 0x2e ||
    !isDigit(s.charCodeAt(pos + 7))
  )
    throw new HttpParseError('INVALID_VERSION', 'invalid HTTP version');
  const end = pos + 8;
  if (s.charCodeAt(end) !== CR) {
    if (s.charCodeAt(end) === LF) throw new HttpParseError('BARE_LF', 'LF not preceded by CR');
    throw new HttpParseError('INVALID_VERSION', 'invalid HTTP version');
  }
  if (s.charCodeAt(end + 1) !== LF) throw new HttpParseError('BARE_CR', 'CR not followed by LF');
  if (s.charCodeAt(pos + 5) !== 0x31 || (s.charCodeAt(pos + 7) !== 0x30 && s.charCodeAt(pos + 7) !== 0x31))
    throw new HttpParseError('UNSUPPORTED_VERSION', 'only HTTP/1.0 and HTTP/1.1 are supported');
  return end;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** RFC 9110 §8.6: Content-Length = 1*DIGIT. Lists (`5, 5`) are refused like duplicates. */
function parseContentLength(value: string, maxBodyBytes: number): number {
  const length = value.length;
  if (length === 0) throw new HttpParseError('INVALID_CONTENT_LENGTH', 'empty Content-Length');
  let start = 0;
  while (start < length - 1 && value.charCodeAt(start) === 0x30) start++;
  let n = 0;
  for (let i = start; i < length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) {
      if (value.charCodeAt(i) === 0x2c)
        throw new HttpParseError('DUPLICATE_CONTENT_LENGTH', 'Content-Length is a list');
      throw new HttpParseError('INVALID_CONTENT_LENGTH', 'Content-Length is not a number');
    }
    n = n * 10 + d;
  }
  if (length - start > MAX_LENGTH_DIGITS) n = Number.POSITIVE_INFINITY;
  if (maxBodyBytes > 0 && n > maxBodyBytes)
    throw new HttpParseError('BODY_TOO_LARGE', `Content-Length over the ${maxBodyBytes}-byte body limit`);
  if (n === Number.POSITIVE_INFINITY)
    throw new HttpParseError('INVALID_CONTENT_LENGTH', 'Content-Length too large');
  return n;
}

/**
 * Accepts exactly `chunked` (case-insensitive, surrounding whitespace already trimmed). A
 * well-formed coding list that ends with a single `chunked` (`gzip, chunked`) is a coding we do not
 * implement: 501 (RFC 9112 §6.1). Anything else (chunked not last, repeated, empty members,
 * parameters on chunked, junk) is malformed framing: 400.
 */
function checkTransferEncoding(value: string): void {
  if (value.length === 7 && value.toLowerCase() === 'chunked') return;
  const members = value.split(',');
  let chunkedCount = 0;
  for (let i = 0; i < members.length; i++) {
    const member = members[i].replace(/^[ \t]+|[ \t]+$/g, '');
    if (!isTransferCoding(member))
      throw new HttpParseError('INVALID_TRANSFER_ENCODING', 'malformed Transfer-Encoding');
    if (member.toLowerCase() === 'chunked') chunkedCount++;
  }
  const last = members[members.length - 1].replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase();
  if (last !== 'chunked' || chunkedCount !== 1)
    throw new HttpParseError(
      'INVALID_TRANSFER_ENCODING',
      'chunked is not the final transfer coding, exactly once',
    );
  throw new HttpParseError('UNSUPPORTED_TRANSFER_ENCODING', 'transfer coding other than chunked');
}

/** transfer-coding = token *( OWS ";" OWS transfer-parameter ), parameters as token=token|quoted-string. */
const TRANSFER_CODING =
  /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t !#-[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))*$/;

function isTransferCoding(member: string): boolean {
  return TRANSFER_CODING.test(member);
}

const CLOSE = 1;
const KEEP_ALIVE = 2;
const UPGRADE = 4;

/** The connection options we act on, from a Connection field value (a comma-separated token list). */
function connectionFlags(value: string): number {
  const lower = value.toLowerCase();
  if (lower === 'keep-alive') return KEEP_ALIVE;
  if (lower === 'close') return CLOSE;
  let flags = 0;
  const members = lower.split(',');
  for (let i = 0; i < members.length; i++) {
    const member = members[i].trim();
    if (member === 'close') flags |= CLOSE;
    else if (member === 'keep-alive') flags |= KEEP_ALIVE;
    else if (member === 'upgrade') flags |= UPGRADE;
  }
  return flags;
}
