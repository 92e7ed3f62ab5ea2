/**
 * upgradeWebSocket() and GatewayWebSocket in process: a WorkerServer from the sources over a real
 * Unix socket, driven by the test-suite protocol client playing the proxy, which speaks WebSocket
 * frames by hand inside the tunnel's DATA.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GatewayWebSocket,
  upgradeWebSocket,
  WebSocketCloseEvent,
  WebSocketUpgradeError,
  isWorkerError,
  type UpgradeWebSocketOptions,
} from '@gatewire/worker';
import { Flags, FrameType, type HeaderPairs } from '@gatewire/protocol';
import { startInProcess, type InProcessServer } from '../../integration/worker/support/in-process-server.js';
import type { ClientStream, ProtocolClient } from '../../integration/worker/support/protocol-client.js';
import { waitFor } from '../../integration/worker/support/wait.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

let current: InProcessServer | null = null;

afterEach(async () => {
  await current?.stop();
  current = null;
});

async function serve(fetch: (request: Request) => Response | Promise<Response>): Promise<InProcessServer> {
  current = await startInProcess({ app: { fetch } });
  return current;
}

function handshakeHeaders(key: string, extra: HeaderPairs = []): HeaderPairs {
  return [
    ['host', 'example.com'],
    ['connection', 'upgrade'],
    ['upgrade', 'websocket'],
    ['sec-websocket-version', '13'],
    ['sec-websocket-key', key],
    ...extra,
  ];
}

/** A masked client frame (RFC 6455 §5.2). */
function clientFrame(opcode: number, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const mask = randomBytes(4);
  const extended = data.length < 126 ? 0 : data.length < 65_536 ? 2 : 8;
  const head = Buffer.alloc(2 + extended + 4);
  head[0] = 0x80 | opcode;
  head[1] = 0x80 | (extended === 0 ? data.length : extended === 2 ? 126 : 127);
  if (extended === 2) head.writeUInt16BE(data.length, 2);
  if (extended === 8) head.writeBigUInt64BE(BigInt(data.length), 2);
  mask.copy(head, 2 + extended);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ mask[i % 4];
  return Buffer.concat([head, masked]);
}

function closeFrame(code: number, reason: string): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return clientFrame(0x8, payload);
}

/**
 * The proxy relays the client's FIN: END_STREAM on the tunnel. Written directly, because the test
 * client treats a stream the worker has ended as finished and would send nothing more.
 */
function endTunnel(client: ProtocolClient, stream: ClientStream): void {
  client.writeFrame(FrameType.DATA, Flags.END_STREAM, stream.id);
}

interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** Collects the unmasked server frames arriving in the tunnel's DATA. */
class FrameReader {
  readonly frames: ServerFrame[] = [];
  #buffer = Buffer.alloc(0);

  constructor(stream: ClientStream) {
    stream.onData = (chunk) => this.#push(chunk);
  }

  #push(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const buffer = this.#buffer;
      if (buffer.length < 2) return;
      const length7 = buffer[1] & 0x7f;
      const headLength = length7 === 126 ? 4 : length7 === 127 ? 10 : 2;
      if (buffer.length < headLength) return;
      const length =
        length7 === 126
          ? buffer.readUInt16BE(2)
          : length7 === 127
            ? Number(buffer.readBigUInt64BE(2))
            : length7;
      if (buffer.length < headLength + length) return;
      this.frames.push({
        opcode: buffer[0] & 0x0f,
        payload: buffer.subarray(headLength, headLength + length),
      });
      this.#buffer = buffer.subarray(headLength + length);
    }
  }

  async next(): Promise<ServerFrame> {
    await waitFor(() => this.frames.length > 0, 'a server frame', 5000, 5);
    return this.frames.shift()!;
  }
}

/** Serves one upgradeWebSocket() app and opens one WebSocket stream to it. */
async function openSocket(
  setup: (socket: GatewayWebSocket, request: Request) => void,
  options: UpgradeWebSocketOptions = {},
  extraHeaders: HeaderPairs = [],
) {
  const sockets: GatewayWebSocket[] = [];
  const server = await serve((request) => {
    const { response, socket } = upgradeWebSocket(request, options);
    sockets.push(socket);
    setup(socket, request);
    return response;
  });
  const client = await server.connect();
  const key = randomBytes(16).toString('base64');
  const stream = client.request({
    path: '/ws',
    upgrade: 'websocket',
    headers: handshakeHeaders(key, extraHeaders),
  });
  const reader = new FrameReader(stream);
  const head = await stream.head.promise;
  return { server, client, stream, reader, head, key, socket: sockets[0] };
}

