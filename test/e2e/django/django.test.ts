/**
 * examples/django end to end (issue #5, item 3): the real proxy process in front of the Python
 * worker as a pre-fork master (2 processes, --threads 1, a socket directory), started the
 * documented way (serve.py: collectstatic, then the worker), every page checked with undici:
 * the page, the CSRF-protected form, the JSON API, a multipart upload of several MiB, a streaming
 * response, the collected static files served by the proxy (ETag/304, Range), a 404, the
 * forwarding fields as Django sees them, and the proxy's buffering in front of the threaded worker.
 *
 * Needs Python with the pinned requirements: pip install -r worker-runtime/python/requirements.txt
 * (without them this file fails with that message), and the built proxy (npx tsc -b proxy).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { DjangoStack, missingDependency } from './django-stack.js';

const missing = missingDependency();

interface Page {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Page> {
  const response = await request(url, { headers });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: Buffer.from(await response.body.arrayBuffer()),
  };
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>): Promise<Page> {
  const response = await request(url, { method: 'POST', body, headers });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: Buffer.from(await response.body.arrayBuffer()),
  };
}

function header(page: Page, name: string): string | undefined {
  const value = page.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The CSRF cookie Django set and the token it put in the page's forms. */
function csrf(page: Page): { cookie: string; token: string } {
  const setCookie = page.headers['set-cookie'];
  const cookies = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const cookie = cookies.map((c) => /^csrftoken=([^;]+)/.exec(c)?.[1]).find(Boolean);
  const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(page.body.toString())?.[1];
  if (!cookie || !token)
    throw new Error(`no CSRF cookie/token in the page (set-cookie: ${String(setCookie)})`);
  return { cookie, token };
}

