import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { pino } from 'pino';
import { FrameEncoder, makeHello } from '@gatewire/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import {
  WorkerConnection,
  type ConnectionFailure,
  type ConnectionOwner,
} from '../../../proxy/src/upstream/worker-connection.js';
import type { StreamFailure, StreamListener } from '../../../proxy/src/upstream/worker-stream.js';
import { LogCapture, tempDir } from './helpers/test-proxy.js';

class Owner implements ConnectionOwner {
  ready = false;
  closed: ConnectionFailure | null | undefined = undefined;
  #resolve: (() => void) | null = null;
  readonly done = new Promise<void>((resolve) => {
    this.#resolve = resolve;
  });
  onConnectionReady(): void {
    this.ready = true;
    this.#resolve?.();
  }
  onStreamClosed(): void {}
  onConnectionDraining(): void {}
  onConnectionClosed(_connection: WorkerConnection, failure: ConnectionFailure | null): void {
    this.closed = failure;
    this.#resolve?.();
  }
}

class Listener implements StreamListener {
  failures: StreamFailure[] = [];
  events = 0;
  onInformational(): void {
    this.events++;
  }
  onResponseHead(): void {
    this.events++;
  }
  onResponseData(): void {
    this.events++;
  }
  onResponseTrailers(): void {
    this.events++;
  }
  onRequestWritable(): void {}
  onStreamReset(): void {
    this.events++;
  }
  onStreamFailed(failure: StreamFailure): void {
    this.failures.push(failure);
  }
}

const ENVIRON = {
  method: 'GET',
  target: '/',
  path: '/',
  query: '',
  httpVersion: 'HTTP/1.1',
  headers: [],
  scheme: 'http',
  clientAddr: '127.0.0.1',
  clientPort: 1,
  serverAddr: '127.0.0.1',
  serverPort: 80,
  serverName: 'x',
  requestId: 'r',
  bodyLength: 0,
  scriptName: '',
  upgrade: '',
};

describe('a worker connection fed arbitrary bytes after a valid handshake', () => {
  const dir = tempDir();
  let payload: Buffer = Buffer.alloc(0);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const encoder = new FrameEncoder();
    encoder.preface();
    encoder.hello(makeHello({ role: 'worker', maxStreams: 4 }));
    socket.write(encoder.takeBuffer());
    // Garbage once the proxy has opened its stream.
    socket.once('data', () => setTimeout(() => socket.write(payload), 5));
  });
  const path = `${dir.path}/hostile.sock`;
  const ready = new Promise<void>((resolve) => server.listen(path, resolve));

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    dir.remove();
  });

  it('never throws: the connection either keeps going or fails with a protocol error code', async () => {
    await ready;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        payload = Buffer.from(bytes);
        const logs = new LogCapture();
        const owner = new Owner();
        const connection = new WorkerConnection(
          { kind: 'unix', path },
          {
            secret: null,
            connectTimeoutMs: 2000,
            handshakeTimeoutMs: 2000,
            pingIntervalMs: 0,
            pingTimeoutMs: 1000,
            maxFrameSize: 65_536,
            initialWindow: 65_536,
            logger: pino({ level: 'debug' }, logs),
          },
          owner,
        );
        connection.connect();
        await owner.done;
        expect(owner.ready).toBe(true);
        const listener = new Listener();
        connection.openStream(listener, ENVIRON, true);
        // Give the garbage time to arrive and be judged.
        for (let i = 0; i < 20 && owner.closed === undefined; i++)
          await new Promise((resolve) => setTimeout(resolve, 5));
        if (owner.closed !== undefined) {
          expect(owner.closed?.kind).toMatch(/^(protocol|closed|handshake)$/);
          if (owner.closed?.kind === 'protocol') {
            expect(owner.closed.message).toMatch(
              /^(PROTOCOL_ERROR|FRAME_SIZE_ERROR|UNKNOWN_FRAME_TYPE|BAD_PAYLOAD|FLOW_CONTROL_ERROR|HANDSHAKE_ERROR|AUTH_FAILED|INTERNAL_ERROR|worker sent GOAWAY)/,
            );
          }
          expect(logs.find('worker connection failed')[0]?.worker).toBe(`unix:${path}`);
        }
        connection.destroy('test over');
        expect(listener.failures.length + listener.events).toBeGreaterThanOrEqual(
          owner.closed !== undefined ? 1 : 0,
        );
      }),
      { numRuns: 40 },
    );
  });
});
