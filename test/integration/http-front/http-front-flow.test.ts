import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, splitResponses, startFront, type StartedFront, waitFor } from './front-harness.js';

let started: StartedFront | null = null;
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
  if (started !== null) await started.front.close({ graceMs: 100 });
  started = null;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HttpFront over real sockets: flow control and lifecycle', () => {
  it('reaches onAbort(client-gone) exactly once when the client leaves mid-response', async () => {
    const { port, dispatcher, observer } = await front();
    const client = await raw(port);
    client.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => dispatcher.held.length === 1, 'the held exchange');
    const log = dispatcher.held[0];
    log.exchange.writeResponseHead(200, '', []);
    log.exchange.writeResponseBody(Buffer.from('partial'));
    await client.waitForText('partial');
    client.destroy();
    await waitFor(() => log.aborted !== null, 'onAbort');
    expect(log.aborted).toBe('client-gone');
    // Calls after the abort are no-ops, never throws, and no second onAbort.
    expect(log.exchange.writeResponseBody(Buffer.from('more'))).toBe(true);
    log.exchange.endResponse(null);
    await sleep(20);
    expect(log.abortCount).toBe(1);
    expect(observer.records[0].aborted).toBe('client-gone');
    expect(observer.records[0].status).toBe(200);
  });

  it('treats a FIN while the response is pending as the client going away (like nginx)', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => dispatcher.held.length === 1, 'the held exchange');
    client.socket.end();
    await waitFor(() => dispatcher.held[0].aborted !== null, 'onAbort');
    expect(dispatcher.held[0].aborted).toBe('client-gone');
  });

  it('serves pipelined requests followed by a FIN, then closes', async () => {
    const { port } = await front();
    const client = await raw(port);
    client.socket.end(
      'GET /hello HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok',
    );
    await client.waitForClose();
    expect(splitResponses(client.text).map((r) => r.body)).toEqual(['Hello, World!', 'ok']);
  });

  it('response backpressure: a client that stops reading makes writeResponseBody return false, and the front buffers no more', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.socket.pause();
    const total = 256 * 1024 * 1024;
    client.write(`GET /big?n=${total} HTTP/1.1\r\nHost: a\r\n\r\n`);
    await waitFor(() => (dispatcher.logs[0]?.writesRefused ?? 0) > 0, 'writeResponseBody to return false');
    const log = dispatcher.logs[0];
    await sleep(200);
    // While the client does not read, the dispatcher (which honours false) writes nothing more.
    const refused = log.writesRefused;
    expect(refused).toBe(1);
    expect(log.drains).toBe(0);
    // Reading resumes: drains arrive and the whole body goes through.
    let received = 0;
    client.socket.removeAllListeners('data');
    client.socket.on('data', (chunk: Buffer) => (received += chunk.length));
    client.socket.resume();
    await waitFor(() => received >= total, 'the whole body', 60_000);
    expect(log.drains).toBeGreaterThan(0);
  });

  it('pipelined requests from a client that does not read wait: output stays bounded', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.socket.pause();
    const count = 300;
    client.write('GET /blob?n=65536 HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(count));
    await waitFor(() => dispatcher.logs.length > 0, 'the first exchange');
    await sleep(300);
    // 300 x 64 KiB would be 19 MiB queued in the front; it answers only what the socket takes.
    expect(dispatcher.logs.length).toBeLessThan(count / 2);
    let received = 0;
    client.socket.removeAllListeners('data');
    client.socket.on('data', (chunk: Buffer) => (received += chunk.length));
    client.socket.resume();
    await waitFor(() => received >= count * 65_536, 'every response', 30_000);
    expect(dispatcher.logs.length).toBe(count);
  });

  it('request backpressure: pauseRequestBody stops reading the socket; resume delivers everything', async () => {
    const { port, dispatcher } = await front({ maxBodyBytes: 0 });
    const client = await raw(port);
    const total = 32 * 1024 * 1024;
    client.write(`POST /pause HTTP/1.1\r\nHost: a\r\nContent-Length: ${total}\r\n\r\n`);
    await waitFor(() => dispatcher.held.length === 1, 'the paused exchange');
    const log = dispatcher.held[0];
    const piece = Buffer.alloc(1024 * 1024, 0x62);
    for (let sent = 0; sent < total; sent += piece.length) client.socket.write(piece);
    await sleep(300);
    // Paused: nothing was delivered, and the client's bytes back up in its own socket.
    expect(log.body.length).toBe(0);
    expect(client.socket.writableLength).toBeGreaterThan(total / 2);
    log.exchange.resumeRequestBody();
    await waitFor(() => log.ended, 'the whole request body', 60_000);
    expect(Buffer.concat(log.body).length).toBe(total);
  });

  it('full duplex: the response streams while the request body is still arriving', async () => {
    const { port } = await front();
    const client = await raw(port);
    client.write('POST /duplex HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n');
    await client.waitForText('first');
    client.write('6\r\nsecond\r\n0\r\n\r\n');
    await client.waitForText('0\r\n\r\n');
    expect(splitResponses(client.text)[0].body).toBe('firstsecond');
  });

  it('early response: a small unread body is drained and the connection kept', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write(`POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n${'x'.repeat(4000)}`);
    await client.waitForText('401');
    client.write('y'.repeat(6000));
    client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('Hello, World!');
    expect(client.closed).toBe(false);
    expect(dispatcher.logs.map((l) => l.exchange.head.path)).toEqual(['/early', '/hello']);
    expect(dispatcher.logs[0].body).toHaveLength(0);
  });

  it('a body discarded while the exchange runs does not swallow the next pipelined request', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write(
      'POST /discard-hold HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    await waitFor(() => dispatcher.held.length === 1, 'the held exchange');
    await sleep(30);
    dispatcher.release(dispatcher.held[0], 'done');
    await client.waitForText('Hello, World!');
    expect(splitResponses(client.text).map((r) => r.body)).toEqual(['done', 'Hello, World!']);
    expect(dispatcher.held[0].body).toHaveLength(0);
    expect(dispatcher.held[0].ended).toBe(false);
  });

  it('a discarded body never trips the body timeout: not when the client waits for a 100, not when it stalls', async () => {
    const { port, dispatcher } = await front({ bodyTimeoutMs: 100 });
    const waiting = await raw(port);
    waiting.write(
      'POST /discard-hold HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n',
    );
    const stalled = await raw(port);
    stalled.write('POST /discard-hold HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
    await waitFor(() => dispatcher.held.length === 2, 'two held exchanges');
    await sleep(400);
    expect(dispatcher.held.map((l) => l.aborted)).toEqual([null, null]);
    expect(waiting.text + stalled.text).toBe('');
    for (const log of dispatcher.held) dispatcher.release(log, 'done');
    await waiting.waitForClose();
    expect(waiting.text).not.toContain('100 Continue');
    expect(splitResponses(waiting.text)[0].headers.get('connection')).toBe('close');
    await stalled.waitForText('done');
    expect(splitResponses(stalled.text)[0].status).toBe(200);
  });

  it('early response: a body over maxDiscardBytes closes the connection after the response', async () => {
    const { port } = await front({ maxDiscardBytes: 1000, maxBodyBytes: 0 });
    const client = await raw(port);
    client.write('POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\nxx');
    await client.waitForClose();
    const [response] = splitResponses(client.text);
    expect(response.status).toBe(401);
    expect(response.headers.get('connection')).toBe('close');
  });

  it('early response to Expect: 100-continue closes (the client never got a 100)', async () => {
    const { port } = await front();
    const client = await raw(port);
    client.write('POST /early HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n');
    await client.waitForClose();
    expect(client.text).not.toContain('100 Continue');
    expect(splitResponses(client.text)[0].headers.get('connection')).toBe('close');
  });

  it('upgrade: 101, then a raw tunnel both ways, bytes sent right after the head first', async () => {
    const { port, dispatcher, observer } = await front();
    const client = await raw(port);
    client.write(
      'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nearly-bytes|',
    );
    await client.waitForText('early-bytes|');
    expect(
      client.text.startsWith(
        'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n',
      ),
    ).toBe(true);
    client.write(Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a]));
    await waitFor(() => client.bytes >= client.text.indexOf('early') + 12 + 6, 'the binary echo');
    expect(Buffer.from(client.text.slice(-6), 'latin1')).toEqual(Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a]));
    client.socket.end();
    await client.waitForClose();
    const log = dispatcher.logs[0];
    expect(log.ended).toBe(true);
    await waitFor(() => observer.records.length === 1, 'the tunnel record');
    expect(observer.records[0].status).toBe(101);
    expect(observer.records[0].aborted).toBeNull();
  });

  it('upgrade answered without switching: onRequestEnd comes after the head, and the connection stays usable', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write('GET /ws-refuse HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n');
    await waitFor(() => dispatcher.held.length === 1, 'the held exchange');
    const log = dispatcher.held[0];
    expect(log.exchange.head.upgrade).toBe('h2c');
    await sleep(30);
    expect(log.ended).toBe(false);
    log.exchange.writeResponseHead(403, '', [['content-length', '0']]);
    await waitFor(() => log.ended, 'onRequestEnd after the head');
    log.exchange.endResponse(null);
    client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('Hello, World!');
    expect(splitResponses(client.text).map((r) => r.status)).toEqual([403, 200]);
  });

  it('graceful close: idle connections close at once, in-flight exchanges finish with Connection: close', async () => {
    const { port, front: f, dispatcher } = await front();
    const idle = await raw(port);
    idle.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await idle.waitForText('Hello');
    const busy = await raw(port);
    busy.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => dispatcher.held.length === 1, 'the held exchange');
    expect(f.connectionCount).toBe(2);
    const closed = f.close({ graceMs: 10_000 });
    expect(f.state).toBe('draining');
    await idle.waitForClose();
    expect(busy.closed).toBe(false);
    dispatcher.release(dispatcher.held[0], 'finished');
    await busy.waitForClose();
    await closed;
    expect(f.state).toBe('closed');
    expect(f.connectionCount).toBe(0);
    const [response] = splitResponses(busy.text);
    expect(response.body).toBe('finished');
    expect(response.headers.get('connection')).toBe('close');
    started = null;
  });

  it('graceful close: after graceMs, what is still running aborts with shutdown (503 when nothing was sent)', async () => {
    const { port, front: f, dispatcher } = await front();
    const waiting = await raw(port);
    waiting.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
    const streaming = await raw(port);
    streaming.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => dispatcher.held.length === 2, 'two held exchanges');
    dispatcher.held[1].exchange.writeResponseHead(200, '', []);
    dispatcher.held[1].exchange.writeResponseBody(Buffer.from('started'));
    await streaming.waitForText('started');
    await f.close({ graceMs: 200 });
    expect(dispatcher.held.map((l) => l.aborted)).toEqual(['shutdown', 'shutdown']);
    await waiting.waitForClose();
    await streaming.waitForClose();
    expect(splitResponses(waiting.text)[0].status).toBe(503);
    expect(streaming.text).not.toContain('0\r\n\r\n');
    started = null;
  });

  it('graceful close during a drain: the connection closes once the unread body is read', async () => {
    const { port, front: f } = await front();
    const client = await raw(port);
    client.write('POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n0123456789');
    await client.waitForText('401');
    const closed = f.close({ graceMs: 20_000 });
    await sleep(20);
    expect(client.closed || client.ended).toBe(false);
    client.write('x'.repeat(990));
    await client.waitForClose(5000);
    await closed;
    started = null;
  });

  it('refuses new connections once closing', async () => {
    const { port, front: f } = await front();
    const busy = await raw(port);
    busy.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => started!.dispatcher.held.length === 1, 'the held exchange');
    const closed = f.close({ graceMs: 5000 });
    await expect(RawClient.connect(port)).rejects.toThrow();
    started!.dispatcher.release(started!.dispatcher.held[0]);
    await closed;
    started = null;
  });

  it('counts connections and exchanges in flight', async () => {
    const { port, front: f, dispatcher } = await front();
    const a = await raw(port);
    const b = await raw(port);
    await waitFor(() => f.connectionCount === 2, 'two connections');
    a.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => f.exchangeCount === 1, 'one exchange in flight');
    dispatcher.release(dispatcher.held[0]);
    await a.waitForText('released');
    expect(f.exchangeCount).toBe(0);
    b.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => f.exchangeCount === 1, 'one exchange in flight again');
    a.destroy();
    b.destroy();
    await waitFor(() => f.connectionCount === 0, 'no connections');
    expect(f.exchangeCount).toBe(0);
    expect(f.acceptedCount).toBe(2);
  });
});
