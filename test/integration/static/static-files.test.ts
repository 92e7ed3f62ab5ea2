import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../proxy/src/config/config-validation.js';
import { GatewireProxy } from '../../../proxy/src/proxy-server.js';

/**
 * Static files through the whole proxy: config → router → dispatcher → StaticFiles → HttpFront →
 * a real socket, spoken to by undici, curl and raw TCP for what clients normally refuse to send.
 */
const run = promisify(execFile);

let base: string;
let root: string;
let proxy: GatewireProxy;
let origin: string;
let client: Client;
const big = randomBytes(8 * 1024 * 1024 + 7);
const SECRET = 'outside-the-root-secret';

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'gatewire-static-it-'));
  root = join(base, 'static');
  await mkdir(join(root, 'css'), { recursive: true });
  await mkdir(join(base, 'sockets'));
  await writeFile(join(root, 'css', 'site.css'), 'body { color: red }\n');
  await writeFile(join(root, 'index.html'), '<h1>static home</h1>');
  await writeFile(join(root, 'big.bin'), big);
  await writeFile(join(root, '.env'), SECRET);
  await writeFile(join(base, 'secret.txt'), SECRET);
  await symlink(join(base, 'secret.txt'), join(root, 'escape.txt'));
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      log: { level: 'silent', access: false },
      // No worker ever joins: every request here must be answered by the static route.
      upstreams: { app: { socketDir: join(base, 'sockets') } },
      routes: [
        { path: '/static/', static: { root, maxAgeSeconds: 600 } },
        { path: '/', upstream: 'app' },
      ],
    },
    'static integration test',
  );
  proxy = new GatewireProxy(config, { logger: pino({ level: 'silent' }) });
  await proxy.listen();
  const address = proxy.address!;
  origin = `http://${address.host}:${address.port}`;
  client = new Client(origin);
});

afterAll(async () => {
  await client?.close();
  proxy?.destroy();
  await rm(base, { recursive: true, force: true });
});

async function get(
  path: string,
  headers: Record<string, string> = {},
  method: 'GET' | 'HEAD' | 'POST' = 'GET',
) {
  const response = await client.request({ path, method, headers });
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body };
}

/** One raw request on a fresh connection; resolves with everything the server sent until it closed or went quiet. */
function raw(request: string, quietMs = 300): Promise<string> {
  const address = proxy.address!;
  return new Promise((resolve, reject) => {
    const socket = connect(address.port, address.host);
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | null = null;
    const finish = () => {
      if (timer) clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (timer) clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    });
    socket.on('end', finish);
    socket.on('error', reject);
    socket.write(request);
    timer = setTimeout(finish, quietMs * 3);
  });
}