describe('upgradeWebSocket(): the handshake', () => {
  it('answers 101 with the Sec-WebSocket-Accept of RFC 6455 §4.2.2 and the app’s preferred subprotocol', async () => {
    const { head, key, socket } = await openSocket(
      () => {},
      { protocols: ['v2', 'v1'], headers: { 'x-app': 'yes' } },
      [['sec-websocket-protocol', 'v1, v2, v3']],
    );
    expect(head.status).toBe(101);
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    expect(head.headers).toEqual(
      expect.arrayContaining([
        ['upgrade', 'websocket'],
        ['connection', 'Upgrade'],
        ['sec-websocket-accept', accept],
        ['sec-websocket-protocol', 'v2'],
        ['x-app', 'yes'],
      ]),
    );
    expect(socket.protocol).toBe('v2');
    expect(socket.extensions).toBe('');
    expect(socket.url).toBe('ws://example.com/ws');
  });

  it('sends no subprotocol when none is in common', async () => {
    const { head, socket } = await openSocket(() => {}, { protocols: ['v9'] }, [
      ['sec-websocket-protocol', 'v1'],
    ]);
    expect(head.headers.map(([name]) => name)).not.toContain('sec-websocket-protocol');
    expect(socket.protocol).toBe('');
  });

  it('refuses what is not a valid handshake, with the status RFC 6455 asks for', async () => {
    const outcomes: Array<{
      code: string;
      status: number;
      headers: ReadonlyArray<readonly [string, string]>;
    }> = [];
    const server = await serve((request) => {
      try {
        upgradeWebSocket(request);
        return new Response('upgraded?');
      } catch (error) {
        if (!(error instanceof WebSocketUpgradeError)) throw error;
        outcomes.push({ code: error.code, status: error.status, headers: error.headers });
        return error.toResponse();
      }
    });
    const client = await server.connect();
    const plain = await client.request({ path: '/ws' }).result();
    expect(plain.status).toBe(426);
    expect(plain.headers).toContainEqual(['sec-websocket-version', '13']);
    const badKey = await client
      .request({ path: '/ws', upgrade: 'websocket', headers: handshakeHeaders('short') })
      .result();
    expect(badKey.status).toBe(400);
    expect(badKey.body.toString()).toContain('Sec-WebSocket-Key');
    const post = await client
      .request({
        method: 'POST',
        path: '/ws',
        upgrade: 'websocket',
        headers: handshakeHeaders(randomBytes(16).toString('base64')),
      })
      .result();
    expect(post.status).toBe(405);
    const oldVersion = await client
      .request({
        path: '/ws',
        upgrade: 'websocket',
        headers: handshakeHeaders(randomBytes(16).toString('base64')).map(([name, value]) =>
          name === 'sec-websocket-version' ? [name, '7'] : [name, value],
        ),
      })
      .result();
    expect(oldVersion.status).toBe(426);
    expect(outcomes.map((outcome) => outcome.code)).toEqual([
      'NOT_A_WEBSOCKET',
      'BAD_HANDSHAKE',
      'BAD_HANDSHAKE',
      'BAD_HANDSHAKE',
    ]);
  });

  it('refuses a Request it did not make (TUNNEL_UNAVAILABLE) and options out of range (BAD_OPTION)', () => {
    const request = new Request('http://example.com/ws', {
      headers: {
        upgrade: 'websocket',
        connection: 'upgrade',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
      },
    });
    let error: unknown = null;
    try {
      upgradeWebSocket(request);
    } catch (caught) {
      error = caught;
    }
    expect(isWorkerError(error) && error.code).toBe('TUNNEL_UNAVAILABLE');
    expect(() => upgradeWebSocket(request, { maxPayload: 0 })).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION' }) as Error,
    );
  });
});

