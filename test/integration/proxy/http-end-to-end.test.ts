import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProxyProcess, writeConfig } from './helpers/http-proxy.js';
import { startWorker, type WorkerProcess } from './helpers/worker-process.js';
import { sleep, tempDir, waitFor } from './helpers/test-proxy.js';

/**
 * Real HTTP through the real front (undici and raw sockets) to real fixture workers, the proxy
 * running as the gatewire-proxy process (built dist/), so that a proxy bug fails a test instead of
 * hanging the test runner.
 */
describe('end to end over HTTP', () => {
  const dir = tempDir();
  const workers: WorkerProcess[] = [];
  let proxy: ProxyProcess;
  let origin = '';
  let port = 0;
  let echo: WorkerProcess;
  let sync: WorkerProcess;
  let bad: WorkerProcess;
  const agent = new Agent({ connections: 32, pipelining: 1 });

  beforeAll(async () => {
    echo = await startWorker('echo-worker', ['--socket', `${dir.path}/echo.sock`, '--max-streams', '8']);
    sync = await startWorker('echo-worker', ['--socket', `${dir.path}/sync.sock`, '--max-streams', '1']);
    bad = await startWorker('bad-head', ['--socket', `${dir.path}/bad.sock`]);
    workers.push(echo, sync, bad);
    const config = writeConfig(dir.path, {
      http: { maxBodyBytes: 0 },
      upstream: { queueLength: 1, responseTimeoutMs: 2000, retryAfterSeconds: 2, tempDir: dir.path },
      upstreams: {
        app: { sockets: [echo.socketPath] },
        sync: { sockets: [sync.socketPath] },
        bad: { sockets: [bad.socketPath] },
      },
      routes: [
        { path: '/', upstream: 'app' },
        { path: '/sync/', upstream: 'sync', mount: true },
        { path: '/bad/', upstream: 'bad', mount: true },
      ],
      log: { level: 'debug' },
    });
    proxy = new ProxyProcess(config);
    port = await proxy.port();
    origin = `http://127.0.0.1:${port}`;
    await waitFor(() => proxy.lines.filter((line) => line.msg === 'worker connection ready').length === 3);
  });

  afterAll(async () => {
    await agent.close();
    await proxy.stop();
    await Promise.all(workers.map((worker) => worker.stop()));
    dir.remove();
  });

  it('proxies a GET and a streamed POST, keeping the connection alive', async () => {
    const hello = await request(`${origin}/hello`, { dispatcher: agent });
    expect(hello.statusCode).toBe(200);
    expect(await hello.body.text()).toBe(`hello from ${echo.pid}`);
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const echoed = await request(`${origin}/echo`, { method: 'POST', body, dispatcher: agent });
    expect(echoed.statusCode).toBe(200);
    expect(Buffer.from(await echoed.body.arrayBuffer()).equals(body)).toBe(true);
    await waitFor(() => proxy.lines.some((entry) => entry.msg === 'request' && entry.path === '/echo'));
    const access = proxy.lines.find((entry) => entry.msg === 'request' && entry.path === '/echo');
    expect(access).toMatchObject({
      method: 'POST',
      status: 200,
      bytesIn: body.length,
      upstream: echo.address,
    });
    expect(access?.bytesOut as number).toBeGreaterThan(body.length);
  });

  it('replaces X-Forwarded-For from an untrusted client and passes the request id', async () => {
    const response = await request(`${origin}/environ`, {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-request-id': 'spoofed',
        authorization: 'Bearer secret-token',
      },
      dispatcher: agent,
    });
    const environ = (await response.body.json()) as { headers: Array<[string, string]>; requestId: string };
    expect(environ.headers).toContainEqual(['x-forwarded-for', '127.0.0.1']);
    expect(environ.requestId).not.toBe('spoofed');
    expect(environ.headers).toContainEqual(['x-request-id', environ.requestId]);
    await waitFor(() => proxy.lines.some((entry) => entry.msg === 'request' && entry.path === '/environ'));
    expect(JSON.stringify(proxy.lines)).not.toContain('secret-token');
  });

  it('answers 502 with the request id for an invalid head, and never leaks the header', async () => {
    const response = await request(`${origin}/bad/value`, { dispatcher: agent });
    expect(response.statusCode).toBe(502);
    expect(response.headers['x-evil']).toBeUndefined();
    expect(response.headers['set-cookie']).toBeUndefined();
    const text = await response.body.text();
    await waitFor(() => proxy.lines.some((entry) => entry.code === 'INVALID_RESPONSE_HEAD'));
    const failure = proxy.lines.find((entry) => entry.code === 'INVALID_RESPONSE_HEAD');
    expect(text).toContain(String(failure?.requestId));
  });

  it('queues, then answers 503 with Retry-After when the queue is full', async () => {
    const first = request(`${origin}/sync/delay?ms=400`, { dispatcher: agent });
    await sleep(50);
    const second = request(`${origin}/sync/delay?ms=10`, { dispatcher: agent });
    await sleep(50);
    const third = await request(`${origin}/sync/delay?ms=10`, { dispatcher: agent });
    expect(third.statusCode).toBe(503);
    expect(third.headers['retry-after']).toBe('2');
    await third.body.dump();
    expect((await first).statusCode).toBe(200);
    expect((await second).statusCode).toBe(200);
  });

  it('a client that stops reading does not pin the max_streams=1 worker', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /sync/bytes?n=8388608 HTTP/1.1\r\nhost: x\r\n\r\n');
    socket.pause(); // never reads
    await sleep(300);
    const other = await request(`${origin}/sync/hello`, { dispatcher: agent });
    expect(other.statusCode).toBe(200);
    await other.body.dump();
    socket.destroy();
  });

  it('tunnels a WebSocket-style upgrade after a 101', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
    let received = '';
    socket.setEncoding('latin1').on('data', (text: string) => {
      received += text;
    });
    await waitFor(() => received.includes('\r\n\r\n'));
    expect(received).toMatch(/^HTTP\/1\.1 101 /);
    const headEnd = received.indexOf('\r\n\r\n') + 4;
    socket.write('tunnel bytes');
    await waitFor(() => received.slice(headEnd) === 'tunnel bytes');
    socket.destroy();
  });
});