describe('static files through the proxy (undici)', () => {
  it('matches the route prefix on segment boundaries: /static redirects to /static/, /staticfoo is not static', async () => {
    const bare = await get('/static?v=1');
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/static/?v=1');
    expect(proxy.dispatcher.route('x', '/staticfoo')?.target.kind).toBe('upstream');
    expect(proxy.dispatcher.route('x', '/static-old/a.css')?.target.kind).toBe('upstream');
    expect(proxy.dispatcher.route('x', '/static/a.css')?.target.kind).toBe('static');
  });

  it('serves a file with validators, caching and a Date', async () => {
    const response = await get('/static/css/site.css');
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('body { color: red }\n');
    expect(response.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(response.headers['content-length']).toBe('20');
    expect(response.headers['accept-ranges']).toBe('bytes');
    expect(response.headers['cache-control']).toBe('max-age=600');
    expect(response.headers['etag']).toMatch(/^"[0-9a-f-]+"$/);
    expect(response.headers['last-modified']).toMatch(/ GMT$/);
    expect(response.headers['date']).toMatch(/ GMT$/);
  });

  it('answers HEAD with the length and no body', async () => {
    const response = await get('/static/big.bin', {}, 'HEAD');
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe(String(big.length));
    expect(response.body.length).toBe(0);
  });

  it('streams a large file intact', async () => {
    const response = await get('/static/big.bin');
    expect(response.status).toBe(200);
    expect(createHash('sha256').update(response.body).digest('hex')).toBe(
      createHash('sha256').update(big).digest('hex'),
    );
  });

  it('answers conditional requests with 304', async () => {
    const first = await get('/static/css/site.css');
    const etag = first.headers['etag'] as string;
    const byTag = await get('/static/css/site.css', { 'if-none-match': etag });
    expect(byTag.status).toBe(304);
    expect(byTag.body.length).toBe(0);
    expect(byTag.headers['etag']).toBe(etag);
    const byDate = await get('/static/css/site.css', {
      'if-modified-since': first.headers['last-modified'] as string,
    });
    expect(byDate.status).toBe(304);
    const precedence = await get('/static/css/site.css', {
      'if-none-match': '"stale"',
      'if-modified-since': first.headers['last-modified'] as string,
    });
    expect(precedence.status).toBe(200);
  });

  it('serves byte ranges and refuses unsatisfiable ones', async () => {
    const part = await get('/static/big.bin', { range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-1999/${big.length}`);
    expect(part.body.equals(big.subarray(1000, 2000))).toBe(true);

    const suffix = await get('/static/big.bin', { range: 'bytes=-7' });
    expect(suffix.status).toBe(206);
    expect(suffix.body.equals(big.subarray(-7))).toBe(true);

    const unsatisfiable = await get('/static/big.bin', { range: `bytes=${big.length}-` });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers['content-range']).toBe(`bytes */${big.length}`);

    const multiple = await get('/static/css/site.css', { range: 'bytes=0-0,-1' });
    expect(multiple.status).toBe(200);
    expect(multiple.body.toString()).toBe('body { color: red }\n');
  });

  it('redirects a directory to its slash form and serves its index', async () => {
    const redirect = await get('/static/css?v=2');
    expect(redirect.status).toBe(301);
    expect(redirect.headers['location']).toBe('/static/css/?v=2');
    const index = await get('/static/');
    expect(index.status).toBe(200);
    expect(index.body.toString()).toBe('<h1>static home</h1>');
  });

  it('refuses other methods with 405 and Allow', async () => {
    const response = await get('/static/css/site.css', {}, 'POST');
    expect(response.status).toBe(405);
    expect(response.headers['allow']).toBe('GET, HEAD');
  });

  it.each([
    '/static/../secret.txt',
    '/static/%2e%2e/secret.txt',
    '/static/..%2fsecret.txt',
    '/static/%2e%2e%2fsecret.txt',
    '/static/css/..%2f..%2fsecret.txt',
    '/static/%252e%252e/secret.txt',
    '/static/escape.txt',
    '/static/.env',
    '/static/%2eenv',
    '/static/css%00/site.css',
    '/static/%zz',
  ])('never serves %s', async (path) => {
    const response = await get(path);
    expect([400, 404]).toContain(response.status);
    expect(response.body.toString()).not.toContain(SECRET);
  });

  it('keeps the connection usable after error responses', async () => {
    const keepAlive = new Client(origin, { pipelining: 1 });
    try {
      const statuses: number[] = [];
      for (const [path, headers] of [
        ['/static/missing', {}],
        ['/static/big.bin', { range: 'bytes=999999999-' }],
        ['/static/css/site.css', { 'if-none-match': '*' }],
        ['/static/css/site.css', {}],
      ] as Array<[string, Record<string, string>]>) {
        const response = await keepAlive.request({ path, method: 'GET', headers });
        await response.body.arrayBuffer();
        statuses.push(response.statusCode);
      }
      expect(statuses).toEqual([404, 416, 304, 200]);
    } finally {
      await keepAlive.close();
    }
  });
});

describe('static files through the proxy (raw TCP)', () => {
  it('answers 405 to an upload with Expect: 100-continue without inviting the body', async () => {
    const response = await raw(
      'POST /static/css/site.css HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n',
    );
    expect(response.startsWith('HTTP/1.1 405 ')).toBe(true);
    expect(response).not.toContain('100 Continue');
  });

  it('refuses a raw backslash or dot-dot path that a client library would have normalized', async () => {
    for (const target of ['/static/..\\secret.txt', '/static/css/../../secret.txt', '/static/./.env']) {
      const response = await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(response).toMatch(/^HTTP\/1\.1 (400|404) /);
      expect(response).not.toContain(SECRET);
    }
  });

  it('closes the file when the client leaves mid-download', async () => {
    const address = proxy.address!;
    const socket = connect(address.port, address.host);
    let received = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // Stop reading: the proxy's writes back up and it must wait for drain, not buffer the file.
        if (received > 64 * 1024) {
          socket.pause();
          resolve();
        }
      });
      socket.write('GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(await openFilesUnder(root)).toEqual([join(root, 'big.bin')]);
    socket.destroy();
    for (let i = 0; i < 100 && (await openFilesUnder(root)).length > 0; i++) await sleep(20);
    expect(await openFilesUnder(root)).toEqual([]);
  });
});

describe('static files through the proxy (curl)', () => {
  const curl = async (...args: string[]) => (await run('curl', ['-s', '-S', ...args])).stdout;

  it('downloads a range, HEADs, revalidates and refuses traversal', async () => {
    expect(await curl('-r', '7-11', `${origin}/static/css/site.css`)).toBe('color');
    const head = await curl('-I', `${origin}/static/big.bin`);
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head.toLowerCase()).toContain(`content-length: ${big.length}`);
    const etag = /etag: (".*")/i.exec(head)?.[1] as string;
    const revalidated = await curl(
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      `If-None-Match: ${etag}`,
      `${origin}/static/big.bin`,
    );
    expect(revalidated).toBe('304');
    const traversal = await curl(
      '--path-as-is',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${origin}/static/../secret.txt`,
    );
    expect(['400', '404']).toContain(traversal);
    // As bytes: the file is random, and its last three bytes decoded as UTF-8 may be fewer characters.
    const resumed = await run(
      'curl',
      ['-s', '-S', '-r', `${big.length - 3}-`, `${origin}/static/big.bin`, '--output', '-'],
      { encoding: 'buffer' },
    );
    expect(resumed.stdout).toEqual(big.subarray(big.length - 3));
  });
});

async function openFilesUnder(dir: string): Promise<string[]> {
  const fdDir = `/proc/${process.pid}/fd`;
  const targets = await Promise.all(
    (await readdir(fdDir)).map((fd) => readlink(join(fdDir, fd)).catch(() => '')),
  );
  return targets.filter((target) => target.startsWith(dir + '/'));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
