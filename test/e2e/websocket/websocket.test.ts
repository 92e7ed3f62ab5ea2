/**
 * WebSockets end to end (issue #9): real clients (`ws`, undici's WebSocket) → the real proxy →
 * the real worker supervisor running an app on upgradeWebSocket().
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { WebSocket as UndiciWebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { waitFor as waitUntil } from '../../integration/worker/support/wait.js';
import { closed, opened, roundTrip, Stack } from './stack.js';

interface CloseRecord {
  path: string;
  code: number;
  wasClean: boolean;
  tag: string;
}

describe('WebSocket through gatewire', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function appCloses(): Promise<CloseRecord[]> {
    return JSON.parse((await stack.get('/closes')).text) as CloseRecord[];
  }

  it('echoes text and binary messages, negotiating the subprotocol in the 101', async () => {
    const client = stack.client('/echo', ['other', 'echo.v1', 'echo.v2']);
    const headers = new Promise<Record<string, string | string[] | undefined>>((resolve) =>
      client.once('upgrade', (response) => resolve(response.headers)),
    );
    await opened(client);
    const head = await headers;
    // The app's preference order wins among what the client offered.
    expect(client.protocol).toBe('echo.v2');
    expect(head['sec-websocket-protocol']).toBe('echo.v2');
    expect(head.upgrade).toBe('websocket');
    expect(String(head['sec-websocket-accept'])).toMatch(/^[A-Za-z0-9+/]{27}=$/); // ws checked its value
    expect(await roundTrip(client, 'hello, gatewire')).toBe('hello, gatewire');
    expect(await roundTrip(client, 'héllo ✓ 🎉')).toBe('héllo ✓ 🎉');
    const bytes = randomBytes(4096);
    const echoed = await roundTrip(client, bytes);
    expect(Buffer.isBuffer(echoed) && echoed.equals(bytes)).toBe(true);
    const empty = await roundTrip(client, Buffer.alloc(0));
    expect(Buffer.isBuffer(empty) && empty.length === 0).toBe(true);
    client.close(1000, 'done');
    expect(await closed(client)).toEqual({ code: 1000, reason: 'done' });
  });

  it('works with undici’s web-standard WebSocket client, text and ArrayBuffer', async () => {
    const client = new UndiciWebSocket(stack.url('/echo'));
    client.binaryType = 'arraybuffer';
    const messages: unknown[] = [];
    const done = new Promise<{ code: number; wasClean: boolean }>((resolve) => {
      client.onclose = (event) => resolve({ code: event.code, wasClean: event.wasClean });
    });
    await new Promise<void>((resolve, reject) => {
      client.onopen = () => resolve();
      client.onerror = () => reject(new Error('undici WebSocket failed to open'));
    });
    const got = new Promise<void>((resolve) => {
      client.onmessage = (event) => {
        messages.push(event.data);
        if (messages.length === 2) resolve();
      };
    });
    client.send('from undici');
    client.send(new Uint8Array([1, 2, 3, 250]).buffer);
    await got;
    expect(messages[0]).toBe('from undici');
    expect([...new Uint8Array(messages[1] as ArrayBuffer)]).toEqual([1, 2, 3, 250]);
    client.close(3001, 'bye');
    expect(await done).toEqual({ code: 3001, wasClean: true });
  });

  it('carries a 10 MiB message each way within the flow-control windows and max frame sizes', async () => {
    const client = stack.client('/echo');
    await opened(client);
    const big = randomBytes(10 * 1024 * 1024);
    const echoed = await roundTrip(client, big);
    expect(Buffer.isBuffer(echoed) && echoed.length === big.length && echoed.equals(big)).toBe(true);
    const text = 'x'.repeat(10 * 1024 * 1024);
    expect(await roundTrip(client, text)).toBe(text);
    client.close();
    expect((await closed(client)).code).toBe(1005);
  });

  it('a client that does not read holds the app’s sends back (flow control end to end), then gets them all', async () => {
    const client = stack.client('/flood?mb=32');
    let received = 0;
    client.on('message', (data: Buffer) => (received += data.length));
    client.once('open', () => client.pause()); // stop reading the TCP socket at once
    await opened(client);
    const buffered = async (): Promise<number> => Number((await stack.get('/buffered')).text);
    // The proxy grants credit only as the client takes bytes: what the kernel buffers and one window
    // leave, the rest waits in the app's bufferedAmount.
    let last = -1;
    const held = await waitUntil(
      async () => {
        const amount = await buffered();
        const settled = amount === last; // nothing moves while the client does not read
        last = amount;
        return settled && amount;
      },
      'the app’s sends held back',
      15_000,
      200,
    );
    expect(held).toBeGreaterThan(16 * 1024 * 1024);
    client.resume();
    await waitUntil(() => received === 32 * 1024 * 1024, 'all 32 MiB');
    expect(await buffered()).toBe(0);
    client.close();
    await closed(client);
  });

  it('closes with 1009 a message above the app’s maxPayload', async () => {
    const client = stack.client('/small');
    await opened(client);
    expect(await roundTrip(client, Buffer.alloc(1024 * 1024, 1))).toHaveLength(1024 * 1024);
    const closing = closed(client);
    client.send(Buffer.alloc(1024 * 1024 + 1, 1));
    expect((await closing).code).toBe(1009);
  });

  it('negotiates permessage-deflate when the app allows it', async () => {
    const client = stack.client('/deflate', undefined, { perMessageDeflate: true });
    await opened(client);
    expect(client.extensions).toContain('permessage-deflate');
    const text = 'compressible '.repeat(10_000);
    expect(await roundTrip(client, text)).toBe(text);
    client.close();
    await closed(client);
  });

  it('passes a refusing worker’s HTTP answer through', async () => {
    const client = stack.client('/refuse');
    const response = await new Promise<{ status: number; body: string }>((resolve) => {
      client.once('unexpected-response', (_request, res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (text: string) => (body += text));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(response).toEqual({ status: 403, body: 'no websocket for you\n' });
  });

  it('answers 426 to a plain GET on a WebSocket route, 400 to a broken handshake', async () => {
    const plain = await stack.get('/echo');
    expect(plain.status).toBe(426);
    const socket = connect(stack.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'GET /echo HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n' +
        'sec-websocket-version: 13\r\nsec-websocket-key: not-a-key\r\n\r\n',
    );
    let received = '';
    socket.setEncoding('latin1').on('data', (text: string) => (received += text));
    await waitFor(() => received.includes('\r\n\r\n'));
    expect(received).toMatch(/^HTTP\/1\.1 400 /);
    expect(received).toContain('Sec-WebSocket-Key');
    socket.destroy();
  });

  it('delivers a client’s abrupt close (FIN without a close frame, and a TCP reset) to the app as close 1006', async () => {
    const finClient = stack.client('/watch?tag=fin');
    const resetClient = stack.client('/watch?tag=reset');
    await Promise.all([opened(finClient), opened(resetClient)]);
    expect(await roundTrip(finClient, 'a')).toBe('a');
    expect(await roundTrip(resetClient, 'b')).toBe('b');
    const finSocket = (finClient as unknown as { _socket: Socket })._socket;
    const resetSocket = (resetClient as unknown as { _socket: Socket })._socket;
    finSocket.end(); // FIN, no close frame
    resetSocket.resetAndDestroy(); // RST
    const closes = await waitUntil(async () => {
      const seen = (await appCloses()).filter((entry) => entry.path === '/watch');
      return seen.length >= 2 && seen;
    }, 'the app seeing both close events');
    expect(closes).toEqual(
      expect.arrayContaining([
        { path: '/watch', code: 1006, wasClean: false, tag: 'fin' },
        { path: '/watch', code: 1006, wasClean: false, tag: 'reset' },
      ]),
    );
  });

  it('sends text in order under load on one socket (no reordering across DATA frames)', async () => {
    const client = stack.client('/echo');
    await opened(client);
    const received: string[] = [];
    const all = new Promise<void>((resolve) => {
      client.on('message', (data: Buffer) => {
        received.push(data.toString());
        if (received.length === 2000) resolve();
      });
    });
    for (let i = 0; i < 2000; i++) client.send(`m${i}`);
    await all;
    expect(received).toEqual(Array.from({ length: 2000 }, (_, i) => `m${i}`));
    client.close();
    await closed(client);
  });
});
