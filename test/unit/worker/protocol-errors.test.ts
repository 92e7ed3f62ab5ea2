/**
 * Bad input from the proxy side: every violation closes that one connection with GOAWAY and the
 * SPEC §14 code, logs a line, and the server keeps serving other connections. Plus the TCP
 * shared-secret handshake (SPEC §5.4).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Flags,
  FrameEncoder,
  FrameType,
  authProof,
  decodeAuth,
  decodeHello,
  makeHello,
} from '@gatewire/protocol';
import { WorkerServer } from '@gatewire/worker';
import { startInProcess, type InProcessServer } from '../../integration/worker/support/in-process-server.js';
import { capturingLogger } from '../../integration/worker/support/log-capture.js';
import { ProtocolClient } from '../../integration/worker/support/protocol-client.js';
import { RawSession } from '../../integration/worker/support/raw-session.js';
import { waitFor } from '../../integration/worker/support/wait.js';

let current: InProcessServer | null = null;
const sessions: RawSession[] = [];

afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  await current?.stop();
  current = null;
});

async function server(): Promise<InProcessServer> {
  current ??= await startInProcess({
    app: {
      // '/hang' keeps its stream open, so that frames for it are not ignored as frames for a closed stream.
      fetch: (request: Request) =>
        request.url.endsWith('/hang')
          ? new Promise<Response>(() => undefined)
          : new Response('still serving'),
    },
  });
  return current;
}

async function session(): Promise<RawSession> {
  const opened = await RawSession.open((await server()).path);
  sessions.push(opened);
  return opened;
}

function requestPayload(): Buffer {
  const encoder = new FrameEncoder();
  encoder.request(
    1,
    {
      method: 'GET',
      target: '/hang',
      path: '/hang',
      query: '',
      httpVersion: 'HTTP/1.1',
      headers: [],
      scheme: 'http',
      clientAddr: '',
      clientPort: 0,
      serverAddr: '',
      serverPort: 0,
      serverName: 'x',
      requestId: 'r',
      bodyLength: null,
      scriptName: '',
      upgrade: '',
    },
    false,
  );
  return encoder.takeBuffer().subarray(10);
}

interface Case {
  name: string;
  /** Send the valid preface + HELLO first. */
  handshake: boolean;
  bytes(raw: RawSession): Buffer;
  code: string;
}

const cases: Case[] = [
  {
    name: 'an HTTP client dialing the socket',
    handshake: false,
    bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    code: 'BAD_PREFACE',
  },
  {
    name: 'a first frame that is not HELLO',
    handshake: false,
    bytes: (raw) =>
      Buffer.concat([Buffer.from('GATEWIRE'), raw.frame(FrameType.PING, 0, 0, Buffer.alloc(8))]),
    code: 'HANDSHAKE_ERROR',
  },
  {
    name: 'a frame longer than max_frame_size',
    handshake: true,
    bytes: (raw) => raw.frame(FrameType.REQUEST, 0, 1, Buffer.alloc(0), 10_000_000),
    code: 'FRAME_SIZE_ERROR',
  },
  {
    name: 'an unknown frame type',
    handshake: true,
    bytes: (raw) => raw.frame(0x0e, 0, 0),
    code: 'UNKNOWN_FRAME_TYPE',
  },
  {
    name: 'a reserved flag',
    handshake: true,
    bytes: (raw) => raw.frame(FrameType.PING, 0x02, 0, Buffer.alloc(8)),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'a WINDOW of the wrong size',
    handshake: true,
    bytes: (raw) => raw.frame(FrameType.WINDOW, 0, 1, Buffer.alloc(3)),
    code: 'FRAME_SIZE_ERROR',
  },
  {
    name: 'REQUEST with an invalid environ',
    handshake: true,
    bytes: (raw) => raw.frame(FrameType.REQUEST, Flags.END_STREAM, 1, Buffer.from([0xc1])),
    code: 'BAD_PAYLOAD',
  },
  {
    name: 'stream ids that do not increase',
    handshake: true,
    bytes: (raw) =>
      Buffer.concat([
        raw.frame(FrameType.REQUEST, 0, 5, requestPayload()),
        raw.frame(FrameType.REQUEST, 0, 3, requestPayload()),
      ]),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'DATA for a stream never opened',
    handshake: true,
    bytes: (raw) => raw.frame(FrameType.DATA, 0, 9, Buffer.from('x')),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'DATA beyond the granted window',
    handshake: true,
    bytes: (raw) =>
      Buffer.concat([
        raw.frame(FrameType.REQUEST, 0, 1, requestPayload()),
        raw.frame(FrameType.DATA, 0, 1, Buffer.alloc(200_000)),
        raw.frame(FrameType.DATA, 0, 1, Buffer.alloc(200_000)),
      ]),
    code: 'FLOW_CONTROL_ERROR',
  },
  {
    name: 'a WINDOW increment of 0',
    handshake: true,
    bytes: (raw) =>
      Buffer.concat([
        raw.frame(FrameType.REQUEST, 0, 1, requestPayload()),
        raw.frame(FrameType.WINDOW, 0, 1, Buffer.alloc(4)),
      ]),
    code: 'FLOW_CONTROL_ERROR',
  },
  {
    name: 'a RESPONSE from the proxy',
    handshake: true,
    bytes: (raw) =>
      Buffer.concat([
        raw.frame(FrameType.REQUEST, 0, 1, requestPayload()),
        raw.frame(FrameType.RESPONSE, 0, 1, Buffer.from([0x80])),
      ]),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'a second HELLO',
    handshake: true,
    bytes: () => {
      const encoder = new FrameEncoder();
      encoder.hello(makeHello({ role: 'proxy' }));
      return encoder.takeBuffer();
    },
    code: 'HANDSHAKE_ERROR',
  },
  {
    name: 'AUTH when the worker asked for none',
    handshake: true,
    bytes: () => {
      const encoder = new FrameEncoder();
      encoder.auth({ proof: Buffer.alloc(32) });
      return encoder.takeBuffer();
    },
    code: 'PROTOCOL_ERROR',
  },
];

