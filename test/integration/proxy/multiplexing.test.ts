import { afterEach, describe, expect, it } from 'vitest';
import { startWorker, type WorkerProcess } from './helpers/worker-process.js';
import { startTestProxy, tempDir, waitFor, type TestProxy } from './helpers/test-proxy.js';

describe('one worker connection, many streams', () => {
  let worker: WorkerProcess | null = null;
  let proxy: TestProxy | null = null;
  const dir = tempDir();

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
});
