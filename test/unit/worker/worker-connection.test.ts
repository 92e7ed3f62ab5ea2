/**
 * The per-process server and its connections, in process (sources), over a real Unix socket,
 * driven by the test-suite protocol client that plays the proxy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, FrameType, decodeReset, errorCodeName } from '@gatewire/protocol';
import { upgradeTunnel, type WorkerEnv } from '@gatewire/worker';
import { startInProcess, type InProcessServer } from '../../integration/worker/support/in-process-server.js';
import type { ProtocolClient } from '../../integration/worker/support/protocol-client.js';
import { sleep, waitFor } from '../../integration/worker/support/wait.js';

let current: InProcessServer | null = null;

afterEach(async () => {
  await current?.stop();
  current = null;
});

async function serve(
  fetch: (request: Request, env: WorkerEnv) => Response | Promise<Response>,
  options: { concurrency?: number; timeoutMs?: number; fastWebObjects?: boolean } = {},
): Promise<InProcessServer> {
  current = await startInProcess({ app: { fetch }, ...options });
  return current;
}

function resetsOf(client: ProtocolClient, streamId: number): string[] {
  return client.received
    .filter((frame) => frame.type === FrameType.RESET && frame.streamId === streamId)
    .map((frame) => errorCodeName(decodeReset(frame.payload).code));
}

describe('handshake and basics', () => {
  it('advertises its limits and features and answers a GET', async () => {
    const server = await serve(() => new Response('hi'), { concurrency: 17 });
    const client = await server.connect();
    expect(client.peerHello).toMatchObject({ role: 'worker', maxStreams: 17, version: 1 });
    expect(client.peerHello!.features).toEqual(expect.arrayContaining(['trailers', 'upgrade', 'health']));
    const result = await client.request({ path: '/' }).result();
    expect(result.status).toBe(200);
    expect(result.body.toString()).toBe('hi');
    expect(result.headers).toContainEqual(['content-length', '2']);
    expect(result.headers).toContainEqual(['content-type', 'text/plain;charset=UTF-8']);
  });

  it('gives the app a web Request and the environ extras in env', async () => {
    let seen: Record<string, unknown> = {};
    const server = await serve((request, env) => {
      seen = {
        isRequest: request instanceof Request,
        url: request.url,
        method: request.method,
        accept: request.headers.get('accept'),
        cookies: request.headers.get('x-dup'),
        clientAddr: env.clientAddr,
        clientPort: env.clientPort,
        scheme: env.scheme,
        serverName: env.serverName,
        requestId: env.requestId,
        target: env.target,
      };
      return new Response(null, { status: 204 });
    });
    const client = await server.connect();
    const result = await client
      .request({
        path: '/a%20b/c',
        query: 'x=1&y=%C3%A9',
        headers: [
          ['host', 'example.com:8443'],
          ['accept', 'text/html'],
          ['x-dup', 'one'],
          ['x-dup', 'two'],
        ],
        requestId: 'rid-42',
      })
      .result();
    expect(result.status).toBe(204);
    expect(seen).toEqual({
      isRequest: true,
      url: 'http://example.com:8443/a%20b/c?x=1&y=%C3%A9',
      method: 'GET',
      accept: 'text/html',
      cookies: 'one, two',
      clientAddr: '127.0.0.1',
      clientPort: 40001,
      scheme: 'http',
      serverName: 'localhost',
      requestId: 'rid-42',
      target: '/a%20b/c?x=1&y=%C3%A9',
    });
  });

  it('answers PING with PONG and HEALTH (SPEC §12.2)', async () => {
    const server = await serve(() => new Response('ok'));
    const client = await server.connect();
    await client.request({}).result();
    const { health } = await client.ping();
    expect(health).not.toBeNull();
    expect(health!.requests).toBe(1);
    expect(health!.inFlight).toBe(0);
    expect(health!.rss).toBeGreaterThan(1_000_000);
    expect(health!.heapUsed).toBeGreaterThan(0);
    expect(typeof health!.loopLagMs).toBe('number');
    expect(health!.uptimeS).toBeGreaterThanOrEqual(0);
  });
});

describe('concurrency', () => {
  it('serves many streams at once on one connection', async () => {
    let active = 0;
    let peak = 0;
    const server = await serve(async () => {
      active++;
      peak = Math.max(peak, active);
      await sleep(50);
      active--;
      return new Response('done');
    });
    const client = await server.connect();
    const results = await Promise.all(Array.from({ length: 200 }, () => client.request({}).result()));
    expect(results.every((result) => result.status === 200 && result.body.toString() === 'done')).toBe(true);
    expect(peak).toBeGreaterThan(100);
  });

  it('refuses streams over its max_streams with REFUSED_STREAM (SPEC §6.3)', async () => {
    const server = await serve(() => new Promise<Response>(() => undefined), { concurrency: 3 });
    const client = await server.connect();
    const streams = Array.from({ length: 5 }, () => client.request({}));
    const refused = await Promise.all(streams.slice(3).map((stream) => stream.result()));
    expect(refused.map((result) => result.reset?.name)).toEqual(['REFUSED_STREAM', 'REFUSED_STREAM']);
    expect(server.server.inFlight).toBe(3);
  });
});

describe('bodies and flow control', () => {
  it('streams a request body larger than its window and echoes it back (full duplex)', async () => {
    const server = await serve((request) => new Response(request.body));
    const client = await server.connect();
    const size = 3 * 1024 * 1024 + 17;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = (i * 31) & 0xff;
    const stream = client.request({ method: 'POST', path: '/echo', streaming: true });
    for (let offset = 0; offset < size; offset += 100_000) {
      await stream.write(payload.subarray(offset, Math.min(size, offset + 100_000)));
    }
    stream.end();
    const result = await stream.result();
    expect(result.status).toBe(200);
    expect(result.bodyBytes).toBe(size);
    expect(result.body.equals(payload)).toBe(true);
    expect(stream.flowViolation).toBe(false);
  });

  it('reads text() and json() bodies directly (fast path) and counts credit', async () => {
    const server = await serve(async (request) => {
      const url = new URL(request.url);
      if (url.pathname === '/json') return Response.json({ got: await request.json() });
      const text = await request.text();
      return new Response(`${text.length}:${request.bodyUsed}`);
    });
    const client = await server.connect();
    const big = 'x'.repeat(1_000_000);
    const text = await client.request({ method: 'POST', path: '/text', body: big }).result();
    expect(text.body.toString()).toBe('1000000:true');
    const json = await client.request({ method: 'POST', path: '/json', body: '{"a":[1,2]}' }).result();
    expect(JSON.parse(json.body.toString())).toEqual({ got: { a: [1, 2] } });
  });

  it('never sends more response bytes than the proxy granted, and continues on WINDOW (SPEC §9)', async () => {
    const chunk = new Uint8Array(65536).fill(1);
    const server = await serve(() => {
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent === 32) return controller.close();
            sent++;
            controller.enqueue(chunk);
          },
        }),
      );
    });
    const client = await server.connect({ autoWindow: false, initialWindow: 100_000 });
    const stream = client.request({});
    await waitFor(() => stream.bodyBytes === 100_000, 'the first window to be used up');
    await sleep(100);
    expect(stream.bodyBytes).toBe(100_000);
    stream.grant(50_000);
    await waitFor(() => stream.bodyBytes === 150_000, 'the granted bytes');
    stream.grant(32 * 65536);
    const result = await stream.result();
    expect(result.bodyBytes).toBe(32 * 65536);
    expect(stream.flowViolation).toBe(false);
  });

  it('sends a response in frames no larger than the proxy max_frame_size', async () => {
    const server = await serve(() => new Response(new Uint8Array(300_000).fill(7)));
    const client = await server.connect({ maxFrameSize: 65536 });
    const result = await client.request({}).result();
    expect(result.bodyBytes).toBe(300_000);
    expect(result.headers).toContainEqual(['content-length', '300000']);
  });

  it('streams async-iterable bodies', async () => {
    const server = await serve(
      () =>
        new Response(
          (async function* () {
            yield 'a';
            yield new TextEncoder().encode('b');
          })() as unknown as BodyInit,
        ),
    );
    const client = await server.connect();
    expect((await client.request({}).result()).body.toString()).toBe('ab');
  });

  it('ends an unread request body early with RESET NO_ERROR after a complete response (SPEC §10)', async () => {
    const server = await serve(() => new Response('early'));
    const client = await server.connect();
    const stream = client.request({ method: 'POST', streaming: true });
    await stream.write('some of the body');
    const result = await stream.result();
    expect(result.body.toString()).toBe('early');
    await waitFor(() => resetsOf(client, stream.id).length > 0, 'RESET');
    expect(resetsOf(client, stream.id)).toEqual(['NO_ERROR']);
  });

  it('gives the app request trailers through env.trailers (SPEC §8.3)', async () => {
    const server = await serve(async (request, env) => {
      const body = await request.text();
      const trailers = await env.trailers;
      return Response.json({ body, checksum: trailers.get('x-checksum') });
    });
    const client = await server.connect();
    const stream = client.request({ method: 'POST', streaming: true });
    await stream.write('payload');
    stream.sendTrailers([['x-checksum', 'abc123']]);
    const result = await stream.result();
    expect(JSON.parse(result.body.toString())).toEqual({ body: 'payload', checksum: 'abc123' });
  });

  it('answers DATA after END_STREAM with RESET STREAM_CLOSED and keeps the connection', async () => {
    const server = await serve(async (request) => {
      await request.text();
      await sleep(100);
      return new Response('late');
    });
    const client = await server.connect();
    const stream = client.request({ method: 'POST', body: 'x' });
    await sleep(20);
    client.writeFrame(FrameType.DATA, 0, stream.id, Buffer.from('more'));
    const result = await stream.result();
    expect(result.reset?.name).toBe('STREAM_CLOSED');
    expect((await client.request({}).result()).status).toBe(200);
  });
});

describe('cancellation and errors', () => {
  it('aborts request.signal when the proxy cancels the stream (SPEC §10)', async () => {
    let reason: unknown = null;
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const server = await serve((request) =>
      request.url.endsWith('/ok')
        ? new Response('ok')
        : new Promise<Response>((resolve) => {
            markStarted();
            request.signal.addEventListener('abort', () => {
              reason = request.signal.reason;
              resolve(new Response('too late'));
            });
          }),
    );
    const client = await server.connect();
    const stream = client.request({});
    await started;
    stream.cancel();
    await waitFor(() => reason !== null, 'the abort');
    expect((reason as DOMException).name).toBe('AbortError');
    expect(String((reason as DOMException).message)).toMatch(/client went away/);
    await waitFor(() => server.server.inFlight === 0, 'the stream to close');
    expect((await client.request({ path: '/ok' }).result()).status).toBe(200);
  });

  it('aborts request.signal and cancels the response body when the connection closes', async () => {
    let cancelled = false;
    let signalAborted = false;
    const server = await serve(
      (request) =>
        new Response(
          new ReadableStream({
            pull: () => sleep(10),
            cancel() {
              cancelled = true;
              signalAborted = request.signal.aborted;
            },
          }),
        ),
    );
    const client = await server.connect();
    const stream = client.request({});
    await stream.head.promise;
    client.close();
    await waitFor(() => cancelled, 'the body stream to be cancelled');
    expect(signalAborted).toBe(true);
  });

  it('turns an exception into a 500 and an error log line with the request id, then keeps serving', async () => {
    const server = await serve((request) => {
      if (request.url.endsWith('/throw')) throw new Error('kaboom');
      return new Response('fine');
    });
    const client = await server.connect();
    const failed = await client.request({ path: '/throw', requestId: 'rid-err' }).result();
    expect(failed.status).toBe(500);
    const line = server.lines.find((entry) => entry.event === 'app-error');
    expect(line).toMatchObject({ request_id: 'rid-err', level: 50 });
    expect((line!.err as { message: string }).message).toBe('kaboom');
    expect((await client.request({}).result()).body.toString()).toBe('fine');
  });

  it('answers 500 for a rejected promise and for a value that is not a Response', async () => {
    const server = await serve((request) =>
      request.url.endsWith('/reject') ? Promise.reject(new Error('nope')) : ('text' as unknown as Response),
    );
    const client = await server.connect();
    expect((await client.request({ path: '/reject' }).result()).status).toBe(500);
    expect((await client.request({ path: '/value' }).result()).status).toBe(500);
    expect(server.lines.filter((entry) => entry.event === 'app-error')).toHaveLength(2);
  });

  it('resets with APP_ERROR when the body stream fails after the head', async () => {
    const server = await serve(
      () =>
        new Response(
          new ReadableStream({
            async pull(controller) {
              controller.enqueue(new TextEncoder().encode('part'));
              await sleep(5);
              controller.error(new Error('disk gone'));
            },
          }),
        ),
    );
    const client = await server.connect();
    const result = await client.request({}).result();
    expect(result.status).toBe(200);
    expect(result.reset?.name).toBe('APP_ERROR');
  });

  it('resets a stream past the time limit with TIMEOUT and aborts its signal with a TimeoutError', async () => {
    let reason: unknown = null;
    const server = await serve(
      (request) =>
        new Promise<Response>(() => {
          request.signal.addEventListener('abort', () => (reason = request.signal.reason));
        }),
      { timeoutMs: 200 },
    );
    const client = await server.connect();
    const result = await client.request({ requestId: 'slowpoke' }).result();
    expect(result.reset?.name).toBe('TIMEOUT');
    expect((reason as DOMException).name).toBe('TimeoutError');
    expect(server.lines.find((line) => line.event === 'request-timeout')).toMatchObject({
      request_id: 'slowpoke',
    });
  });
});

describe('upgrade tunnels (SPEC §13)', () => {
  it('carries raw bytes both ways after a 101', async () => {
    const server = await serve((request) => {
      const { response, tunnel } = upgradeTunnel(request, { headers: { upgrade: 'echo' } });
      void tunnel.readable.pipeTo(tunnel.writable);
      return response;
    });
    const client = await server.connect();
    const stream = client.request({ path: '/tunnel', upgrade: 'echo' });
    const head = await stream.head.promise;
    expect(head.status).toBe(101);
    expect(head.headers).toContainEqual(['upgrade', 'echo']);
    await stream.write('ping 1 ');
    await stream.write(Buffer.alloc(600_000, 0x62));
    stream.end();
    const result = await stream.result();
    expect(result.reset).toBeNull();
    expect(result.bodyBytes).toBe(7 + 600_000);
    expect(result.body.subarray(0, 7).toString()).toBe('ping 1 ');
  });

  it('throws NOT_AN_UPGRADE for an ordinary request', async () => {
    const server = await serve((request) => {
      try {
        upgradeTunnel(request);
        return new Response('unexpected');
      } catch (error) {
        return new Response((error as { code: string }).code, { status: 400 });
      }
    });
    const client = await server.connect();
    const result = await client.request({}).result();
    expect(result.status).toBe(400);
    expect(result.body.toString()).toBe('NOT_AN_UPGRADE');
  });
});

describe('drain (SPEC §11)', () => {
  it('sends GOAWAY, refuses new streams, finishes active ones and removes its socket', async () => {
    const server = await serve(async () => {
      await sleep(300);
      return new Response('finished');
    });
    const client = await server.connect();
    const inFlight = client.request({});
    await waitFor(() => server.server.inFlight === 1, 'the request to start');
    const drained = server.server.drain('test');
    const goaway = await client.goawayReceived.promise;
    expect(goaway).toMatchObject({ code: ErrorCode.NO_ERROR, lastStream: inFlight.id });
    const late = await client.request({}).result();
    expect(late.reset?.name).toBe('REFUSED_STREAM');
    expect((await inFlight.result()).body.toString()).toBe('finished');
    await drained;
    await client.closed.promise;
    const { existsSync } = await import('node:fs');
    expect(existsSync(server.path)).toBe(false);
  });
});

describe('plain web objects mode', () => {
  it('serves with undici Request objects too', async () => {
    const server = await serve(async (request) => new Response(`${request.method} ${await request.text()}`), {
      fastWebObjects: false,
    });
    const client = await server.connect();
    const result = await client.request({ method: 'POST', body: 'plain' }).result();
    expect(result.body.toString()).toBe('POST plain');
  });
});