describe('GatewayWebSocket', () => {
  it('is CONNECTING until the 101 is out: send() throws InvalidStateError, then open fires', async () => {
    const seen: string[] = [];
    const { socket, reader } = await openSocket((socket) => {
      seen.push(`state ${socket.readyState}`);
      try {
        socket.send('too early');
      } catch (error) {
        seen.push((error as DOMException).name);
      }
      socket.onopen = () => {
        seen.push(`open ${socket.readyState}`);
        socket.send('welcome');
      };
    });
    const frame = await reader.next();
    expect(frame).toEqual({ opcode: 0x1, payload: Buffer.from('welcome') });
    expect(seen).toEqual(['state 0', 'InvalidStateError', 'open 1']);
    expect(socket.readyState).toBe(GatewayWebSocket.OPEN);
  });

  it('echoes text and binary with MessageEvents; binaryType picks ArrayBuffer, Blob or Buffer', async () => {
    const kinds: string[] = [];
    const { stream, reader, socket } = await openSocket((socket) => {
      socket.onmessage = async (event) => {
        const data: unknown = event.data;
        kinds.push(
          `${event instanceof MessageEvent}:${typeof data === 'string' ? 'string' : Buffer.isBuffer(data) ? 'Buffer' : data instanceof ArrayBuffer ? 'ArrayBuffer' : data instanceof Blob ? 'Blob' : typeof data}`,
        );
        if (data instanceof Blob) socket.send(await data.arrayBuffer());
        else socket.send(data as string | ArrayBuffer);
      };
    });
    await stream.write(clientFrame(0x1, 'héllo'));
    expect(await reader.next()).toEqual({ opcode: 0x1, payload: Buffer.from('héllo') });
    await stream.write(clientFrame(0x2, Buffer.from([1, 2, 3])));
    expect(await reader.next()).toEqual({ opcode: 0x2, payload: Buffer.from([1, 2, 3]) });
    socket.binaryType = 'blob';
    await stream.write(clientFrame(0x2, Buffer.from([4, 5])));
    expect(await reader.next()).toEqual({ opcode: 0x2, payload: Buffer.from([4, 5]) });
    socket.binaryType = 'nodebuffer';
    await stream.write(clientFrame(0x2, Buffer.alloc(70_000, 9)));
    const big = await reader.next();
    expect(big.payload.equals(Buffer.alloc(70_000, 9))).toBe(true);
    socket.binaryType = 'bogus' as 'blob'; // ignored, as on the web
    expect(socket.binaryType).toBe('nodebuffer');
    expect(kinds).toEqual(['true:string', 'true:ArrayBuffer', 'true:Blob', 'true:Buffer']);
  });

  it('onmessage replaces its previous handler and sits beside addEventListener listeners', async () => {
    const calls: string[] = [];
    const { stream } = await openSocket((socket) => {
      socket.onmessage = () => calls.push('first');
      socket.addEventListener('message', (event) => calls.push(`listener ${String(event.data)}`));
      socket.onmessage = (event) => calls.push(`second ${String(event.data)}`);
    });
    await stream.write(clientFrame(0x1, 'a'));
    await waitFor(() => calls.length === 2, 'both handlers');
    expect(calls).toEqual(['second a', 'listener a']);
  });

  it('closes cleanly: close frame out, the client’s back, END_STREAM both ways, close event 1000', async () => {
    let closeEvent: WebSocketCloseEvent | null = null;
    const { client, stream, reader, socket } = await openSocket((socket) => {
      socket.onopen = () => socket.close(1000, 'bye');
      socket.onclose = (event) => (closeEvent = event);
    });
    const frame = await reader.next();
    expect(frame.opcode).toBe(0x8);
    expect(frame.payload.readUInt16BE(0)).toBe(1000);
    expect(frame.payload.subarray(2).toString()).toBe('bye');
    expect(socket.readyState).toBe(GatewayWebSocket.CLOSING);
    await stream.write(closeFrame(1000, 'bye'));
    endTunnel(client, stream); // the proxy relays the client's FIN
    const result = await stream.result();
    expect(result.reset).toBeNull(); // the worker ended its direction with END_STREAM, no RESET
    await waitFor(() => closeEvent !== null, 'the close event');
    expect(closeEvent).toMatchObject({ code: 1000, reason: 'bye', wasClean: true });
    expect(closeEvent).toBeInstanceOf(WebSocketCloseEvent);
    expect(socket.readyState).toBe(GatewayWebSocket.CLOSED);
  });

  it('a client close frame is answered and reported with its code', async () => {
    let closeEvent: WebSocketCloseEvent | null = null;
    const { client, stream, reader } = await openSocket((socket) => {
      socket.onclose = (event) => (closeEvent = event);
    });
    await stream.write(closeFrame(4001, 'leaving'));
    const answer = await reader.next();
    expect(answer.opcode).toBe(0x8);
    expect(answer.payload.readUInt16BE(0)).toBe(4001);
    endTunnel(client, stream);
    await waitFor(() => closeEvent !== null, 'the close event');
    expect(closeEvent).toMatchObject({ code: 4001, reason: 'leaving', wasClean: true });
  });

  it('a tunnel reset by the proxy (the client vanished) is a close event 1006', async () => {
    let closeEvent: WebSocketCloseEvent | null = null;
    const { stream, reader } = await openSocket((socket) => {
      socket.onopen = () => socket.send('hi');
      socket.onclose = (event) => (closeEvent = event);
    });
    await reader.next();
    stream.cancel();
    await waitFor(() => closeEvent !== null, 'the close event');
    expect(closeEvent).toMatchObject({ code: 1006, wasClean: false });
  });

  it('a message above maxPayload: error event, close frame 1009 to the client, close event', async () => {
    const events: string[] = [];
    const { client, stream, reader } = await openSocket(
      (socket) => {
        socket.onerror = (event) => events.push(`error ${event.message}`);
        socket.onclose = (event) => events.push(`close ${event.code}`);
      },
      { maxPayload: 100 },
    );
    await stream.write(clientFrame(0x2, Buffer.alloc(101)));
    const frame = await reader.next();
    expect(frame.opcode).toBe(0x8);
    expect(frame.payload.readUInt16BE(0)).toBe(1009);
    endTunnel(client, stream);
    await waitFor(() => events.length === 2, 'error and close events');
    expect(events[0]).toMatch(/^error .*Max payload size exceeded/);
    // ws reads nothing more after a violation, so the app's close has no client code: 1006.
    expect(events[1]).toBe('close 1006');
  });

  it('validates close() arguments as the web does', async () => {
    const { socket } = await openSocket(() => {});
    expect(() => socket.close(1001)).toThrow(
      expect.objectContaining({ name: 'InvalidAccessError' }) as Error,
    );
    expect(() => socket.close(1000, 'é'.repeat(62))).toThrow(
      expect.objectContaining({ name: 'SyntaxError' }) as Error,
    );
    socket.close(3000, 'ok');
    socket.close(3000, 'twice is a no-op');
    expect(socket.readyState).toBe(GatewayWebSocket.CLOSING);
  });

  it('a socket whose fetch returned another response never opens and closes with 1006', async () => {
    const events: string[] = [];
    const server = await serve((request) => {
      const { socket } = upgradeWebSocket(request);
      socket.onopen = () => events.push('open');
      socket.onclose = (event) => events.push(`close ${event.code}`);
      return new Response('changed my mind', { status: 403 });
    });
    const client = await server.connect();
    const result = await client
      .request({
        path: '/ws',
        upgrade: 'websocket',
        headers: handshakeHeaders(randomBytes(16).toString('base64')),
      })
      .result();
    expect(result.status).toBe(403);
    expect(result.body.toString()).toBe('changed my mind');
    await waitFor(() => events.length > 0, 'the close event');
    expect(events).toEqual(['close 1006']);
  });

  it('holds what it cannot send within the window in bufferedAmount, and sends it when credit comes', async () => {
    const server = await serve((request) => {
      const { response, socket } = upgradeWebSocket(request);
      socket.onopen = () => {
        socket.send(Buffer.alloc(300_000, 1));
        socket.send('after');
        sockets.push(socket);
      };
      return response;
    });
    const sockets: GatewayWebSocket[] = [];
    const client = await server.connect({ autoWindow: false, initialWindow: 65_536 });
    const stream = client.request({
      path: '/ws',
      upgrade: 'websocket',
      headers: handshakeHeaders(randomBytes(16).toString('base64')),
    });
    const reader = new FrameReader(stream);
    await stream.head.promise;
    await waitFor(() => stream.bodyBytes === 65_536, 'a full window');
    expect(sockets[0].bufferedAmount).toBeGreaterThan(0);
    expect(stream.flowViolation).toBe(false);
    stream.grant(1_000_000);
    expect((await reader.next()).payload.length).toBe(300_000);
    expect((await reader.next()).payload.toString()).toBe('after');
    await waitFor(() => sockets[0].bufferedAmount === 0, 'an empty buffer');
  });
});

