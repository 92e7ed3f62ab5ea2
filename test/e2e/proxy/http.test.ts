/**
 * Issue #4 end to end, HTTP side: the real proxy process in front of the real TS worker supervisor
 * (two processes), spoken to by undici, curl and raw TCP.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sequential, Stack } from './stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({
    config: {
      http: { maxBodyBytes: 1 << 20, maxTargetBytes: 2048, maxHeaderBytes: 8192, headerTimeoutMs: 800 },
      upstream: { responseTimeoutMs: 1500 },
    },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const get = (path: string, headers = 'Host: app.test\r\n'): string =>
  `GET ${path} HTTP/1.1\r\n${headers}\r\n`;

/** The status codes of every response head in a raw reply, in order. */
function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
}

describe('HTTP/1.1 through the proxy to real workers', () => {
  it('keeps a connection alive across requests and answers pipelined requests in order', async () => {
    expect(await sequential(stack, '/hello', 5)).toEqual([200, 200, 200, 200, 200]);
    const kept = await stack.raw([get('/hello'), get('/hello')], { gapMs: 150 });
    expect(statuses(kept.text)).toEqual([200, 200]);
    expect(kept.closed).toBe(false);
    // Three requests in one write: three responses, in request order.
    const piped = await stack.raw(get('/hello') + get('/env') + get('/sleep?ms=50'));
    expect(statuses(piped.text)).toEqual([200, 200, 200]);
    const hello = piped.text.indexOf('Hello, World!');
    const env = piped.text.indexOf('"clientAddr"');
    const slept = piped.text.indexOf('slept');
    expect(hello).toBeGreaterThan(0);
    expect(env).toBeGreaterThan(hello);
    expect(slept).toBeGreaterThan(env);
  });

  it('streams chunked bodies both ways', async () => {
    const client = stack.client();
    const pieces = ['first piece, ', 'second piece, ', 'x'.repeat(100_000), ' end'];
    const response = await client.request({
      path: '/echo',
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: Readable.from(pieces.map((piece) => Buffer.from(piece))), // no length: chunked
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.headers['content-length']).toBeUndefined();
    expect(await response.body.text()).toBe(pieces.join(''));
  });

  it('sends 100 Continue when the body is wanted, and passes request trailers', async () => {
    const { stdout, stderr } = await stack.curl(
      '-v',
      '-H',
      'Expect: 100-continue',
      '-H',
      'content-type: application/octet-stream',
      '--data-binary',
      'y'.repeat(4000),
      '-D',
      '-',
      `${stack.origin}/collect`,
    );
    expect(stderr).toMatch(/< HTTP\/1\.1 100 Continue/);
    expect(stdout).toMatch(/x-body-length: 4000/i);
    const chunked =
      'POST /collect HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n' +
      '5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: crc-42\r\n\r\n';
    const reply = await stack.raw(chunked);
    expect(statuses(reply.text)).toEqual([200]);
    expect(reply.text).toMatch(/x-trailer-checksum: crc-42/i);
    expect(reply.text).toMatch(/x-had-length: false/i);
    expect(reply.text).toMatch(/x-body-length: 11/i);
  });

  it('answers HEAD and 304 with the length a GET would have had, and no body', async () => {
    // A GET follows on the same connection: had any body byte been sent, it would precede it.
    const head = await stack.raw(`HEAD /hello HTTP/1.1\r\nHost: app.test\r\n\r\n${get('/hello')}`);
    expect(statuses(head.text)).toEqual([200, 200]);
    const [headPart, getPart] = head.text.split(/(?=HTTP\/1\.1 200)/);
    expect(headPart).toMatch(/content-length: 13\r\n/i);
    expect(headPart.endsWith('\r\n\r\n')).toBe(true);
    expect(getPart).toMatch(/\r\n\r\nHello, World!$/);
    const notModified = await stack.raw(get('/not-modified') + get('/hello'));
    expect(statuses(notModified.text)).toEqual([304, 200]);
    const [first] = notModified.text.split(/(?=HTTP\/1\.1 200)/);
    expect(first).toMatch(/etag: "v1"/i);
    expect(first.endsWith('\r\n\r\n')).toBe(true);
  });

  it('refuses smuggling-shaped and malformed requests with 400 and closes, dispatching nothing', async () => {
    const before = stack.proxy.lines.filter((line) => line.log === 'access' && line.upstream !== '-').length;
    const hostile = [
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
      'GET /hello HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n  two\r\n\r\n',
      'GET /hello HTTP/1.1\nHost: a\n\n',
      'GET /hello HTTP/1.1\r\nHost: a\r\nX-Nul: a\u0000b\r\n\r\n',
      'GET /hello HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n',
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n',
    ];
    for (const request of hostile) {
      const reply = await stack.raw(request);
      expect(statuses(reply.text), JSON.stringify(request)).toEqual([400]);
      expect(reply.text).toMatch(/connection: close/i);
      expect(reply.closed).toBe(true);
    }
    // The refused requests never reached a worker (the chunked one was refused mid-body: its
    // exchange ends as a client-side abort with the 400, not as a proxied request).
    const after = stack.proxy.lines.filter(
      (line) => line.log === 'access' && line.upstream !== '-' && line.status !== 400,
    ).length;
    expect(after).toBe(before);
  });

  it('answers 413, 414, 431 and 408 for bodies, targets and heads over the limits or too slow', async () => {
    const tooLarge = await stack.raw(
      'POST /collect HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n' + 'z'.repeat(1000),
    );
    expect(statuses(tooLarge.text)).toEqual([413]);
    const longTarget = await stack.raw(get(`/hello?${'q'.repeat(3000)}`));
    expect(statuses(longTarget.text)).toEqual([414]);
    const bigHead = await stack.raw(get('/hello', `Host: a\r\nX-Big: ${'h'.repeat(10_000)}\r\n`));
    expect(statuses(bigHead.text)).toEqual([431]);
    const slow = await stack.raw('GET /hello HTTP/1.1\r\nHost: a\r\n', { quietMs: 5000 });
    expect(statuses(slow.text)).toEqual([408]);
    expect(slow.closed).toBe(true);
  });

  it('routes by host and by path prefix on segment boundaries, and serves static files', async () => {
    const staticFile = await stack.request('/static/css/site.css');
    expect(staticFile.status).toBe(200);
    expect(staticFile.body.toString()).toBe('body { color: black; }\n');
    expect(staticFile.headers['content-type']).toMatch(/text\/css/);
    expect(staticFile.headers['x-pid']).toBeUndefined();
    const etag = String(staticFile.headers.etag);
    expect((await stack.request('/static/css/site.css', { headers: { 'if-none-match': etag } })).status).toBe(
      304,
    );
    const range = await stack.request('/static/data.bin', { headers: { range: 'bytes=10-19' } });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe('bytes 10-19/100000');
    expect(range.body.length).toBe(10);
    const bare = await stack.request('/static');
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/static/');
    expect((await stack.request('/static/../../etc/passwd')).status).toBe(404);
    // Not on a segment boundary: the workers' route (the app's 404, with its pid).
    const sibling = await stack.request('/staticfoo');
    expect(sibling.status).toBe(404);
    expect(sibling.headers['x-pid']).toBeDefined();
    // A mounted prefix reaches the app as script_name.
    const mounted = JSON.parse((await stack.request('/mounted/env')).body.toString()) as Record<
      string,
      unknown
    >;
    expect(mounted.scriptName).toBe('/mounted');
    // An exact host wins, with no fall-through to the other hosts' routes.
    const byHost = await stack.request('/index.html', { headers: { host: 'files.test' } });
    expect(byHost.body.toString()).toContain('<title>static</title>');
    expect((await stack.request('/hello', { headers: { host: 'files.test' } })).status).toBe(404);
  });

  it('replaces X-Forwarded-* from an untrusted client and strips hop-by-hop fields', async () => {
    const reply = await stack.raw(
      get(
        '/env',
        'Host: shop.test:8443\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n' +
          'X-Forwarded-Host: evil.test\r\nX-Request-Id: spoofed-id\r\nConnection: keep-alive, x-secret-hop\r\n' +
          'Keep-Alive: timeout=5\r\nX-Secret-Hop: hop\r\nX_User: admin\r\n',
      ),
    );
    expect(statuses(reply.text)).toEqual([200]);
    const requestId = /x-request-id: (\S+)/i.exec(reply.text)?.[1];
    const seen = JSON.parse(reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(seen.clientAddr).toBe('127.0.0.1');
    expect(seen.scheme).toBe('http');
    expect(seen.serverName).toBe('shop.test');
    expect(seen.forwardedFor).toBe('127.0.0.1');
    expect(seen.forwardedProto).toBe('http');
    expect(seen.forwardedHost).toBe('shop.test:8443');
    expect(seen.requestIdHeader).toBe(requestId);
    expect(seen.requestIdHeader).not.toBe('spoofed-id');
    expect(seen.connection).toBeNull();
    expect(seen.keepAlive).toBeNull();
    expect(seen.secretHop).toBeNull();
    expect(seen.underscore).toBeNull();
  });

  it('writes one access-log line per request with its fields', async () => {
    const reply = await stack.request('/hello?token=secret');
    const line = await stack.accessLine(String(reply.headers['x-request-id']));
    expect(line).toMatchObject({
      level: 30,
      log: 'access',
      method: 'GET',
      path: '/hello',
      status: 200,
      bytesIn: 0,
      client: '127.0.0.1',
      msg: 'request',
    });
    expect(Number(line.bytesOut)).toBeGreaterThan(13);
    expect(typeof line.durationMs).toBe('number');
    expect(String(line.upstream)).toContain(`${stack.socketDir}/`);
    expect(String(line.upstream)).toContain(`.${String(reply.headers['x-pid'])}.sock`);
    expect(JSON.stringify(line)).not.toContain('secret');
  });

  it('answers 504 when the worker does not answer within the response timeout', async () => {
    const reply = await stack.request('/sleep?ms=5000');
    expect(reply.status).toBe(504);
    const requestId = String(reply.headers['x-request-id']);
    expect(reply.body.toString()).toContain(`request id: ${requestId}`);
    const failure = await stack.logLine(
      (line) => line.msg === 'upstream request failed' && line.requestId === requestId,
      `the upstream failure line of ${requestId}`,
    );
    expect(failure.code).toBe('UPSTREAM_TIMEOUT');
  });
});
