import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  truncate,
  utimes,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HeaderPairs } from '@gatewire/protocol';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { formatHttpDate } from '../../../proxy/src/static/http-date.js';
import { StaticFiles, type StaticFilesOptions } from '../../../proxy/src/static/static-files.js';
import { CHUNK_SIZE } from '../../../proxy/src/static/static-request.js';
import { RecordingExchange, type RecordingOptions } from './recording-exchange.js';

let base: string;
let root: string;
let files: StaticFiles;
const data = randomBytes(1024 * 1024 + 123);
const isRoot = process.getuid?.() === 0;
// Every FileHandle the handler opens is fstat'ed right away (file-resolver.ts): the spy's recorded
// `this` values are those handles, and a closed handle's fd reads -1. Holding them also keeps a
// leaked handle from being closed quietly by garbage collection before the test looks.
let handleStats: MockInstance;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'gatewire-static-'));
  root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(join(root, 'css'), { recursive: true });
  await mkdir(join(root, 'docs'));
  await mkdir(join(root, '.git'));
  await mkdir(join(root, 'alt'));
  await mkdir(join(root, 'index-is-dir', 'index.html'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'index.html'), '<h1>home</h1>');
  await writeFile(join(root, 'css', 'site.css'), 'body{}');
  await writeFile(join(root, 'css', 'index.html'), '<h1>css</h1>');
  await writeFile(join(root, 'docs', 'readme.txt'), 'read me');
  await writeFile(join(root, 'alt', 'default.htm'), 'default');
  await writeFile(join(root, 'alt', 'index.html'), 'index');
  await writeFile(join(root, 'empty.txt'), '');
  await writeFile(join(root, 'data.bin'), data);
  // An hour old: Last-Modified is then a strong validator, usable in If-Range.
  const anHourAgo = Date.now() / 1000 - 3600;
  await utimes(join(root, 'data.bin'), anHourAgo, anHourAgo);
  await writeFile(join(root, 'café.txt'), 'accent');
  await writeFile(join(root, '%2e%2e'), 'literal percent name');
  await writeFile(join(root, '.env'), 'SECRET=1');
  await writeFile(join(root, '.git', 'config'), '[core]');
  await writeFile(join(outside, 'secret.txt'), 'outside secret');
  await writeFile(join(base, 'root-sibling.txt'), 'sibling secret');
  await symlink(join(outside, 'secret.txt'), join(root, 'link-out.txt'));
  await symlink('../outside', join(root, 'dirlink-out'));
  await symlink('css/site.css', join(root, 'link-in.css'));
  await symlink('.env', join(root, 'innocent.txt'));
  await symlink('/etc/passwd', join(root, 'passwd'));
  await symlink('loop-b', join(root, 'loop-a'));
  await symlink('loop-a', join(root, 'loop-b'));
  execFileSync('mkfifo', [join(root, 'pipe.txt')]);
  await writeFile(join(root, 'locked.txt'), 'no access');
  await chmod(join(root, 'locked.txt'), 0o000);
  files = new StaticFiles({ root });
  const probe = await open(join(root, 'empty.txt'));
  const prototype = Object.getPrototypeOf(probe) as { stat: () => unknown };
  await probe.close();
  handleStats = vi.spyOn(prototype, 'stat');
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

interface ServeOptions extends RecordingOptions {
  statics?: StaticFiles;
}

/** Serves `relative` under the route prefix '/static/' and waits for the exchange to end. */
async function serve(relative: string, options: ServeOptions = {}): Promise<RecordingExchange> {
  const exchange = new RecordingExchange({ path: `/static/${relative}`, ...options });
  (options.statics ?? files).handle(exchange, relative);
  await exchange.finished;
  expect(exchange.violations).toEqual([]);
  return exchange;
}

/** Descriptors this process holds on files under the test tree: what a leak would show up as. */
async function openTestFiles(): Promise<string[]> {
  const dir = `/proc/${process.pid}/fd`;
  const targets = await Promise.all(
    (await readdir(dir)).map((fd) => readlink(join(dir, fd)).catch(() => '')),
  );
  return targets.filter((target) => target.startsWith(base));
}

