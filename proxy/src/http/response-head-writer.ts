import type { HeaderPairs } from '@gatewire/protocol';
import { dateFieldLine } from './date-header.js';
import { statusLine } from './status-reasons.js';

/** How a response body is delimited on the wire (RFC 9112 §6.3). */
export const Framing = {
  /** Content-Length, enforced. */
  LENGTH: 0,
  /** Transfer-Encoding: chunked (HTTP/1.1 clients, no Content-Length given). */
  CHUNKED: 1,
  /** Delimited by closing the connection (HTTP/1.0 clients, no Content-Length given). */
  CLOSE: 2,
  /** No body at all: HEAD, 1xx, 204, 304. */
  NONE: 3,
} as const;

export type FramingCode = (typeof Framing)[keyof typeof Framing];

/** What scanResponseHeaders found; one instance reused per call site (single-threaded, consumed at once). */
export class ResponseHeaderScan {
  /** The given Content-Length; -1 when absent, -2 when invalid or conflicting (then dropped). */
  contentLength = -1;
  hasDate = false;
  /** The field lines to send, each ending in CRLF. */
  lines = '';
}

/**
 * Turns the dispatcher's response fields into field lines. Framing and connection-management
 * fields (`connection`, `keep-alive`, `proxy-connection`, `transfer-encoding`) are dropped: the
 * front frames the body and manages the connection itself (SPEC §8.1). One `content-length` (or
 * several with the same value) is kept and reported; conflicting or non-numeric ones are dropped
 * and reported as -2, so the front frames the body itself rather than send an ambiguous length.
 * With `dropContentLength` (1xx, 204: RFC 9110 §8.6) they are dropped silently. Names are matched
 * case-insensitively (SPEC §8.1); values were validated by the dispatcher (no CR, LF or NUL).
 */
export function scanResponseHeaders(
  headers: HeaderPairs,
  dropContentLength: boolean,
  out: ResponseHeaderScan,
): void {
  let lines = '';
  let contentLength = -1;
  let lengthLine = '';
  let hasDate = false;
  const count = headers.length;
  for (let i = 0; i < count; i++) {
    const pair = headers[i];
    const name = pair[0];
    const value = pair[1];
    switch (name.length) {
      case 4:
        if (isName(name, 'date')) hasDate = true;
        break;
      case 10:
        if (isName(name, 'connection') || isName(name, 'keep-alive')) continue;
        break;
      case 14:
        if (isName(name, 'content-length')) {
          if (dropContentLength || contentLength === -2) continue;
          const n = parseLength(value);
          if (n < 0 || (contentLength >= 0 && n !== contentLength)) contentLength = -2;
          else if (contentLength < 0) {
            contentLength = n;
            lengthLine = `${name}: ${value}\r\n`;
          }
          continue;
        }
        break;
      case 16:
        if (isName(name, 'proxy-connection')) continue;
        break;
      case 17:
        if (isName(name, 'transfer-encoding')) continue;
        break;
    }
    lines += `${name}: ${value}\r\n`;
  }
  out.contentLength = contentLength;
  out.hasDate = hasDate;
  out.lines = contentLength >= 0 ? lengthLine + lines : lines;
}

function isName(name: string, lower: string): boolean {
  return name === lower || name.toLowerCase() === lower;
}

/** 1*DIGIT up to 15 digits, else -1. */
function parseLength(value: string): number {
  const length = value.length;
  if (length === 0 || length > 15) return -1;
  let n = 0;
  for (let i = 0; i < length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const CHUNKED_LINE = 'Transfer-Encoding: chunked\r\n';
const CLOSE_LINE = 'Connection: close\r\n';
const KEEP_ALIVE_LINE = 'Connection: keep-alive\r\n';

/** Connection handling a head announces: `Connection: close`, `Connection: keep-alive` (HTTP/1.0 clients), or nothing. */
export type ConnectionLine = 'close' | 'keep-alive' | '';

/** Head tails by framing × connection × date, for the Date line they were built with. */
const tails: Array<string | undefined> = [];
let tailsDate = '';

/**
 * What follows the field lines of a head: the framing line, the connection line, a cached Date
 * when the fields have none, and the empty line. Built once per combination and second, so a
 * head costs no concatenation here.
 */
export function headTail(framing: FramingCode, connection: ConnectionLine, hasDate: boolean): string {
  const date = dateFieldLine();
  if (date !== tailsDate) {
    tails.length = 0;
    tailsDate = date;
  }
  const index =
    framing * 6 + (connection === 'close' ? 2 : connection === 'keep-alive' ? 4 : 0) + (hasDate ? 1 : 0);
  let tail = tails[index];
  if (tail === undefined) {
    tail = '';
    if (framing === Framing.CHUNKED) tail += CHUNKED_LINE;
    if (connection === 'close') tail += CLOSE_LINE;
    else if (connection === 'keep-alive') tail += KEEP_ALIVE_LINE;
    if (!hasDate) tail += date;
    tail += '\r\n';
    tails[index] = tail;
  }
  return tail;
}

/**
 * A complete response head: status line, the scanned field lines, then the framing line, the
 * connection line and a cached Date when the fields have none, and the empty line.
 *
 * `connection`: 'close' adds `Connection: close`; 'keep-alive' adds `Connection: keep-alive`
 * (for HTTP/1.0 clients, whose default is close); '' adds nothing (HTTP/1.1 default persistence).
 */
export function buildResponseHead(
  status: number,
  reason: string,
  scan: ResponseHeaderScan,
  framing: FramingCode,
  connection: ConnectionLine,
): string {
  return statusLine(status, reason) + scan.lines + headTail(framing, connection, scan.hasDate);
}

/** An informational (1xx) or 101 head: status line, fields as given, empty line. */
export function buildInterimHead(status: number, headers: HeaderPairs): string {
  let head = statusLine(status, '');
  for (let i = 0; i < headers.length; i++) head += `${headers[i][0]}: ${headers[i][1]}\r\n`;
  return head + '\r\n';
}

/**
 * The last chunk with its trailer section (RFC 9112 §7.1.2). Framing fields are never sent as
 * trailers (RFC 9110 §6.5.1).
 */
export function buildLastChunk(trailers: HeaderPairs | null): string {
  if (trailers === null || trailers.length === 0) return '0\r\n\r\n';
  let out = '0\r\n';
  for (let i = 0; i < trailers.length; i++) {
    const name = trailers[i][0];
    const lower = name.toLowerCase();
    if (
      lower === 'content-length' ||
      lower === 'transfer-encoding' ||
      lower === 'connection' ||
      lower === 'trailer'
    )
      continue;
    out += `${name}: ${trailers[i][1]}\r\n`;
  }
  return out + '\r\n';
}

/** The size line of a chunk of `length` bytes (hex, no extensions). */
export function chunkSizeLine(length: number): string {
  return length.toString(16) + '\r\n';
}
