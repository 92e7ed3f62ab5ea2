import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startWorker, type WorkerProcess } from './helpers/worker-process.js';
import { startTestProxy, tempDir, waitFor, type TestProxy } from './helpers/test-proxy.js';

describe('one worker connection, many streams', () => {
  let worker: WorkerProcess | null = null;
  let proxy: TestProxy | null = null;
  const dir = tempDir();
  afterAll(() => dir.remove());

  afterEach(async () => {
    await proxy?.close();
    await worker?.stop();
    proxy = null;
    worker = null;
  });

  it('multiplexes concurrent requests over a single connection with increasing stream ids', async () => {
    const socket = `${dir.path}/echo.sock`;
    worker = await startWorker('echo-worker', ['--socket', socket, '--max-streams', '8']);
    proxy = startTestProxy({ upstreams: { app: { sockets: [socket] } } });
    await proxy.waitForReady('app', 1);
    const exchanges = Array.from({ length: 8 }, () => proxy!.request({ path: '/delay', query: 'ms=200' }));
    const outcomes = await Promise.all(exchanges.map((exchange) => exchange.done));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(8).fill(200));
    const connections = new Set(exchanges.map((exchange) => exchange.header('x-connection')));
    expect(connections.size).toBe(1);
    const ids = exchanges.map((exchange) => Number(exchange.header('x-stream-id'))).sort((a, b) => a - b);
    expect(new Set(ids).size).toBe(8);
    const stats = await proxy.request({ path: '/stats' }).done;
    expect(JSON.parse(stats.body.toString()).maxConcurrent).toBe(8);
  });

  it('records PING round trips and HEALTH reports per worker (SPEC §12)', async () => {
    const socket = `${dir.path}/echo3.sock`;
    worker = await startWorker('echo-worker', ['--socket', socket, '--max-streams', '3']);
    proxy = startTestProxy({ upstream: { pingIntervalMs: 50 }, upstreams: { app: { sockets: [socket] } } });
    await proxy.waitForReady('app', 1);
    await proxy.request({ path: '/hello' }).done;
    const group = proxy.proxy.group('app')!;
    await waitFor(() => group.status().workers[0].health !== null);
    const status = group.status().workers[0];
    expect(status).toMatchObject({
      worker: worker.address,
      ready: true,
      capacity: 3,
      pid: worker.pid,
      name: 'echo',
    });
    expect(status.health!.requests).toBeGreaterThanOrEqual(1);
    expect(status.health!.rss).toBeGreaterThan(0);
    expect(status.pingRttMs).toBeGreaterThanOrEqual(0);
    expect(status.requestsSucceeded).toBeGreaterThanOrEqual(1);
  });

  it('builds the environ from the exchange', async () => {
    const socket = `${dir.path}/echo2.sock`;
    worker = await startWorker('echo-worker', ['--socket', socket]);
    proxy = startTestProxy({ upstreams: { app: { sockets: [socket] } } });
    await proxy.waitForReady('app', 1);
    const outcome = await proxy.request({
      path: '/environ',
      query: 'a=1',
      host: 'App.Test:8080',
      headers: [
        ['host', 'App.Test:8080'],
        ['x_forwarded_user', 'admin'],
        ['x-forwarded-for', '6.6.6.6'],
        ['connection', 'x-hop'],
        ['x-hop', '1'],
        ['accept', 'text/plain'],
      ],
      requestId: 'abc-123',
    }).done;
    expect(outcome.status).toBe(200);
    const environ = JSON.parse(outcome.body.toString());
    expect(environ).toMatchObject({
      method: 'GET',
      target: '/environ?a=1',
      path: '/environ',
      query: 'a=1',
      httpVersion: 'HTTP/1.1',
      scheme: 'http',
      clientAddr: '127.0.0.1',
      serverAddr: '127.0.0.1',
      serverPort: 8080,
      serverName: 'app.test',
      requestId: 'abc-123',
      bodyLength: 0,
    });
    expect(environ.headers).toEqual([
      ['host', 'App.Test:8080'],
      ['accept', 'text/plain'],
      ['x-forwarded-for', '127.0.0.1'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'App.Test:8080'],
      ['x-request-id', 'abc-123'],
    ]);
  });

  it('adopts X-Request-Id and X-Forwarded-* only from a trusted proxy', async () => {
    const socket = `${dir.path}/echo4.sock`;
    worker = await startWorker('echo-worker', ['--socket', socket]);
    proxy = startTestProxy({ trustedProxies: ['10.0.0.0/8'], upstreams: { app: { sockets: [socket] } } });
    await proxy.waitForReady('app', 1);
    const headers: Array<[string, string]> = [
      ['host', 'app.test'],
      ['x-forwarded-for', '198.51.100.7'],
      ['x-forwarded-proto', 'https'],
      ['x-request-id', 'edge-abc'],
    ];
    const trusted = proxy.request({ path: '/environ', headers, connection: { remoteAddress: '10.1.2.3' } });
    const fromTrusted = JSON.parse((await trusted.done).body.toString());
    expect(trusted.requestId).toBe('edge-abc');
    expect(fromTrusted).toMatchObject({ requestId: 'edge-abc', clientAddr: '198.51.100.7', scheme: 'https' });
    expect(fromTrusted.headers).toContainEqual(['x-forwarded-for', '198.51.100.7, 10.1.2.3']);
    const untrusted = proxy.request({
      path: '/environ',
      headers,
      connection: { remoteAddress: '203.0.113.5' },
    });
    const fromUntrusted = JSON.parse((await untrusted.done).body.toString());
    expect(untrusted.requestId).not.toBe('edge-abc');
    expect(fromUntrusted).toMatchObject({ clientAddr: '203.0.113.5', scheme: 'http' });
    expect(fromUntrusted.headers).toContainEqual(['x-forwarded-for', '203.0.113.5']);
  });

  it('routes a static prefix to StaticFiles and answers 404 when no route matches', async () => {
    const socket = `${dir.path}/echo5.sock`;
    worker = await startWorker('echo-worker', ['--socket', socket]);
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(`${dir.path}/static`, { recursive: true });
    writeFileSync(`${dir.path}/static/site.css`, 'body{}');
    proxy = startTestProxy({
      upstreams: { app: { sockets: [socket] } },
      routes: [
        { host: 'app.test', path: '/static/', static: { root: `${dir.path}/static` } },
        { host: 'app.test', path: '/app/', upstream: 'app' },
      ],
    });
    await proxy.waitForReady('app', 1);
    const file = proxy.request({ path: '/static/site.css' });
    const outcome = await file.done;
    expect(file.upstream).toBe('static');
    expect(outcome.status).toBe(200);
    expect(outcome.body.toString()).toBe('body{}');
    const missing = await proxy.request({ path: '/other' }).done;
    expect(missing.status).toBe(404);
    const otherHost = await proxy.request({
      path: '/app/hello',
      host: 'elsewhere.test',
      headers: [['host', 'elsewhere.test']],
    }).done;
    expect(otherHost.status).toBe(404);
  });
});