/** Runs `body`, then checks that every FileHandle it opened was closed, and none twice. */
async function expectAllClosed(body: () => Promise<void>): Promise<void> {
  const before = handleStats.mock.contexts.length;
  await body();
  const handles = handleStats.mock.contexts.slice(before) as FileHandle[];
  const stillOpen = () => handles.filter((handle) => handle.fd !== -1).length;
  for (let i = 0; i < 100 && stillOpen() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(handles.length).toBeGreaterThan(0);
  expect(stillOpen()).toBe(0);
}

/** Waits for closes in flight (closing is asynchronous), then lists what is still open. */
async function openTestFilesSettled(): Promise<string[]> {
  for (let i = 0; i < 100 && (await openTestFiles()).length > 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  return openTestFiles();
}

describe('StaticFiles: serving files', () => {
  it('serves a file with its metadata and body', async () => {
    const exchange = await serve('css/site.css');
    const info = await stat(join(root, 'css', 'site.css'));
    expect(exchange.status).toBe(200);
    expect(exchange.reason).toBe('OK');
    expect(exchange.header('content-type')).toBe('text/css; charset=utf-8');
    expect(exchange.header('content-length')).toBe('6');
    expect(exchange.header('accept-ranges')).toBe('bytes');
    expect(exchange.header('last-modified')).toBe(formatHttpDate(Math.floor(info.mtimeMs / 1000)));
    expect(exchange.header('etag')).toMatch(/^"[0-9a-f]+-6-[0-9a-f]+"$/);
    expect(exchange.header('cache-control')).toBeUndefined();
    expect(exchange.body().toString()).toBe('body{}');
    expect(exchange.ended).toBe(true);
    expect(exchange.trailers).toBeNull();
  });

  it('hands the exchange its handler and starts the (empty) request body', async () => {
    const exchange = await serve('css/site.css');
    expect(exchange.handler).not.toBeNull();
    expect(exchange.calls.slice(0, 1)).toEqual(['startRequestBody']);
    expect(exchange.calls).not.toContain('discardRequestBody');
  });

  it('discards a body sent with a GET instead of starting it, and still serves the file', async () => {
    for (const bodyLength of [10, null]) {
      const exchange = await serve('css/site.css', { bodyLength });
      expect(exchange.calls.slice(0, 1)).toEqual(['discardRequestBody']);
      expect(exchange.calls).not.toContain('startRequestBody');
      exchange.handler?.onRequestBody(Buffer.from('ignored'));
      exchange.handler?.onRequestEnd(null);
      expect(exchange.status).toBe(200);
      expect(exchange.body().toString()).toBe('body{}');
    }
  });

  it('sends Cache-Control when maxAgeSeconds is set', async () => {
    const statics = new StaticFiles({ root, maxAgeSeconds: 3600 });
    const exchange = await serve('css/site.css', { statics });
    expect(exchange.header('cache-control')).toBe('max-age=3600');
  });

  it('serves a 0-byte file as 200 with Content-Length 0 and no body writes', async () => {
    const exchange = await serve('empty.txt');
    expect(exchange.status).toBe(200);
    expect(exchange.header('content-length')).toBe('0');
    expect(exchange.bodyWrites).toBe(0);
    expect(exchange.ended).toBe(true);
  });

  it('answers HEAD with the GET headers and no body', async () => {
    const exchange = await serve('data.bin', { method: 'HEAD' });
    expect(exchange.status).toBe(200);
    expect(exchange.header('content-length')).toBe(String(data.length));
    expect(exchange.header('content-type')).toBe('application/octet-stream');
    expect(exchange.header('etag')).toBeDefined();
    expect(exchange.bodyWrites).toBe(0);
    expect(exchange.ended).toBe(true);
  });

  it('decodes percent-encoded names once', async () => {
    expect((await serve('caf%C3%A9.txt')).body().toString()).toBe('accent');
    expect((await serve('%252e%252e')).body().toString()).toBe('literal percent name');
  });

  it('serves a symlink that stays inside the root, typed by the requested name', async () => {
    const exchange = await serve('link-in.css');
    expect(exchange.status).toBe(200);
    expect(exchange.header('content-type')).toBe('text/css; charset=utf-8');
    expect(exchange.body().toString()).toBe('body{}');
  });

  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'get', 'TRACE'])(
    'refuses %s with 405 and Allow',
    async (method) => {
      const exchange = await serve('css/site.css', { method, bodyLength: method === 'POST' ? 5 : 0 });
      expect(exchange.error).toMatchObject({
        status: 405,
        headers: [['allow', 'GET, HEAD']],
        afterHead: false,
      });
      expect(exchange.status).toBeNull();
    },
  );

  it('returns 404 for a missing file', async () => {
    expect((await serve('css/missing.css')).error).toMatchObject({ status: 404, afterHead: false });
    expect((await serve('missing-dir/x.css')).error).toMatchObject({ status: 404 });
    expect((await serve('css/site.css/extra')).error).toMatchObject({ status: 404 });
  });

  it('returns 404, not a hang, for a FIFO', async () => {
    expect((await serve('pipe.txt')).error).toMatchObject({ status: 404 });
  });

  it('returns 404 for a symlink loop', async () => {
    expect((await serve('loop-a')).error).toMatchObject({ status: 404 });
  });

  // As root, EACCES never happens; fs-errors.test.ts covers the mapping with an injected error.
  it.skipIf(isRoot)('returns 403 for a file it may not read', async () => {
    expect((await serve('locked.txt')).error).toMatchObject({ status: 403 });
  });
});