function multipart(
  fields: Record<string, string>,
  file: { name: string; content: Buffer },
): { type: string; body: Buffer } {
  const boundary = `gatewire${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields))
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
    );
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    file.content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { type: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

/** /download/'s body: byte i is i % 256. */
function expectPattern(body: Buffer, size: number): void {
  expect(body.length).toBe(size);
  for (let i = 0; i < size; i++)
    if (body[i] !== (i & 0xff)) throw new Error(`byte ${i} of the download is ${body[i]}`);
}

/**
 * A client that sends its request, reads the first bytes of the answer, then stops reading: the
 * kernel buffers fill up and whoever writes the response has to wait for it, or buffer it.
 */
class SlowReader {
  readonly socket: Socket;
  readonly chunks: Buffer[] = [];
  received = 0;
  closed = false;

  constructor(port: number, target: string) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.received += chunk.length;
    });
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => {});
    this.socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  }

  /** Waits for the first bytes of the response, then stops reading. */
  async startedThenStall(): Promise<void> {
    await waitFor(
      () => this.received > 0 || this.closed,
      15_000,
      () => 'the first bytes of the download',
    );
    this.socket.pause();
  }

  /** Reads the rest; returns the status line, the headers and the body. */
  async finish(size: number): Promise<{ head: string; body: Buffer }> {
    this.socket.resume();
    const headEnd = (): number => Buffer.concat(this.chunks).indexOf('\r\n\r\n');
    await waitFor(
      () => {
        const end = headEnd();
        return (end >= 0 && this.received >= end + 4 + size) || this.closed;
      },
      60_000,
      () => `the whole download (${this.received} bytes so far)`,
    );
    const all = Buffer.concat(this.chunks);
    const end = all.indexOf('\r\n\r\n');
    this.socket.destroy();
    return { head: all.subarray(0, end).toString('latin1'), body: all.subarray(end + 4) };
  }
}

if (missing !== null) {
  test('the Django example can run (Python requirements, built proxy)', () => {
    throw new Error(missing);
  });
} else {
  describe('Django example through the proxy and the Python worker (2 processes, --threads 1)', () => {
    let stack: DjangoStack;

    beforeAll(async () => {
      stack = await DjangoStack.start({ processes: 2, threads: 1 });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    }, 30_000);

    it('serves the page, rendered by Django, linking the collected (hashed) static files', async () => {
      const page = await get(stack.url('/'));
      expect(page.status, page.body.toString()).toBe(200);
      expect(header(page, 'content-type')).toBe('text/html; charset=utf-8');
      expect(header(page, 'x-frame-options')).toBe('DENY');
      const html = page.body.toString();
      expect(html).toContain('<h1>Django on gatewire</h1>');
      const pid = Number(/Served by worker process (\d+)/.exec(html)?.[1]);
      expect(stack.workerPids()).toContain(pid);
      expect(html).toMatch(/href="\/static\/demo\/site\.[0-9a-f]{12}\.css"/);
    });

    it('balances requests over both worker processes of the master', async () => {
      expect(stack.workerPids()).toHaveLength(2);
      // Each request keeps its worker busy for a second; the proxy never gives a --threads 1
      // worker a second request at once, so the two go to different processes.
      const answers = await Promise.all(
        [0, 1].map(async () => JSON.parse((await get(stack.url('/api/info/?delay=1'))).body.toString())),
      );
      expect(new Set(answers.map((a) => a.worker_pid))).toEqual(new Set(stack.workerPids()));
    });

    it('accepts the form POST with the CSRF token from the page and cookie, refuses it without (403)', async () => {
      const { cookie, token } = csrf(await get(stack.url('/')));
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: `csrftoken=${cookie}`,
      };
      const accepted = await post(
        stack.url('/greet/'),
        `csrfmiddlewaretoken=${encodeURIComponent(token)}&name=Ada+%3CLovelace%3E`,
        headers,
      );
      expect(accepted.status, accepted.body.toString()).toBe(200);
      expect(accepted.body.toString()).toContain('Hello, Ada &lt;Lovelace&gt;!'); // escaped by the template

      const refused = await post(stack.url('/greet/'), 'name=Eve', headers);
      expect(refused.status).toBe(403);
      expect(refused.body.toString()).toContain('CSRF verification failed');

      const wrongToken = await post(
        stack.url('/greet/'),
        `csrfmiddlewaretoken=${'x'.repeat(64)}&name=Eve`,
        headers,
      );
      expect(wrongToken.status).toBe(403);
    });

    it('answers the JSON API (GET and a JSON POST), with the request id of the proxy access log', async () => {
      const info = await get(stack.url('/api/info/'));
      expect(info.status).toBe(200);
      expect(header(info, 'content-type')).toBe('application/json');
      const data = JSON.parse(info.body.toString());
      expect(data.server).toMatch(/^gatewire-wsgi\//);
      expect(data.host).toBe(`127.0.0.1:${stack.port}`);
      expect(stack.workerPids()).toContain(data.worker_pid);
      // The environ's request_id is the one the proxy logs: worker and proxy logs correlate.
      await waitFor(
        () => stack.accessLog().some((line) => line.requestId === data.request_id),
        5_000,
        () => `an access-log line with requestId ${data.request_id}`,
      );
      const line = stack.accessLog().find((l) => l.requestId === data.request_id)!;
      expect(line.path).toBe('/api/info/');
      expect(line.status).toBe(200);

      const payload = { items: [1, 2, 3], name: 'café ☕', nested: { ok: true } };
      const echoed = await post(stack.url('/api/echo/'), JSON.stringify(payload), {
        'content-type': 'application/json',
      });
      expect(echoed.status, echoed.body.toString()).toBe(200);
      const echo = JSON.parse(echoed.body.toString());
      expect(echo.received).toEqual(payload);
      expect(echo.bytes).toBe(Buffer.byteLength(JSON.stringify(payload)));

      const wrongType = await post(stack.url('/api/echo/'), 'a=1', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(wrongType.status).toBe(415);
    });

    it('takes a multipart upload of several MiB, byte for byte (SHA-256 computed by the view)', async () => {
      const { cookie, token } = csrf(await get(stack.url('/')));
      const content = randomBytes(6 * 1024 * 1024 + 123);
      const form = multipart(
        { csrfmiddlewaretoken: token, description: 'random bytes' },
        { name: 'blob.bin', content },
      );
      const uploaded = await post(stack.url('/upload/'), form.body, {
        'content-type': form.type,
        cookie: `csrftoken=${cookie}`,
      });
      expect(uploaded.status, uploaded.body.toString().slice(0, 500)).toBe(200);
      expect(JSON.parse(uploaded.body.toString())).toEqual({
        name: 'blob.bin',
        size: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
        content_type: 'application/octet-stream',
        description: 'random bytes',
      });
    });

    it('streams a StreamingHttpResponse: lines arrive one by one, not all at the end', async () => {
      const response = await request(stack.url('/stream/?n=4&delay=0.3'));
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-length']).toBeUndefined(); // chunked to the client
      const chunks: string[] = [];
      for await (const chunk of response.body) chunks.push(Buffer.from(chunk as Uint8Array).toString());
      expect(chunks.join('').split('\n').filter(Boolean)).toEqual([0, 1, 2, 3].map((i) => `line ${i} of 4`));
      // The view sleeps between lines: a first read holding every line would mean the response was
      // held back until it was complete.
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks[0]).not.toContain('line 3 of 4');
    });

    it('serves the collected static files itself, with ETag/304 and Range (no worker involved)', async () => {
      const html = (await get(stack.url('/'))).body.toString();
      const href = /href="(\/static\/demo\/site\.[0-9a-f]{12}\.css)"/.exec(html)![1];
      const onDisk = readFileSync(join(stack.staticRoot, href.slice('/static/'.length)));
      expect(onDisk.toString()).toContain('{'); // collectstatic wrote the hashed copy

      const css = await get(stack.url(href));
      expect(css.status).toBe(200);
      expect(header(css, 'content-type')).toMatch(/^text\/css/);
      expect(css.body.equals(onDisk)).toBe(true);
      const etag = header(css, 'etag');
      expect(etag).toBeTruthy();
      expect(header(css, 'cache-control')).toBe('max-age=3600');

      const notModified = await get(stack.url(href), { 'if-none-match': etag! });
      expect(notModified.status).toBe(304);
      expect(notModified.body.length).toBe(0);

      const range = await get(stack.url(href), { range: 'bytes=0-9' });
      expect(range.status).toBe(206);
      expect(header(range, 'content-range')).toBe(`bytes 0-9/${onDisk.length}`);
      expect(range.body.equals(onDisk.subarray(0, 10))).toBe(true);

      await waitFor(
        () => stack.accessLog().filter((line) => line.path === href).length >= 3,
        5_000,
        () => `three access-log lines for ${href}`,
      );
      for (const line of stack.accessLog().filter((l) => l.path === href))
        expect(line.upstream).toBe('static');
    });

    it("answers an unknown path with Django's 404 page", async () => {
      const page = await get(stack.url('/no-such-page/'));
      expect(page.status).toBe(404);
      expect(header(page, 'content-type')).toBe('text/html; charset=utf-8');
      expect(page.body.toString()).toContain('Not Found');
      // A missing static file is the proxy's 404, not Django's.
      const asset = await get(stack.url('/static/demo/missing.css'));
      expect(asset.status).toBe(404);
    });

    it('gives Django the client address and scheme: a client’s own X-Forwarded-* are replaced', async () => {
      const info = await get(stack.url('/api/info/'), {
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'x-request-id': 'forged-id',
      });
      const data = JSON.parse(info.body.toString());
      expect(data).toMatchObject({
        client: '127.0.0.1',
        scheme: 'http',
        secure: false,
        forwarded_for: '127.0.0.1',
        forwarded_proto: 'http',
        forwarded_host: `127.0.0.1:${stack.port}`,
      });
      expect(data.request_id).not.toBe('forged-id');
    });

    it('gives Django the client behind a trusted proxy: REMOTE_ADDR, https, the chain and the request id', async () => {
      // A second proxy on the same socket directory that trusts 127.0.0.1 (as behind a TLS terminator).
      const trusted = await stack.startProxy({ trustedProxies: ['127.0.0.1'] });
      const port = await trusted.port();
      const info = await get(stack.url('/api/info/', port), {
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-proto': 'https',
        'x-request-id': 'edge-request-42',
      });
      expect(info.status).toBe(200);
      expect(JSON.parse(info.body.toString())).toMatchObject({
        client: '203.0.113.9',
        scheme: 'https',
        secure: true,
        forwarded_for: '203.0.113.9, 127.0.0.1',
        forwarded_proto: 'https',
        request_id: 'edge-request-42',
      });
      await trusted.stop();
    });

    it('buffers for the threaded worker: slow readers hold no worker thread while other requests complete', async () => {
      const size = 48 * 1024 * 1024;
      // As many slow downloads as the workers have threads (2 processes x 1): without buffering,
      // each would keep its worker writing until the client reads.
      const readers = stack.workerPids().map(() => new SlowReader(stack.port, `/download/?size=${size}`));
      await Promise.all(readers.map((reader) => reader.startedThenStall()));
      for (let i = 0; i < 4; i++) {
        const info = await get(stack.url('/api/info/'));
        expect(info.status, info.body.toString()).toBe(200);
      }
      // The slow clients got their whole bodies from the proxy's buffer, intact.
      for (const reader of readers) {
        expect(reader.received).toBeLessThan(size);
        const { head, body } = await reader.finish(size);
        expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(head.toLowerCase()).toContain(`content-length: ${size}`);
        expectPattern(body, size);
      }
    }, 120_000);
  });

  describe('the same slow reader without the proxy buffering (buffering: off): the contrast', () => {
    let stack: DjangoStack;

    beforeAll(async () => {
      stack = await DjangoStack.start({
        processes: 1,
        threads: 1,
        // No queue slot: the next request must wait in the proxy's queue (a queue slot would hold
        // it in the worker behind the stalled download, with no other process to recall it to).
        backlog: 0,
        upstream: { buffering: 'off' },
        upstreamDefaults: { queueTimeoutMs: 2_000 },
      });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    }, 30_000);

    it('one slow reader holds the only worker thread: the next request waits, then 503', async () => {
      const size = 48 * 1024 * 1024;
      const reader = new SlowReader(stack.port, `/download/?size=${size}`);
      await reader.startedThenStall();
      const waiting = await get(stack.url('/api/info/'));
      expect(waiting.status).toBe(503);
      // Once the client reads, the worker finishes and serves again.
      const { body } = await reader.finish(size);
      expectPattern(body, size);
      const after = await get(stack.url('/api/info/'));
      expect(after.status).toBe(200);
    }, 120_000);
  });
}