describe('malformed input closes the connection with the SPEC code (SPEC §14)', () => {
  for (const testCase of cases) {
    it(`${testCase.name} → ${testCase.code}`, async () => {
      const raw = await session();
      if (testCase.handshake) raw.sendHandshake();
      raw.write(testCase.bytes(raw));
      const goaway = await raw.goawayOnClose();
      expect(goaway?.code).toBe(testCase.code);
      const running = await server();
      await waitFor(() => running.lines.find((line) => line.event === 'protocol-error'), 'the log line');
      expect(running.lines.find((line) => line.event === 'protocol-error')).toMatchObject({
        code: testCase.code,
      });
      // The process and its other connections are unaffected.
      const client = await running.connect();
      expect((await client.request({}).result()).body.toString()).toBe('still serving');
    });
  }

  it('quotes the bytes it saw in the BAD_PREFACE message', async () => {
    const raw = await session();
    raw.write('GET / HTTP/1.1\r\n\r\n');
    const goaway = await raw.goawayOnClose();
    expect(goaway?.message).toContain('GET / HT');
  });

  it('rejects a HELLO with the wrong version with UNSUPPORTED_VERSION naming both', async () => {
    const raw = await session();
    raw.sendHandshake((hello) => (hello.version = 2));
    const goaway = await raw.goawayOnClose();
    expect(goaway?.code).toBe('UNSUPPORTED_VERSION');
    expect(goaway?.message).toMatch(/2.*1/);
  });

  it('rejects a peer that claims to be a worker', async () => {
    const raw = await session();
    raw.sendHandshake((hello) => (hello.role = 'worker'));
    expect((await raw.goawayOnClose())?.code).toBe('HANDSHAKE_ERROR');
  });
});

describe('TCP with the shared secret (SPEC §5.4)', () => {
  let tcp: WorkerServer | null = null;
  afterEach(() => {
    tcp?.close();
    tcp = null;
  });

  async function tcpServer(): Promise<{ host: string; port: number }> {
    tcp = new WorkerServer({
      app: { fetch: () => new Response('authenticated') },
      secret: 's3cret',
      logger: capturingLogger().logger,
    });
    const address = await tcp.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    const port = Number(/:(\d+)$/.exec(address)![1]);
    return { host: '127.0.0.1', port };
  }

  it('asks for the proof, proves itself, and serves a peer that knows the secret', async () => {
    const target = await tcpServer();
    const client = await ProtocolClient.connect(target, { secret: 's3cret' });
    expect(client.peerHello?.auth).toBe('hmac-sha256');
    expect((await client.request({}).result()).body.toString()).toBe('authenticated');
    client.close();
  });

  it('closes with AUTH_FAILED on a wrong proof', async () => {
    const target = await tcpServer();
    await expect(ProtocolClient.connect(target, { secret: 'wrong' })).rejects.toThrow(/AUTH_FAILED/);
  });

  it('closes with AUTH_FAILED when a REQUEST comes before AUTH', async () => {
    const target = await tcpServer();
    const raw = await RawSession.open(target);
    sessions.push(raw);
    raw.sendHandshake();
    raw.write(raw.frame(FrameType.REQUEST, Flags.END_STREAM, 1, requestPayload()));
    expect((await raw.goawayOnClose())?.code).toBe('AUTH_FAILED');
  });

  it('answers the proof with its own that verifies against the proxy nonce', async () => {
    const target = await tcpServer();
    const raw = await RawSession.open(target);
    sessions.push(raw);
    const hello = raw.sendHandshake();
    await waitFor(() => raw.frames.find((frame) => frame.type === FrameType.HELLO), 'the worker HELLO');
    const workerHello = decodeHello(raw.frames.find((frame) => frame.type === FrameType.HELLO)!.payload);
    const encoder = new FrameEncoder();
    encoder.auth({ proof: authProof(Buffer.from('s3cret'), 'proxy', hello.nonce, workerHello.nonce) });
    raw.write(encoder.takeBuffer());
    const auth = await waitFor(
      () => raw.frames.find((frame) => frame.type === FrameType.AUTH),
      'the worker AUTH',
    );
    expect(Buffer.from(decodeAuth(auth.payload).proof)).toEqual(
      authProof(Buffer.from('s3cret'), 'worker', hello.nonce, workerHello.nonce),
    );
  });

  it('refuses to listen on TCP without a secret', async () => {
    const bare = new WorkerServer({ app: { fetch: () => new Response('') } });
    await expect(bare.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 })).rejects.toMatchObject({
      code: 'SECRET_REQUIRED',
    });
    bare.close();
  });
});