describe('upgradeWebSocket() in a Hono app', () => {
  it('upgrades c.req.raw and Hono returns the 101 unchanged', async () => {
    const { Hono } = await import('hono');
    const app = new Hono();
    app.get('/ws', (c) => {
      const { response, socket } = upgradeWebSocket(c.req.raw);
      socket.onmessage = (event) => socket.send(`hono: ${String(event.data)}`);
      return response;
    });
    current = await startInProcess({ app });
    const client = await current.connect();
    const stream = client.request({
      path: '/ws',
      upgrade: 'websocket',
      headers: handshakeHeaders(randomBytes(16).toString('base64')),
    });
    const reader = new FrameReader(stream);
    expect((await stream.head.promise).status).toBe(101);
    await stream.write(clientFrame(0x1, 'hi'));
    expect(await reader.next()).toEqual({ opcode: 0x1, payload: Buffer.from('hono: hi') });
  });
});

describe('upgradeWebSocket() with --plain-web-objects', () => {
  it('upgrades a plain undici Request too', async () => {
    current = await startInProcess({
      fastWebObjects: false,
      app: {
        fetch(request: Request) {
          const { response, socket } = upgradeWebSocket(request);
          socket.onmessage = (event) => socket.send(`plain: ${String(event.data)}`);
          return response;
        },
      },
    });
    const client = await current.connect();
    const stream = client.request({
      path: '/ws',
      upgrade: 'websocket',
      headers: handshakeHeaders(randomBytes(16).toString('base64')),
    });
    const reader = new FrameReader(stream);
    expect((await stream.head.promise).status).toBe(101);
    await stream.write(clientFrame(0x1, 'hi'));
    expect(await reader.next()).toEqual({ opcode: 0x1, payload: Buffer.from('plain: hi') });
  });
});
