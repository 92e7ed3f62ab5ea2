import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpFront } from '../../../proxy/src/http/http-front.js';
import {
  RawClient,
  splitResponses,
  startFront,
  type StartedFront,
  TestDispatcher,
  waitFor,
} from './front-harness.js';

const run = promisify(execFile);

let started: StartedFront | null = null;
const clients: Array<{ close(): unknown }> = [];
const raws: RawClient[] = [];

async function front(options: Parameters<typeof startFront>[0] = {}): Promise<StartedFront> {
  started = await startFront(options);
  return started;
}

async function raw(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  raws.push(client);
  return client;
}

afterEach(async () => {
  for (const client of raws.splice(0)) client.destroy();
  for (const client of clients.splice(0)) await client.close();
  if (started !== null) await started.front.close({ graceMs: 100 });
  started = null;
});

describe('HttpFront over real sockets: protocol', () => {
  it('serves keep-alive requests on one connection (undici)', async () => {
    const { port, front: f, observer } = await front();
    const client = new Client(`http://127.0.0.1:${port}`);
    clients.push(client);
    for (let i = 0; i < 3; i++) {
      const response = await client.request({ path: '/hello', method: 'GET' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/plain');
      expect(response.headers['date']).toMatch(/GMT$/);
      expect(await response.body.text()).toBe('Hello, World!');
    }
    expect(f.acceptedCount).toBe(1);
    expect(observer.records).toHaveLength(3);
    for (const record of observer.records) {
      expect(record.status).toBe(200);
      expect(record.aborted).toBeNull();
      expect(record.bytesOut).toBeGreaterThan(13);
      expect(record.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('answers pipelined requests in order, one exchange at a time (raw socket, one write)', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write(
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nfirst' +
        'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n' +
        'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nthi\r\n2\r\nrd\r\n0\r\n\r\n' +
        'GET /error HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    await client.waitForText('HTTP/1.1 ', 4);
    await client.waitForText('request id', 1);
    const responses = splitResponses(client.text);
    expect(responses.map((r) => [r.status, r.body.split('\n')[0]])).toEqual([
      [200, 'first'],
      [200, 'Hello, World!'],
      [200, 'third'],
      [502, '502 Bad Gateway'],
    ]);
    expect(dispatcher.logs.map((l) => l.exchange.head.path)).toEqual(['/echo', '/hello', '/echo', '/error']);
    expect(client.closed).toBe(false);
  });

  it('answers random pipelined mixes written in random pieces, in order and complete', async () => {
    const { port } = await front();
    const request = fc.oneof(
      fc.constant({ text: 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'Hello, World!' }),
      fc.string({ maxLength: 200 }).map((body) => {
        const bytes = Buffer.from(body, 'utf8').toString('latin1');
        return {
          text: `POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: ${bytes.length}\r\n\r\n${bytes}`,
          expect: bytes,
        };
      }),
      fc.array(fc.string({ minLength: 1, maxLength: 40 }), { maxLength: 4 }).map((pieces) => {
        const chunks = pieces.map((p) => Buffer.from(p, 'utf8').toString('latin1'));
        const body = chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('');
        return {
          text: `POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}0\r\n\r\n`,
          expect: chunks.join(''),
        };
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 5 }),
        async (requests, sizes) => {
          const client = await raw(port);
          const input = Buffer.from(requests.map((r) => r.text).join(''), 'latin1');
          for (let pos = 0, i = 0; pos < input.length; i++) {
            const size = sizes[i % sizes.length];
            client.write(input.subarray(pos, pos + size));
            pos += size;
            await new Promise((resolve) => setImmediate(resolve));
          }
          await waitFor(() => splitResponses(client.text).length === requests.length, 'every response');
          expect(splitResponses(client.text).map((r) => r.body)).toEqual(requests.map((r) => r.expect));
          client.destroy();
        },
      ),
      { numRuns: 25, seed: 5 },
    );
  });

  it('holds pipelined requests until the one in progress completes', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => dispatcher.held.length === 1, 'the held exchange');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(dispatcher.logs).toHaveLength(1);
    dispatcher.release(dispatcher.held[0], 'one');
    await client.waitForText('Hello, World!');
    expect(splitResponses(client.text).map((r) => r.body)).toEqual(['one', 'Hello, World!']);
  });

  it('pipelines with undici (pipelining: 4)', async () => {
    const { port, front: f } = await front();
    const client = new Client(`http://127.0.0.1:${port}`, { pipelining: 4 });
    clients.push(client);
    const bodies = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const response = await client.request({ path: '/hello', method: 'GET' });
        return response.body.text();
      }),
    );
    expect(bodies).toEqual(Array(8).fill('Hello, World!'));
    expect(f.acceptedCount).toBe(1);
  });

  it('sends 100 Continue to curl once the dispatcher starts the body', async () => {
    const { port } = await front();
    const { stdout, stderr } = await run('curl', [
      '-sv',
      '-H',
      'Expect: 100-continue',
      '--data-binary',
      'payload-for-continue',
      `http://127.0.0.1:${port}/echo`,
    ]);
    expect(stderr).toContain('< HTTP/1.1 100 Continue');
    expect(stdout).toBe('payload-for-continue');
  });

  it('answers 413 to curl with Expect: 100-continue and a body over the limit, without a 100', async () => {
    const { port, observer } = await front({ maxBodyBytes: 1000 });
    const { stdout, stderr } = await run('curl', [
      '-sv',
      '-H',
      'Expect: 100-continue',
      '--data-binary',
      'x'.repeat(5000),
      `http://127.0.0.1:${port}/echo`,
    ]);
    expect(stderr).toContain('< HTTP/1.1 413 Content Too Large');
    expect(stderr).not.toContain('100 Continue');
    expect(stdout).toContain('413 Content Too Large');
    expect(observer.rejected.map((r) => [r.status, r.reason])).toEqual([[413, 'BODY_TOO_LARGE']]);
  });

  it('decodes a chunked upload from curl and frames the echo chunked', async () => {
    const { port } = await front();
    const { stdout, stderr } = await run('curl', [
      '-sv',
      '-H',
      'Transfer-Encoding: chunked',
      '--data-binary',
      'chunked-from-curl',
      `http://127.0.0.1:${port}/echo`,
    ]);
    expect(stderr).toContain('< Transfer-Encoding: chunked');
    expect(stdout).toBe('chunked-from-curl');
  });

  it('streams a chunked request body from undici and echoes it in full', async () => {
    const { port } = await front({ maxBodyBytes: 0 });
    const client = new Client(`http://127.0.0.1:${port}`);
    clients.push(client);
    const pieces = Array.from({ length: 50 }, (_, i) => Buffer.alloc(3000, 65 + (i % 26)));
    const response = await client.request({ path: '/echo', method: 'POST', body: Readable.from(pieces) });
    const body = Buffer.from(await response.body.arrayBuffer());
    expect(body.equals(Buffer.concat(pieces))).toBe(true);
  });

  it('passes request trailers to the dispatcher and sends response trailers', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write(
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nbody\r\n0\r\nX-Sum: 42\r\n\r\n',
    );
    await client.waitForText('0\r\nx-sum: 42\r\n\r\n');
    expect(dispatcher.logs[0].trailers).toEqual([['x-sum', '42']]);
    expect(client.text).toContain('Transfer-Encoding: chunked\r\n');
    expect(client.text).toContain('\r\n4\r\nbody\r\n0\r\nx-sum: 42\r\n\r\n');
  });

  it('answers HEAD with the head only and keeps the connection', async () => {
    const { port } = await front();
    const client = await raw(port);
    client.write('HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('\r\n\r\n');
    client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('Hello, World!');
    const [head, get] = splitResponses(client.text, 1);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('13');
    expect(head.body).toBe('');
    expect(get.body).toBe('Hello, World!');
    expect(client.text.split('Hello, World!').length).toBe(2);
  });

  it('answers HEAD without a content-length with no body and no chunked framing', async () => {
    const { port } = await front();
    const client = await raw(port);
    client.write('HEAD /echo HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('Hello, World!');
    const first = client.text.slice(0, client.text.indexOf('\r\n\r\n'));
    expect(first).not.toContain('Transfer-Encoding');
    expect(client.text.indexOf('HTTP/1.1 200', 5)).toBe(first.length + 4);
  });

  it('forwards 103 Early Hints to HTTP/1.1 clients only', async () => {
    const { port } = await front();
    const c11 = await raw(port);
    c11.write('GET /hints HTTP/1.1\r\nHost: a\r\n\r\n');
    await c11.waitForText('HTTP/1.1 204');
    expect(
      c11.text.startsWith(
        'HTTP/1.1 103 Early Hints\r\nlink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 204 No Content\r\n',
      ),
    ).toBe(true);
    const c10 = await raw(port);
    c10.write('GET /hints HTTP/1.0\r\n\r\n');
    await c10.waitForText('HTTP/1.1 204');
    expect(c10.text.startsWith('HTTP/1.1 204')).toBe(true);
  });

  it('serves HTTP/1.0: keep-alive on request, close-delimited body without a length', async () => {
    const { port } = await front();
    const keep = await raw(port);
    keep.write('GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await keep.waitForText('Hello, World!');
    expect(keep.text).toContain('\r\nConnection: keep-alive\r\n');
    keep.write('GET /hello HTTP/1.0\r\n\r\n');
    await keep.waitForText('Hello, World!', 2);
    await keep.waitForClose();
    const close = await raw(port);
    close.write('POST /echo HTTP/1.0\r\nContent-Length: 4\r\n\r\nabcd');
    await close.waitForClose();
    expect(close.text).not.toContain('Transfer-Encoding');
    expect(close.text).toContain('\r\nConnection: close\r\n');
    expect(close.text.endsWith('\r\n\r\nabcd')).toBe(true);
  });

  it('closes after maxRequestsPerConnection, saying so in the last response', async () => {
    const { port } = await front({ maxRequestsPerConnection: 2 });
    const client = await raw(port);
    client.write(
      'GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    await client.waitForClose();
    const responses = splitResponses(client.text);
    expect(responses).toHaveLength(2);
    expect(responses[0].headers.has('connection')).toBe(false);
    expect(responses[1].headers.get('connection')).toBe('close');
  });

  it('answers respondError with text/plain naming the request id, and X-Request-Id', async () => {
    const { port, observer } = await front();
    const client = await raw(port);
    client.write('GET /error HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('request id');
    const [response] = splitResponses(client.text);
    const id = observer.records[0].exchange.requestId;
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('x-request-id')).toBe(id);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(response.body).toBe(`502 Bad Gateway\nrequest id: ${id}\n`);
    expect(observer.records[0].error).toBe('upstream gone');
  });

  it('gives each request a fresh id', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('Hello, World!', 2);
    const [a, b] = dispatcher.logs.map((l) => l.exchange.requestId);
    expect(a).not.toBe(b);
  });

  it('answers 500 when dispatch() throws, and reports the error', async () => {
    const { port, errors } = await front();
    const client = await raw(port);
    client.write('GET /throw HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('500 Internal Server Error\nrequest id');
    expect(errors).toHaveLength(1);
  });

  it('survives an observer that throws: the response completes, the error is reported', async () => {
    const thrower = {
      onExchangeComplete(): void {
        throw new Error('access log broke');
      },
      onRequestRejected(): void {
        throw new Error('access log broke');
      },
    };
    started = await startFront({}, { observer: thrower });
    const client = await raw(started.port);
    client.write(
      'GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\n\r\n',
    );
    await client.waitForClose();
    expect(splitResponses(client.text).map((r) => r.status)).toEqual([200, 200, 400]);
    expect(started.errors.length).toBe(3);
  });

  it('cuts the connection when a response is shorter than its content-length', async () => {
    const { port, observer } = await front();
    const client = new Client(`http://127.0.0.1:${port}`);
    clients.push(client);
    // The client sees a failure (here before the head: it was still held for coalescing), never a short body.
    await expect(
      (async () => {
        const response = await client.request({ path: '/short', method: 'GET' });
        return response.body.text();
      })(),
    ).rejects.toThrow();
    expect(observer.records[0].error).toBe('response body shorter than its content-length');
  });

  it('fills ConnectionInfo from the socket', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('Hello');
    const info = dispatcher.logs[0].exchange.connection;
    expect(info.remoteAddress).toBe('127.0.0.1');
    expect(info.remotePort).toBe(client.socket.localPort);
    expect(info.localPort).toBe(port);
    expect(info.scheme).toBe('http');
  });

  it('listens on a Unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-front-'));
    const path = join(dir, 'front.sock');
    const f = new HttpFront({ dispatcher: new TestDispatcher() });
    try {
      await f.listen({ path });
      expect(f.address()).toBe(path);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpRequest({ socketPath: path, path: '/hello', headers: { host: 'x' } }, (res) => {
          let text = '';
          res.setEncoding('latin1');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(body).toBe('Hello, World!');
    } finally {
      await f.close({ graceMs: 100 });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
