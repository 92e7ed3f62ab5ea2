/**
 * The worker side's security, end to end: socket files 0660 in a directory that is never
 * world-writable (even under umask 0); a TCP worker refuses a peer that cannot prove the shared
 * secret; and the environ a client reaches the app with cannot carry forged forwarding facts
 * (X-Forwarded-* and X-Request-Id from an untrusted peer are replaced, not appended to) or
 * header names that alias another in CGI/WSGI (`X_Forwarded_For` → HTTP_X_FORWARDED_FOR).
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import {
  decodeGoaway,
  decodeHello,
  errorCodeName,
  FrameDecoder,
  FrameEncoder,
  FrameType,
  makeHello,
} from '@gatewire/protocol';
import { Client } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProxyProcess, writeConfig } from '../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../integration/worker/support/temp-dir.js';
import { WorkerHarness } from '../integration/worker/support/worker-harness.js';
import { HostileStack, RECORDING_APP } from './hostile-stack.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function get(origin: string, path: string, headers: Record<string, string> = {}) {
  const client = new Client(origin);
  try {
    const response = await client.request({ path, method: 'GET', headers });
    return { status: response.statusCode, body: await response.body.text() };
  } finally {
    await client.close();
  }
}

describe('socket files and the socket directory', () => {
  const dir = freshTempDir('socket-modes');
  let worker: WorkerHarness | null = null;
  const umask = process.umask();
  afterAll(async () => {
    await worker?.stop();
    process.umask(umask);
    dir.remove();
  });

  it('under umask 0, the supervisor creates the directory 0770 and each socket 0660', async () => {
    process.umask(0); // the worker inherits it: the modes must not depend on a careful umask
    const socketDir = join(dir.path, 'created-by-worker');
    try {
      worker = await WorkerHarness.start([RECORDING_APP, '--socket-dir', socketDir, '--processes', '2']);
    } finally {
      process.umask(umask);
    }
    await waitFor(
      () => readdirSync(socketDir).filter((name) => name.endsWith('.sock')).length === 2,
      10_000,
      () => 'two sockets',
    );
    expect(statSync(socketDir).mode & 0o777).toBe(0o770);
    for (const name of readdirSync(socketDir)) {
      const stat = statSync(join(socketDir, name));
      expect(stat.isSocket(), name).toBe(true);
      expect(stat.mode & 0o777, name).toBe(0o660);
    }
    await worker.stop();
    worker = null;
  });

  it('a world-writable socket directory is reported (SPEC §16), and its sockets are still 0660', async () => {
    const socketDir = join(dir.path, 'world-writable');
    mkdirSync(socketDir);
    chmodSync(socketDir, 0o777);
    worker = await WorkerHarness.start([
      RECORDING_APP,
      '--socket-dir',
      socketDir,
      '--processes',
      '1',
      '--log-format',
      'json',
    ]);
    await worker.waitForLog(
      (line) => line.event === 'socket-dir-world-writable',
      'the world-writable warning',
    );
    await waitFor(
      () => readdirSync(socketDir).some((name) => name.endsWith('.sock')),
      10_000,
      () => 'a socket',
    );
    for (const name of readdirSync(socketDir))
      expect(statSync(join(socketDir, name)).mode & 0o777).toBe(0o660);
    await worker.stop();
    worker = null;
  });
});

describe('a TCP worker and the shared secret (SPEC §5.4)', () => {
  const dir = freshTempDir('tcp-secret');
  const SECRET = 'reliability-test-secret-9d2f';
  let worker: WorkerHarness;
  let port: number;
  const proxies: ProxyProcess[] = [];
  beforeAll(async () => {
    port = await freePort();
    worker = await WorkerHarness.start(
      [RECORDING_APP, '--tcp', `tcp://127.0.0.1:${port}`, '--processes', '1', '--log-format', 'json'],
      { env: { GATEWIRE_SECRET: SECRET } },
    );
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()));
  });
  afterAll(async () => {
    await worker?.stop();
    dir.remove();
  });

  async function proxyWith(secret: string): Promise<string> {
    const proxy = new ProxyProcess(
      writeConfig(dir.path, {
        upstreams: { app: { tcp: [`tcp://127.0.0.1:${port}`], secret } },
        upstream: { queueTimeoutMs: 500 },
        log: { level: 'info' },
      }),
    );
    proxies.push(proxy);
    return `http://127.0.0.1:${await proxy.port()}`;
  }

  it('a proxy with the secret is served', async () => {
    const origin = await proxyWith(SECRET);
    await expect.poll(async () => (await get(origin, '/tcp-ok')).status, { timeout: 10_000 }).toBe(200);
  });

  it('a proxy with another secret is refused: the worker never enters rotation, clients get 503', async () => {
    const origin = await proxyWith('not-the-secret');
    const proxy = proxies[0];
    await waitFor(
      () =>
        proxy.lines.some(
          (line) => line.msg === 'worker connection failed' && /AUTH_FAILED/.test(String(line.detail)),
        ),
      10_000,
      () => 'the AUTH_FAILED connection failure',
    );
    expect((await get(origin, '/tcp-wrong-secret')).status).toBe(503);
  });

  it('a raw peer that skips AUTH and sends a REQUEST gets GOAWAY AUTH_FAILED and no response', async () => {
    const socket = connect(port, '127.0.0.1');
    const frames: Array<{ type: number; payload: Buffer }> = [];
    const decoder = new FrameDecoder({
      onFrame: (type, _flags, _id, payload) => frames.push({ type, payload: Buffer.from(payload) }),
      onData: (_id, _flags, chunk) => frames.push({ type: FrameType.DATA, payload: Buffer.from(chunk) }),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const encoder = new FrameEncoder();
    encoder.preface();
    encoder.hello(makeHello({ role: 'proxy' }));
    encoder.request(
      1,
      {
        method: 'GET',
        target: '/forged',
        path: '/forged',
        query: '',
        httpVersion: 'HTTP/1.1',
        headers: [['host', 'evil.test']],
        scheme: 'http',
        clientAddr: '127.0.0.1',
        clientPort: 1,
        serverAddr: '127.0.0.1',
        serverPort: 2,
        serverName: 'evil.test',
        requestId: 'forged-1',
        bodyLength: 0,
        scriptName: '',
        upgrade: '',
      },
      true,
    );
    for (const part of encoder.take()) socket.write(part);
    await closed;
    expect(decodeHello(frames[0].payload).auth).toBe('hmac-sha256');
    const goaway = frames.find((frame) => frame.type === FrameType.GOAWAY);
    expect(goaway).toBeDefined();
    expect(errorCodeName(decodeGoaway(goaway!.payload).code)).toBe('AUTH_FAILED');
    expect(frames.some((frame) => frame.type === FrameType.RESPONSE)).toBe(false);
  });
});

describe('forwarding facts a client cannot forge', () => {
  let stack: HostileStack;
  beforeAll(async () => {
    stack = await HostileStack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('X-Forwarded-* and X-Request-Id from an untrusted peer are replaced, not appended to', async () => {
    const reply = await stack.exchange(
      'GET /env HTTP/1.1\r\nHost: hostile.test\r\n' +
        'X-Forwarded-For: 6.6.6.6\r\nx-forwarded-for: 7.7.7.7\r\nX-FORWARDED-PROTO: https\r\n' +
        'X-Forwarded-Host: evil.test\r\nX-Request-Id: forged-id\r\nConnection: close\r\n\r\n',
    );
    expect(reply.statuses).toEqual([200]);
    const seen = JSON.parse(reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(seen).toMatchObject({
      clientAddr: '127.0.0.1',
      scheme: 'http',
      forwardedFor: '127.0.0.1',
      forwardedProto: 'http',
      forwardedHost: 'hostile.test',
    });
    expect(seen.requestId).not.toBe('forged-id');
  });

  it('header names with `_` are dropped (they alias `-` names in WSGI/CGI), as nginx does', async () => {
    const reply = await stack.exchange(
      'GET /env HTTP/1.1\r\nHost: hostile.test\r\n' +
        'X_Forwarded_For: 6.6.6.6\r\nX-User: alice\r\nX_User: admin\r\nContent_Length: 5\r\nConnection: close\r\n\r\n',
    );
    expect(reply.statuses).toEqual([200]);
    const seen = JSON.parse(reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4)) as {
      names: string[];
      forwardedFor: string;
    };
    expect(seen.names.filter((name) => name.includes('_'))).toEqual([]);
    expect(seen.names).toContain('x-user');
    expect(seen.forwardedFor).toBe('127.0.0.1');
  });
});