describe('StaticFiles: directories', () => {
  it('serves the index file of a directory asked for with a slash', async () => {
    const exchange = await serve('css/');
    expect(exchange.status).toBe(200);
    expect(exchange.header('content-type')).toBe('text/html; charset=utf-8');
    expect(exchange.body().toString()).toBe('<h1>css</h1>');
  });

  it("serves the root's index for the prefix itself", async () => {
    const exchange = await serve('', { path: '/static/' });
    expect(exchange.body().toString()).toBe('<h1>home</h1>');
  });

  it('redirects a directory without its slash to the slash form, query kept', async () => {
    const exchange = await serve('css', { query: 'v=1&x=%20' });
    expect(exchange.status).toBe(301);
    expect(exchange.header('location')).toBe('/static/css/?v=1&x=%20');
    expect(exchange.header('content-length')).toBe('0');
    expect(exchange.bodyWrites).toBe(0);
    expect(exchange.ended).toBe(true);

    const prefixOnly = await serve('', { path: '/static' });
    expect(prefixOnly.header('location')).toBe('/static/');
  });

  it('never redirects to a scheme-relative Location', async () => {
    const exchange = await serve('css', { path: '//evil.example/css' });
    expect(exchange.header('location')).toBe('/evil.example/css/');
  });

  it('returns 404 for a directory without an index: no listings', async () => {
    expect((await serve('docs/')).error).toMatchObject({ status: 404 });
    expect((await serve('index-is-dir/')).error).toMatchObject({ status: 404 });
  });

  it('returns 404 for a file asked for with a trailing slash', async () => {
    expect((await serve('css/site.css/')).error).toMatchObject({ status: 404 });
  });

  it('tries the index names in order', async () => {
    const statics = new StaticFiles({ root, index: ['default.htm', 'index.html'] });
    expect((await serve('alt/', { statics })).body().toString()).toBe('default');
    expect((await serve('css/', { statics })).body().toString()).toBe('<h1>css</h1>');
    const none = new StaticFiles({ root, index: [] });
    expect((await serve('css/', { statics: none })).error).toMatchObject({ status: 404 });
  });
});

describe('StaticFiles: path traversal and hidden files', () => {
  it.each([
    ['../root-sibling.txt', 404],
    ['..%2froot-sibling.txt', 404],
    ['%2e%2e/root-sibling.txt', 404],
    ['%2e%2e%2froot-sibling.txt', 404],
    ['css/..%2f..%2froot-sibling.txt', 404],
    ['css/%2e%2e/%2e%2e/root-sibling.txt', 404],
    ['..%5croot-sibling.txt', 404],
    ['css\\..\\..\\root-sibling.txt', 404],
    ['css%2fsite.css', 404],
    ['css/site.css%00.png', 404],
    ['link-out.txt', 404],
    ['dirlink-out/secret.txt', 404],
    ['dirlink-out/', 404],
    ['passwd', 404],
    ['innocent.txt', 404],
    ['.env', 404],
    ['%2eenv', 404],
    ['.git/config', 404],
    ['.git/', 404],
    ['.git', 404],
    ['%zz', 400],
  ])('%s → %i', async (relative, status) => {
    const exchange = await serve(relative);
    expect(exchange.error).toMatchObject({ status, afterHead: false });
    expect(exchange.bodyWrites).toBe(0);
  });
});

