import { describe, expect, it } from 'vitest';
import { ParseErrorStatus } from '../../../proxy/src/http/http-errors.js';
import { DEFAULT_HTTP_FRONT_OPTIONS } from '../../../proxy/src/http/http-front-options.js';
import { REQUEST_METHODS } from '../../../proxy/src/http/request-methods.js';
import { bytes, LIMITS, parse, parseChunks, split, summary } from './parse-helpers.js';
import { H, REFUSALS } from './refusal-corpus.js';

function one(text: string) {
  const outcome = parse(text);
  expect(outcome.error).toBeNull();
  expect(outcome.messages).toHaveLength(1);
  return outcome.messages[0];
}

describe('RequestParser: valid requests', () => {
  it('parses an origin-form GET into the RequestHead fields', () => {
    const m = one(
      'GET /a/b%20c?x=1&y HTTP/1.1\r\nHost: example.com:8080\r\nAccept:  */*  \r\nX-Empty:\r\n\r\n',
    );
    expect({ ...m.head }).toEqual({
      method: 'GET',
      target: '/a/b%20c?x=1&y',
      path: '/a/b%20c',
      query: 'x=1&y',
      httpVersion: 'HTTP/1.1',
      headers: [
        ['host', 'example.com:8080'],
        ['accept', '*/*'],
        ['x-empty', ''],
      ],
      host: 'example.com:8080',
      bodyLength: 0,
      expectContinue: false,
      upgrade: '',
      keepAlive: true,
    });
    expect(m.body).toBe('');
    expect(m.trailers).toBeNull();
  });

  it('accepts every method of the registry, case-sensitively', () => {
    for (const method of REQUEST_METHODS) {
      const target = method === 'OPTIONS' ? '*' : '/';
      expect(one(`${method} ${target} HTTP/1.1\r\n${H}\r\n`).head.method).toBe(method);
    }
  });

  it('keeps header order, duplicates, inner whitespace and obs-text; lowercases names only', () => {
    const m = one(
      `GET / HTTP/1.1\r\n${H}Set-Thing: a\r\nX-A:\t a  b \t\r\nset-thing: b\r\nX-Latin: caf\xe9\r\n\r\n`,
    );
    expect(m.head.headers).toEqual([
      ['host', 'example.com'],
      ['set-thing', 'a'],
      ['x-a', 'a  b'],
      ['set-thing', 'b'],
      ['x-latin', 'caf\xe9'],
    ]);
  });

  it('passes the target raw: no decoding, no normalisation', () => {
    const m = one(`GET /a/../b/./%2F%41?q={"x":[1]}|^%zz HTTP/1.1\r\n${H}\r\n`);
    expect(m.head.path).toBe('/a/../b/./%2F%41');
    expect(m.head.query).toBe('q={"x":[1]}|^%zz');
  });

  it('takes the authority of an absolute-form target over Host (RFC 9112 §3.2.2)', () => {
    const m = one('GET http://Origin.example:8080/p/q?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n');
    expect(m.head.host).toBe('Origin.example:8080');
    expect(m.head.path).toBe('/p/q');
    expect(m.head.query).toBe('x=1');
    expect(m.head.target).toBe('http://Origin.example:8080/p/q?x=1');
    const empty = one('GET HTTPS://[::1]?q HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(empty.head.path).toBe('/');
    expect(empty.head.query).toBe('q');
    expect(empty.head.host).toBe('[::1]');
  });

  it('accepts asterisk-form for OPTIONS', () => {
    const m = one(`OPTIONS * HTTP/1.1\r\n${H}\r\n`);
    expect(m.head.path).toBe('*');
    expect(m.head.query).toBe('');
  });

  it('handles HTTP/1.0: no Host needed, close by default, keep-alive on request', () => {
    const plain = one('GET / HTTP/1.0\r\n\r\n');
    expect(plain.head.httpVersion).toBe('HTTP/1.0');
    expect(plain.head.host).toBe('');
    expect(plain.head.keepAlive).toBe(false);
    expect(one('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').head.keepAlive).toBe(true);
    expect(one('GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n').head.keepAlive).toBe(false);
  });

  it('reads Connection tokens case-insensitively across fields', () => {
    expect(one(`GET / HTTP/1.1\r\n${H}Connection: CLOSE\r\n\r\n`).head.keepAlive).toBe(false);
    expect(
      one(`GET / HTTP/1.1\r\n${H}Connection: foo\r\nConnection: bar, Close\r\n\r\n`).head.keepAlive,
    ).toBe(false);
  });

  it('reports an upgrade only with Connection: upgrade, HTTP/1.1 and no body', () => {
    const ws = `GET /ws HTTP/1.1\r\n${H}Connection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n`;
    expect(one(`${ws}\r\n`).head.upgrade).toBe('websocket');
    expect(one(`${ws}Content-Length: 0\r\n\r\n`).head.upgrade).toBe('websocket');
    expect(one(`${ws}Content-Length: 1\r\n\r\nx`).head.upgrade).toBe('');
    expect(one(`GET / HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\n`).head.upgrade).toBe('');
    expect(one('GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n').head.upgrade).toBe('');
  });

  it('reports Expect: 100-continue for a request with a body (HTTP/1.1 only)', () => {
    expect(
      one(`POST / HTTP/1.1\r\n${H}Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx`).head.expectContinue,
    ).toBe(true);
    expect(
      one(`POST / HTTP/1.1\r\n${H}Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`).head
        .expectContinue,
    ).toBe(true);
    expect(
      one(`POST / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 0\r\n\r\n`).head.expectContinue,
    ).toBe(false);
    expect(
      one('POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx').head.expectContinue,
    ).toBe(false);
  });

  it('reads a Content-Length body', () => {
    const m = one(`POST /u HTTP/1.1\r\n${H}Content-Length: 011\r\n\r\nhello world`);
    expect(m.head.bodyLength).toBe(11);
    expect(m.body).toBe('hello world');
  });

  it('decodes chunked bodies with extensions, any hex case, and trailers', () => {
    const m = one(
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\n\r\n` +
        '5;name=value;flag;q="a \\"b\\" c"\r\nhello\r\n' +
        '0A\r\n0123456789\r\n' +
        '00000\r\nX-Checksum: abc\r\nX-Other:  v \r\n\r\n',
    );
    expect(m.head.bodyLength).toBeNull();
    expect(m.body).toBe('hello0123456789');
    expect(m.trailers).toEqual([
      ['x-checksum', 'abc'],
      ['x-other', 'v'],
    ]);
  });

  it('gives null trailers for a chunked body without any', () => {
    expect(one(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`).trailers).toBeNull();
  });

  it('accepts framing values with surrounding whitespace (OWS is not part of the value), except a trailing HTAB', () => {
    expect(
      one(`POST / HTTP/1.1\r\n${H}Transfer-Encoding:\t chunked  \r\n\r\n0\r\n\r\n`).head.bodyLength,
    ).toBeNull();
    expect(one(`POST / HTTP/1.1\r\n${H}Content-Length:\t1 \r\n\r\nx`).head.bodyLength).toBe(1);
  });

  it('ignores empty lines before a request line (RFC 9112 §2.2)', () => {
    expect(one(`\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`).head.path).toBe('/');
  });

  it('parses pipelined requests from one chunk, in order, each with its body', () => {
    const input =
      `GET /1 HTTP/1.1\r\n${H}\r\n` +
      `POST /2 HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc` +
      `POST /3 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n` +
      `\r\nHEAD /4 HTTP/1.0\r\n\r\n`;
    const outcome = parse(input);
    expect(outcome.error).toBeNull();
    expect(outcome.messages.map((m) => [m.head.method, m.head.path, m.body])).toEqual([
      ['GET', '/1', ''],
      ['POST', '/2', 'abc'],
      ['POST', '/3', 'de'],
      ['HEAD', '/4', ''],
    ]);
  });

  it('hands out body pieces as views of the input, not copies', async () => {
    const { RequestParser, ParseEvent } = await import('../../../proxy/src/http/request-parser.js');
    const parser = new RequestParser(LIMITS);
    const input = bytes(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
    expect(parser.execute(input, 0)).toBe(ParseEvent.HEAD);
    expect(parser.execute(input, parser.offset)).toBe(ParseEvent.BODY);
    expect(parser.body.buffer).toBe(input.buffer);
    expect(parser.body.toString()).toBe('hello');
  });

  it('stops at the end of each request: the caller decides when the next one is parsed', async () => {
    const { RequestParser, ParseEvent } = await import('../../../proxy/src/http/request-parser.js');
    const parser = new RequestParser(LIMITS);
    const input = bytes(`GET /a HTTP/1.1\r\n${H}\r\nGET /b HTTP/1.1\r\n${H}\r\n`);
    expect(parser.execute(input, 0)).toBe(ParseEvent.HEAD);
    const afterFirst = parser.offset;
    expect(parser.execute(input, afterFirst)).toBe(ParseEvent.END);
    expect(parser.offset).toBe(afterFirst);
    expect(parser.execute(input, afterFirst)).toBe(ParseEvent.HEAD);
    expect(parser.head!.path).toBe('/b');
  });
});

describe('RequestParser: refusals', () => {
  it.each(REFUSALS)('refuses %s', (_label, input, code, status) => {
    const outcome = parse(input);
    expect(outcome.error?.code).toBe(code);
    expect(outcome.error?.status).toBe(status);
    expect(ParseErrorStatus[code]).toBe(status);
  });

  it.each(REFUSALS.filter(([, input]) => input.length < 2000))(
    'refuses %s identically when fed one byte at a time',
    (_l, input, code) => {
      expect(parse(input, 'bytewise').error?.code).toBe(code);
    },
  );

  it('refuses a chunked body over the limit when the size line says so, before its data', () => {
    const outcome = parse(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n100001\r\n`);
    expect(outcome.error?.code).toBe('BODY_TOO_LARGE');
  });

  it('refuses garbage before the head is complete, without waiting for CRLFCRLF', () => {
    for (const [partial, code] of [
      ['\x16\x03\x01', 'INVALID_METHOD'],
      ['GET / HTTP/1.1\nHost:', 'BARE_LF'],
      ['GET / HTTP/1.1\r\nX: a\rb', 'BARE_CR'],
      [`GET /${'a'.repeat(8193)}`, 'TARGET_TOO_LONG'],
      ['GET /a\x00', 'INVALID_TARGET'],
      [`GET / HTTP/1.1\r\n${'X-A: 1\r\n'.repeat(5000)}`, 'HEADER_TOO_LARGE'],
    ] as const) {
      const outcome = parse(partial);
      expect(outcome.error?.code, JSON.stringify(partial.slice(0, 30))).toBe(code);
    }
  });

  it('keeps waiting (no refusal) for a valid partial head', () => {
    for (const partial of [
      'G',
      'GET / HTTP/1.1\r',
      'GET / HTTP/1.1\r\nHost: a\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\n\r',
    ]) {
      const outcome = parse(partial);
      expect(outcome.error).toBeNull();
      expect(outcome.incomplete).toBe(true);
    }
  });

  it('honours the limits it is given', () => {
    const limits = {
      ...DEFAULT_HTTP_FRONT_OPTIONS,
      maxTargetBytes: 10,
      maxHeaderBytes: 200,
      maxHeaderCount: 2,
      maxBodyBytes: 4,
    };
    expect(parse(`GET /012345678 HTTP/1.1\r\n${H}\r\n`, undefined, limits).error).toBeNull();
    expect(parse(`GET /0123456789 HTTP/1.1\r\n${H}\r\n`, undefined, limits).error?.code).toBe(
      'TARGET_TOO_LONG',
    );
    expect(parse(`GET / HTTP/1.1\r\n${H}A: 1\r\n\r\n`, undefined, limits).error).toBeNull();
    expect(parse(`GET / HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\n\r\n`, undefined, limits).error?.code).toBe(
      'TOO_MANY_HEADERS',
    );
    expect(parse(`POST / HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\nabcd`, undefined, limits).error).toBeNull();
    expect(
      parse(`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nabcde`, undefined, limits).error?.code,
    ).toBe('BODY_TOO_LARGE');
    expect(
      parse(
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`,
        undefined,
        limits,
      ).error,
    ).toBeNull();
    expect(
      parse(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n1\r\n`, undefined, limits)
        .error?.code,
    ).toBe('BODY_TOO_LARGE');
    const exact = `GET / HTTP/1.1\r\n${H}X: ${'v'.repeat(200 - 16 - H.length - 5 - 2)}\r\n\r\n`;
    expect(exact.length).toBe(200);
    expect(parse(exact, undefined, { ...limits, maxHeaderCount: 10 }).error).toBeNull();
    expect(
      parse(exact.replace('X: ', 'X: v'), undefined, { ...limits, maxHeaderCount: 10 }).error?.code,
    ).toBe('HEADER_TOO_LARGE');
    expect(
      parse(exact.replace('X: ', 'X: v'), 'bytewise', { ...limits, maxHeaderCount: 10 }).error?.code,
    ).toBe('HEADER_TOO_LARGE');
    const unlimited = { ...DEFAULT_HTTP_FRONT_OPTIONS, maxBodyBytes: 0 };
    expect(
      parse(`POST / HTTP/1.1\r\n${H}Content-Length: 2000000\r\n\r\n`, undefined, unlimited).error,
    ).toBeNull();
    expect(
      parse(
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n`,
        undefined,
        unlimited,
      ).error?.code,
    ).toBe('CHUNK_SIZE_TOO_LONG');
  });
});

describe('RequestParser: any chunking gives identical results', () => {
  const composite =
    `\r\nPOST /up?x=1 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nX-A:  a \r\n\r\n` +
    '3;e="q\\"x"\r\nabc\r\n1\r\nd\r\n0\r\nT-1: v\r\n\r\n' +
    `GET http://h.example/p HTTP/1.1\r\n${H}\r\n` +
    `PUT /c HTTP/1.0\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello` +
    `OPTIONS * HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\nok`;

  it('at every single split point', () => {
    const input = bytes(composite);
    const whole = summary(parseChunks([input]));
    expect((whole as { messages: unknown[] }).messages).toHaveLength(4);
    for (let i = 1; i < input.length; i++) {
      expect(summary(parseChunks([input.subarray(0, i), input.subarray(i)])), `split at ${i}`).toEqual(whole);
    }
  });

  it('one byte at a time and in odd sizes', () => {
    const input = bytes(composite);
    const whole = summary(parseChunks([input]));
    expect(summary(parseChunks(split(input, 'bytewise')))).toEqual(whole);
    for (const sizes of [[2], [3], [7, 1], [13, 5, 2], [64]])
      expect(summary(parseChunks(split(input, sizes)))).toEqual(whole);
  });
});
