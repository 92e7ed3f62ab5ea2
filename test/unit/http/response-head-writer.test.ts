import { describe, expect, it } from 'vitest';
import { dateFieldLine } from '../../../proxy/src/http/date-header.js';
import { buildRejection } from '../../../proxy/src/http/rejection-response.js';
import {
  buildInterimHead,
  buildLastChunk,
  buildResponseHead,
  chunkSizeLine,
  Framing,
  ResponseHeaderScan,
  scanResponseHeaders,
} from '../../../proxy/src/http/response-head-writer.js';
import { reasonPhrase, statusLine } from '../../../proxy/src/http/status-reasons.js';

function scan(headers: Array<[string, string]>, dropLength = false): ResponseHeaderScan {
  const out = new ResponseHeaderScan();
  scanResponseHeaders(headers, dropLength, out);
  return out;
}

describe('response head writer', () => {
  it('writes status line, fields in order, framing, connection, Date and the empty line', () => {
    const s = scan([
      ['content-type', 'text/plain'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    const head = buildResponseHead(200, '', s, Framing.CHUNKED, 'close');
    expect(head).toBe(
      'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n' +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n${dateFieldLine()}\r\n`,
    );
  });

  it('keeps a given Date and a custom reason phrase', () => {
    const s = scan([['Date', 'Tue, 01 Jan 2030 00:00:00 GMT']]);
    expect(s.hasDate).toBe(true);
    expect(buildResponseHead(599, 'Custom', s, Framing.LENGTH, 'keep-alive')).toBe(
      'HTTP/1.1 599 Custom\r\nDate: Tue, 01 Jan 2030 00:00:00 GMT\r\nConnection: keep-alive\r\n\r\n',
    );
  });

  it('drops framing and connection fields whatever their case, and reports the content-length', () => {
    const s = scan([
      ['Transfer-Encoding', 'gzip'],
      ['Connection', 'close'],
      ['keep-alive', 'timeout=5'],
      ['Proxy-Connection', 'x'],
      ['Content-Length', '13'],
      ['x-a', '1'],
    ]);
    expect(s.contentLength).toBe(13);
    expect(s.lines).toBe('Content-Length: 13\r\nx-a: 1\r\n');
  });

  it('merges identical content-lengths, drops conflicting or invalid ones (-2)', () => {
    expect(
      scan([
        ['content-length', '5'],
        ['content-length', '5'],
      ]).lines,
    ).toBe('content-length: 5\r\n');
    for (const bad of [
      [
        ['content-length', '5'],
        ['content-length', '6'],
      ],
      [['content-length', '5x']],
      [['content-length', '']],
    ]) {
      const s = scan(bad as Array<[string, string]>);
      expect(s.contentLength).toBe(-2);
      expect(s.lines).toBe('');
    }
  });

  it('drops content-length where the status forbids one (204)', () => {
    const s = scan([['content-length', '5']], true);
    expect(s.contentLength).toBe(-1);
    expect(s.lines).toBe('');
  });

  it('caches the Date line within a second and formats it as an IMF-fixdate', () => {
    const line = dateFieldLine();
    expect(line).toMatch(
      /^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT\r\n$/,
    );
    expect(dateFieldLine()).toBe(line);
  });

  it('writes interim heads, chunk size lines and last chunks with trailers', () => {
    expect(buildInterimHead(103, [['link', '</a.css>; rel=preload']])).toBe(
      'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n',
    );
    expect(chunkSizeLine(255)).toBe('ff\r\n');
    expect(buildLastChunk(null)).toBe('0\r\n\r\n');
    expect(
      buildLastChunk([
        ['x-sum', '1'],
        ['Content-Length', '3'],
        ['transfer-encoding', 'x'],
      ]),
    ).toBe('0\r\nx-sum: 1\r\n\r\n');
  });

  it('knows the standard reason phrases', () => {
    expect(reasonPhrase(404)).toBe('Not Found');
    expect(reasonPhrase(413)).toBe('Content Too Large');
    expect(reasonPhrase(299)).toBe('Unknown');
    expect(statusLine(431, '')).toBe('HTTP/1.1 431 Request Header Fields Too Large\r\n');
    expect(statusLine(299, '')).toBe('HTTP/1.1 299 Unknown\r\n');
  });

  it('builds a rejection: text/plain, exact length, Connection: close', () => {
    const response = buildRejection(400, 'duplicate Content-Length');
    const [head, body] = response.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(head).toContain('\r\nConnection: close');
    expect(body).toBe('400 Bad Request\nduplicate Content-Length\n');
    expect(head).toContain(`\r\nContent-Length: ${Buffer.byteLength(body)}`);
  });
});