describe('StaticFiles: conditional requests', () => {
  async function etagOf(relative: string): Promise<string> {
    return (await serve(relative, { method: 'HEAD' })).header('etag') as string;
  }

  it('answers a matching If-None-Match with 304, validators and no body', async () => {
    const etag = await etagOf('css/site.css');
    const statics = new StaticFiles({ root, maxAgeSeconds: 60 });
    for (const value of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const exchange = await serve('css/site.css', { statics, headers: [['if-none-match', value]] });
      expect(exchange.status).toBe(304);
      expect(exchange.headers).toEqual([
        ['etag', etag],
        ['cache-control', 'max-age=60'],
      ]);
      expect(exchange.bodyWrites).toBe(0);
      expect(exchange.ended).toBe(true);
    }
  });

  it('answers HEAD with 304 too', async () => {
    const etag = await etagOf('css/site.css');
    const exchange = await serve('css/site.css', { method: 'HEAD', headers: [['if-none-match', etag]] });
    expect(exchange.status).toBe(304);
  });

  it('serves the file when If-None-Match does not match', async () => {
    const exchange = await serve('css/site.css', { headers: [['if-none-match', '"stale"']] });
    expect(exchange.status).toBe(200);
    expect(exchange.body().toString()).toBe('body{}');
  });

  it('answers If-Modified-Since with 304 unless the file is newer', async () => {
    const lastModified = (await serve('css/site.css', { method: 'HEAD' })).header('last-modified') as string;
    expect((await serve('css/site.css', { headers: [['if-modified-since', lastModified]] })).status).toBe(
      304,
    );
    const earlier = formatHttpDate(Date.parse(lastModified) / 1000 - 1);
    expect((await serve('css/site.css', { headers: [['if-modified-since', earlier]] })).status).toBe(200);
  });

  it('lets If-None-Match take precedence over If-Modified-Since', async () => {
    const lastModified = (await serve('css/site.css', { method: 'HEAD' })).header('last-modified') as string;
    const headers: HeaderPairs = [
      ['if-none-match', '"stale"'],
      ['if-modified-since', lastModified],
    ];
    expect((await serve('css/site.css', { headers })).status).toBe(200);
  });

  it('answers a failed If-Match or If-Unmodified-Since with 412', async () => {
    expect((await serve('css/site.css', { headers: [['if-match', '"stale"']] })).error).toMatchObject({
      status: 412,
    });
    const headers: HeaderPairs = [['if-unmodified-since', 'Sun, 06 Nov 1994 08:49:37 GMT']];
    expect((await serve('css/site.css', { headers })).error).toMatchObject({ status: 412 });
    const etag = await etagOf('css/site.css');
    expect((await serve('css/site.css', { headers: [['if-match', etag]] })).status).toBe(200);
  });
});

