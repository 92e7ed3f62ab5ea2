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

/** Sends `input`, waits for the server to close, returns the one response. */
async function refusal(port: number, input: string) {
  const client = await raw(port);
  client.write(input);
  await client.waitForClose();
  const responses = splitResponses(client.text);
  expect(responses).toHaveLength(1);
  return responses[0];
}

describe('HttpFront over real sockets: refusals and limits', () => {
  it.each([
    [
      'duplicate Content-Length',
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy',
      400,
      'DUPLICATE_CONTENT_LENGTH',
    ],
    [
      'Content-Length with Transfer-Encoding',
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      'CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
    ],
    [
      'obfuscated Transfer-Encoding',
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n',
      400,
      'INVALID_TRANSFER_ENCODING',
    ],
    ['obs-fold', 'GET /hello HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n', 400, 'OBS_FOLD'],
    ['bare LF', 'GET /hello HTTP/1.1\nHost: a\n\n', 400, 'BARE_LF'],
    ['missing Host', 'GET /hello HTTP/1.1\r\n\r\n', 400, 'MISSING_HOST'],
    ['CONNECT', 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', 501, 'CONNECT_NOT_SUPPORTED'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505, 'UNSUPPORTED_VERSION'],
    [
      'unknown expectation',
      'POST /echo HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx',
      417,
      'UNSUPPORTED_EXPECTATION',
    ],
    [
      'Content-Length over the limit',
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n',
      413,
      'BODY_TOO_LARGE',
    ],
    ['target over the limit', `GET /${'t'.repeat(600)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414, 'TARGET_TOO_LONG'],
    [
      'head over the limit',
      `GET / HTTP/1.1\r\nHost: a\r\nX: ${'h'.repeat(3000)}\r\n\r\n`,
      431,
      'HEADER_TOO_LARGE',
    ],
    ['too many fields', `GET / HTTP/1.1\r\nHost: a\r\n${'X: 1\r\n'.repeat(20)}\r\n`, 431, 'TOO_MANY_HEADERS'],
  ])('answers %s with its status and closes', async (_label, input, status, code) => {
    const { port, observer, dispatcher } = await front({
      maxBodyBytes: 1000,
      maxTargetBytes: 512,
      maxHeaderBytes: 2048,
      maxHeaderCount: 10,
    });
    const response = await refusal(port, input);
    expect(response.status).toBe(status);
    expect(response.headers.get('connection')).toBe('close');
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(observer.rejected.map((r) => [r.status, r.reason])).toEqual([[status, code]]);
    expect(observer.rejected[0].connection.remoteAddress).toBe('127.0.0.1');
    expect(dispatcher.logs).toHaveLength(0);
  });

  it('never forwards what follows a refused request (smuggling shape: CL + TE)', async () => {
    const { port, dispatcher } = await front();
    const response = await refusal(
      port,
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    expect(response.status).toBe(400);
    expect(dispatcher.logs).toHaveLength(0);
  });

  it('answers 413 as soon as a chunked body goes over the limit, aborting the exchange', async () => {
    const { port, dispatcher, observer } = await front({ maxBodyBytes: 100 });
    const client = await raw(port);
    client.write(
      'POST /hold-body HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n' +
        'a'.repeat(64) +
        '\r\n40\r\n',
    );
    await client.waitForClose();
    const [response] = splitResponses(client.text);
    expect(response.status).toBe(413);
    expect(response.body).toContain('request id');
    expect(dispatcher.logs[0].aborted).toBe('bad-request-body');
    expect(dispatcher.logs[0].bodyText).toBe('a'.repeat(64));
    expect(observer.records[0].aborted).toBe('bad-request-body');
    expect(observer.records[0].status).toBe(413);
  });

  it('answers 400 to bad chunk framing mid-body and tells the dispatcher', async () => {
    const { port, dispatcher } = await front();
    const client = await raw(port);
    client.write('POST /hold-body HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n');
    await client.waitForClose();
    expect(splitResponses(client.text)[0].status).toBe(400);
    expect(dispatcher.logs[0].aborted).toBe('bad-request-body');
    expect(dispatcher.logs[0].abortCount).toBe(1);
  });

  it('answers 408 when the head does not arrive in time (slow header)', async () => {
    const { port, observer } = await front({ headerTimeoutMs: 200 });
    const client = await raw(port);
    client.write('GET /hello HTTP/1.1\r\nHost: a\r\n');
    await client.waitForClose();
    expect(splitResponses(client.text)[0].status).toBe(408);
    expect(observer.rejected.map((r) => [r.status, r.reason])).toEqual([[408, 'HEADER_TIMEOUT']]);
  });

  it('times out a slow header even if it keeps trickling (whole-head deadline, like nginx)', async () => {
    const { port } = await front({ headerTimeoutMs: 300 });
    const client = await raw(port);
    client.write('GET /hello HTTP/1.1\r\n');
    const trickle = setInterval(() => client.write('X: y\r\n'), 50);
    try {
      await client.waitForClose();
    } finally {
      clearInterval(trickle);
    }
    expect(splitResponses(client.text)[0].status).toBe(408);
  });

  it('closes a silent new connection without an answer when the header timeout ends', async () => {
    const { port, observer } = await front({ headerTimeoutMs: 150 });
    const client = await raw(port);
    await client.waitForClose();
    expect(client.text).toBe('');
    expect(observer.rejected).toHaveLength(0);
  });

  it('answers 408 and aborts with client-timeout when the body stalls (slow body)', async () => {
    const { port, dispatcher, observer } = await front({ bodyTimeoutMs: 200 });
    const client = await raw(port);
    client.write('POST /hold-body HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
    await client.waitForClose();
    const [response] = splitResponses(client.text);
    expect(response.status).toBe(408);
    expect(dispatcher.logs[0].aborted).toBe('client-timeout');
    expect(dispatcher.logs[0].bodyText).toBe('abc');
    expect(observer.records[0].aborted).toBe('client-timeout');
  });

  it('does not time out a body the dispatcher has paused', async () => {
    const { port, dispatcher } = await front({ bodyTimeoutMs: 100 });
    const client = await raw(port);
    client.write('POST /pause HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab');
    await waitFor(() => dispatcher.held.length === 1, 'the exchange');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(client.closed).toBe(false);
    expect(dispatcher.logs[0].aborted).toBeNull();
    dispatcher.held[0].exchange.resumeRequestBody();
    client.write('cd');
    await client.waitForText('abcd');
  });

  it('closes an idle keep-alive connection after keepAliveTimeoutMs', async () => {
    const { port } = await front({ keepAliveTimeoutMs: 150 });
    const client = await raw(port);
    client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForText('Hello, World!');
    await client.waitForClose();
    expect(splitResponses(client.text)).toHaveLength(1);
  });

  it('closes after each response when keepAliveTimeoutMs is 0', async () => {
    const { port } = await front({ keepAliveTimeoutMs: 0 });
    const client = await raw(port);
    client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForClose();
    expect(splitResponses(client.text)[0].headers.get('connection')).toBe('close');
  });

  it('aborts with client-timeout when the client stops reading for sendTimeoutMs', async () => {
    const { port, dispatcher } = await front({ sendTimeoutMs: 300 });
    const client = await raw(port);
    client.socket.pause();
    client.write('GET /big?n=67108864 HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(
      () => dispatcher.logs[0]?.aborted !== null && dispatcher.logs[0]?.aborted !== undefined,
      'the send timeout',
    );
    expect(dispatcher.logs[0].aborted).toBe('client-timeout');
    expect(dispatcher.logs[0].writesRefused).toBeGreaterThan(0);
  });
});