describe('gatewire-proxy process', () => {
  const dir = tempDir();
  let worker: WorkerProcess | null = null;
  let proxy: ProxyProcess | null = null;

  afterEach(async () => {
    await proxy?.stop();
    await worker?.stop();
  });

  afterAll(() => dir.remove());

  it('on SIGTERM finishes the requests in flight, sends GOAWAY, exits 0', async () => {
    worker = await startWorker('echo-worker', ['--socket-dir', dir.path]);
    proxy = new ProxyProcess(writeConfig(dir.path, { upstreams: { app: { socketDir: dir.path } } }));
    const port = await proxy.port();
    await waitFor(() => proxy!.lines.some((line) => line.msg === 'worker joined'));
    await sleep(100);
    const inFlight = request(`http://127.0.0.1:${port}/delay?ms=700`);
    await sleep(150);
    proxy.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('done');
    expect(await proxy.exited).toBe(0);
    expect(proxy.lines.map((line) => line.msg)).toContain('shutdown complete');
    // The worker saw the proxy's GOAWAY (SPEC §11).
    const stats = worker.lines; // the worker prints nothing more; its connection simply closed
    expect(stats[0]).toMatch(/^READY /);
    await expect(request(`http://127.0.0.1:${port}/hello`)).rejects.toThrow();
  });

  it('a second signal forces the exit', async () => {
    worker = await startWorker('echo-worker', ['--socket-dir', dir.path]);
    proxy = new ProxyProcess(writeConfig(dir.path, { upstreams: { app: { socketDir: dir.path } } }));
    const port = await proxy.port();
    await waitFor(() => proxy!.lines.some((line) => line.msg === 'worker joined'));
    await sleep(100);
    const hanging = request(`http://127.0.0.1:${port}/hang`).catch((error: unknown) => error);
    await sleep(150);
    proxy.child.kill('SIGTERM');
    await waitFor(() =>
      proxy!.lines.some((line) => line.msg === 'shutting down: finishing requests in flight'),
    );
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(1);
    await hanging;
  });

  it('refuses a bad config, naming the key, with exit status 2', async () => {
    proxy = new ProxyProcess(
      writeConfig(dir.path, { upstreams: { app: { socketDir: dir.path } }, upstream: { queueLen: 1 } }),
    );
    expect(await proxy.exited).toBe(2);
    expect(proxy.stderr).toMatch(/unknown key upstream\.queueLen/);
  });
});