describe('StaticFiles: ranges', () => {
  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=1000-', 1000, data.length - 1],
    ['bytes=-100', data.length - 100, data.length - 1],
    ['bytes=0-0', 0, 0],
    ['bytes=100-199,150-299', 100, 299],
    [`bytes=${data.length - 1}-${data.length * 2}`, data.length - 1, data.length - 1],
  ])('%s → 206 for %i-%i', async (range, start, end) => {
    const exchange = await serve('data.bin', { headers: [['range', range]] });
    expect(exchange.status).toBe(206);
    expect(exchange.reason).toBe('Partial Content');
    expect(exchange.header('content-range')).toBe(`bytes ${start}-${end}/${data.length}`);
    expect(exchange.header('content-length')).toBe(String(end - start + 1));
    expect(exchange.header('etag')).toBeDefined();
    expect(exchange.body().equals(data.subarray(start, end + 1))).toBe(true);
  });

  it('answers an unsatisfiable range with 416 and Content-Range bytes */size', async () => {
    for (const range of [`bytes=${data.length}-`, 'bytes=-0', 'bytes=5-1', 'bytes=abc']) {
      const exchange = await serve('data.bin', { headers: [['range', range]] });
      expect(exchange.error).toMatchObject({
        status: 416,
        headers: [['content-range', `bytes */${data.length}`]],
        afterHead: false,
      });
    }
    const empty = await serve('empty.txt', { headers: [['range', 'bytes=0-0']] });
    expect(empty.error).toMatchObject({ status: 416, headers: [['content-range', 'bytes */0']] });
  });

  it('answers disjoint multiple ranges with the whole file', async () => {
    const exchange = await serve('data.bin', { headers: [['range', 'bytes=0-0,-1']] });
    expect(exchange.status).toBe(200);
    expect(exchange.header('content-range')).toBeUndefined();
    expect(exchange.body().equals(data)).toBe(true);
  });

  it('ignores other units, a repeated Range field, and Range on HEAD', async () => {
    const unit = await serve('data.bin', { headers: [['range', 'items=0-1']] });
    expect(unit.status).toBe(200);
    const twice = await serve('data.bin', {
      headers: [
        ['range', 'bytes=0-1'],
        ['range', 'bytes=2-3'],
      ],
    });
    expect(twice.status).toBe(200);
    expect(twice.bodyBytes).toBe(data.length);
    const head = await serve('data.bin', { method: 'HEAD', headers: [['range', 'bytes=0-1']] });
    expect(head.status).toBe(200);
    expect(head.header('content-length')).toBe(String(data.length));
  });

  it('honours If-Range only while the validator still matches', async () => {
    const probe = await serve('data.bin', { method: 'HEAD' });
    const etag = probe.header('etag') as string;
    const lastModified = probe.header('last-modified') as string;
    const withIfRange = (ifRange: string) =>
      serve('data.bin', {
        headers: [
          ['range', 'bytes=10-19'],
          ['if-range', ifRange],
        ],
      });
    expect((await withIfRange(etag)).status).toBe(206);
    expect((await withIfRange(lastModified)).status).toBe(206);
    const stale = await withIfRange('"stale"');
    expect(stale.status).toBe(200);
    expect(stale.bodyBytes).toBe(data.length);
    expect((await withIfRange(`W/${etag}`)).status).toBe(200);
  });

  it('ignores an If-Range date while Last-Modified is too recent to be a strong validator', async () => {
    await writeFile(join(root, 'fresh.txt'), 'just written');
    const lastModified = (await serve('fresh.txt', { method: 'HEAD' })).header('last-modified') as string;
    const exchange = await serve('fresh.txt', {
      headers: [
        ['range', 'bytes=0-3'],
        ['if-range', lastModified],
      ],
    });
    expect(exchange.status).toBe(200);
    expect(exchange.body().toString()).toBe('just written');
  });

  it('serves an empty file whole for a suffix range', async () => {
    const exchange = await serve('empty.txt', { headers: [['range', 'bytes=-5']] });
    expect(exchange.status).toBe(200);
    expect(exchange.header('content-length')).toBe('0');
  });
});

describe('StaticFiles: streaming and backpressure', () => {
  it('reads in bounded chunks and never writes while the socket is full', async () => {
    const highWaterMark = 16 * 1024;
    const exchange = await serve('data.bin', { highWaterMark });
    expect(exchange.body().equals(data)).toBe(true);
    expect(exchange.drains).toBeGreaterThan(10);
    expect(exchange.maxBuffered).toBeLessThanOrEqual(highWaterMark + CHUNK_SIZE);
    for (const chunk of exchange.chunks) expect(chunk.length).toBeLessThanOrEqual(CHUNK_SIZE);
  });

  it('waits for onResponseDrain before reading on', async () => {
    const exchange = new RecordingExchange({ path: '/static/data.bin', highWaterMark: 1, autoDrain: false });
    files.handle(exchange, 'data.bin');
    await until(() => exchange.bodyWrites === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(exchange.bodyWrites).toBe(1);
    for (let writes = 1; !exchange.ended; writes++) {
      expect(exchange.bodyWrites).toBe(writes);
      exchange.drain();
      await until(() => exchange.bodyWrites > writes || exchange.ended);
    }
    expect(exchange.violations).toEqual([]);
    expect(exchange.body().equals(data)).toBe(true);
  });

  it('stops and closes the file when the client goes away mid-body', async () => {
    await expectAllClosed(async () => {
      const exchange = new RecordingExchange({
        path: '/static/data.bin',
        highWaterMark: 1,
        autoDrain: false,
      });
      files.handle(exchange, 'data.bin');
      await until(() => exchange.bodyWrites === 1);
      expect(await openTestFiles()).toEqual([join(root, 'data.bin')]);
      exchange.abort('client-gone');
      exchange.drain();
      expect(await openTestFilesSettled()).toEqual([]);
      await new Promise((r) => setTimeout(r, 20));
      expect(exchange.bodyWrites).toBe(1);
      expect(exchange.ended).toBe(false);
      expect(exchange.violations).toEqual([]);
    });
  });

  it('closes the file when the client goes away while it is being looked up', async () => {
    await expectAllClosed(async () => {
      const exchange = new RecordingExchange({ path: '/static/data.bin' });
      files.handle(exchange, 'data.bin');
      exchange.abort('client-timeout');
      // Give the lookup time to open the file and notice the abort.
      await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50));
      expect(exchange.calls).toEqual(['startRequestBody']);
      expect(exchange.violations).toEqual([]);
    });
  });

  it.each<[string, string, RecordingOptions]>([
    ['a complete GET', 'data.bin', {}],
    ['a HEAD', 'data.bin', { method: 'HEAD' }],
    ['a 304', 'data.bin', { headers: [['if-none-match', '*']] }],
    ['a 206', 'data.bin', { headers: [['range', 'bytes=1-2']] }],
    ['a 416', 'data.bin', { headers: [['range', 'bytes=99999999-']] }],
    ['a 412', 'data.bin', { headers: [['if-match', '"x"']] }],
    ['an index', 'css/', {}],
    ['a directory without index', 'docs/', {}],
    ['a 301', 'css', {}],
    ['a file with a trailing slash', 'css/site.css/', {}],
    ['a FIFO', 'pipe.txt', {}],
  ])('closes every file it opened after %s', async (_name, relative, options) => {
    await expectAllClosed(async () => {
      await serve(relative, options);
    });
  });

  it.each<[string, string, RecordingOptions]>([
    ['the head of a 200', 'data.bin', { abortDuring: 'writeResponseHead' }],
    [
      'the head of a 206',
      'data.bin',
      { abortDuring: 'writeResponseHead', headers: [['range', 'bytes=0-9']] },
    ],
    ['the head of a HEAD response', 'data.bin', { abortDuring: 'writeResponseHead', method: 'HEAD' }],
    [
      'the head of a 304',
      'data.bin',
      { abortDuring: 'writeResponseHead', headers: [['if-none-match', '*']] },
    ],
    ['the first body write', 'data.bin', { abortDuring: 'writeResponseBody' }],
  ])('calls nothing more once the client is reported gone during %s', async (_name, relative, options) => {
    await expectAllClosed(async () => {
      const exchange = new RecordingExchange({ path: `/static/${relative}`, ...options });
      files.handle(exchange, relative);
      await exchange.finished;
      await new Promise((r) => setTimeout(r, 20));
      expect(exchange.aborted).toBe('client-gone');
      expect(exchange.violations).toEqual([]);
      expect(exchange.bodyWrites).toBeLessThanOrEqual(1);
    });
  });

  it('cuts the connection when the file shrinks after the head was sent', async () => {
    const path = join(root, 'shrinking.bin');
    await writeFile(path, data);
    const exchange = new RecordingExchange({
      path: '/static/shrinking.bin',
      highWaterMark: 1,
      autoDrain: false,
    });
    files.handle(exchange, 'shrinking.bin');
    await until(() => exchange.bodyWrites === 1);
    await truncate(path, 10);
    exchange.drain();
    await exchange.finished;
    expect(exchange.status).toBe(200);
    expect(exchange.error).toMatchObject({ status: 500, afterHead: true });
    expect(exchange.ended).toBe(false);
    expect(exchange.violations).toEqual([]);
  });
});

describe('StaticFiles: options', () => {
  it.each<[string, unknown]>([
    ['an empty root', { root: '' }],
    ['a root with NUL', { root: '/srv\0' }],
    ['a missing root', {}],
    ['an index with a slash', { root: '/srv', index: ['a/index.html'] }],
    ['an index climbing up', { root: '/srv', index: ['..'] }],
    ['a hidden index', { root: '/srv', index: ['.index.html'] }],
    ['an empty index name', { root: '/srv', index: [''] }],
    ['an index that is not a list', { root: '/srv', index: 'index.html' }],
    ['a negative max-age', { root: '/srv', maxAgeSeconds: -1 }],
    ['a fractional max-age', { root: '/srv', maxAgeSeconds: 1.5 }],
    ['an unknown key', { root: '/srv', dotfiles: true }],
  ])('refuses %s', (_name, options) => {
    expect(() => new StaticFiles(options as StaticFilesOptions)).toThrow(/StaticFiles/);
  });

  it('accepts a relative root, resolved at construction', async () => {
    const statics = new StaticFiles({ root: join(root, 'css', '..', 'css') });
    expect((await serve('site.css', { statics })).body().toString()).toBe('body{}');
  });

  it('returns 404 while the root does not exist', async () => {
    const statics = new StaticFiles({ root: join(base, 'not-yet') });
    expect((await serve('site.css', { statics })).error).toMatchObject({ status: 404 });
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(condition()).toBe(true);
}
