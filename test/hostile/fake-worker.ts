/**
 * A hostile gatewire worker for the proxy's reliability tests: a node:net server on a Unix socket
 * that completes the handshake correctly (the protocol package's encoder) and then misbehaves on
 * the request whose path names a behaviour. It records the frames the proxy sends it, so a test
 * can check the proxy's reaction: RESET (a stream error) or GOAWAY (a connection error).
 *
 *   …/garbage         bytes that are no frame
 *   …/oversize        a frame header over the proxy's max_frame_size
 *   …/unknown-stream  a DATA frame for a stream id the proxy never opened
 *   …/closed-stream   a complete response, then a DATA frame for the same (now closed) stream
 *   …/crlf-head       a response head with CR/LF in a header value
 *   …/stop            nothing at all
 *   …/stop-mid        the head and 5 bytes of body, then nothing
 *   …/goaway-body     reads the whole request body, then refuses the stream unprocessed with
 *                     GOAWAY last_stream below it (a drain that raced the request) and closes
 *   anything else     200 `fine`
 */
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import {
  decodeEnviron,
  decodeGoaway,
  decodeReset,
  errorCodeName,
  FrameDecoder,
  FrameEncoder,
  Flags,
  FrameType,
  makeHello,
  type FrameHandler,
} from '@gatewire/protocol';

export interface ReceivedFrame {
  type: 'RESET' | 'GOAWAY';
  streamId: number;
  code: string;
  message: string;
}

class FakeConnection implements FrameHandler {
  readonly #socket: Socket;
  readonly #worker: FakeWorker;
  readonly #encoder = new FrameEncoder();
  readonly #decoder = new FrameDecoder(this);
  #helloSeen = false;
  /** Streams whose refusal waits for the end of their body. */
  readonly #refuseAfterBody = new Set<number>();

  constructor(socket: Socket, worker: FakeWorker) {
    this.#socket = socket;
    this.#worker = worker;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    this.#encoder.preface();
    this.#encoder.hello(makeHello({ role: 'worker', maxStreams: 16, features: [] }));
    this.#flush();
  }

  #flush(): void {
    if (!this.#socket.destroyed && this.#encoder.hasPending)
      for (const part of this.#encoder.take()) this.#socket.write(part);
  }

  onData(streamId: number, flags: number): void {
    if ((flags & Flags.END_STREAM) === 0 || !this.#refuseAfterBody.delete(streamId)) return;
    this.#worker.refusedAfterBody++;
    this.#encoder.goaway(streamId - 1, 'NO_ERROR', 'draining');
    this.#flush();
    this.#socket.end();
  }

  onFrame(type: number, _flags: number, streamId: number, payload: Buffer): void {
    if (!this.#helloSeen) {
      this.#helloSeen = true;
      return;
    }
    if (type === FrameType.RESET) {
      const reset = decodeReset(payload);
      this.#worker.received.push({
        type: 'RESET',
        streamId,
        code: errorCodeName(reset.code),
        message: reset.message,
      });
    } else if (type === FrameType.GOAWAY) {
      const goaway = decodeGoaway(payload);
      this.#worker.received.push({
        type: 'GOAWAY',
        streamId,
        code: errorCodeName(goaway.code),
        message: goaway.message,
      });
    } else if (type === FrameType.PING) {
      this.#encoder.pong(payload);
      this.#flush();
    } else if (type === FrameType.REQUEST) this.#onRequest(streamId, decodeEnviron(payload).path);
  }

  #onRequest(id: number, path: string): void {
    const behaviour = path.slice(path.lastIndexOf('/') + 1);
    const encoder = this.#encoder;
    switch (behaviour) {
      case 'garbage':
        this.#socket.write('Traceback (most recent call last):\n  File "app.py", line 1\n');
        return;
      case 'oversize': {
        const header = Buffer.alloc(10);
        header.writeUInt32BE(64 * 1024 * 1024, 0);
        header[4] = FrameType.DATA;
        header.writeUInt32BE(id, 6);
        this.#socket.write(header);
        return;
      }
      case 'unknown-stream':
        encoder.data(id + 1000, Buffer.from('not yours'), false);
        break;
      case 'closed-stream':
        encoder.response(id, { status: 200, headers: [['content-length', '4']], reason: '' }, false);
        encoder.data(id, Buffer.from('done'), true);
        encoder.data(id, Buffer.from('late'), false);
        break;
      case 'crlf-head':
        encoder.response(
          id,
          { status: 200, headers: [['x-evil', 'a\r\nSet-Cookie: pwned=1']], reason: '' },
          true,
        );
        break;
      case 'stop':
        return;
      case 'goaway-body':
        this.#refuseAfterBody.add(id);
        return;
      case 'stop-mid':
        encoder.response(id, { status: 200, headers: [['content-length', '100']], reason: '' }, false);
        encoder.data(id, Buffer.from('12345'), false);
        break;
      default:
        encoder.response(id, { status: 200, headers: [['content-length', '4']], reason: '' }, false);
        encoder.data(id, Buffer.from('fine'), true);
    }
    this.#flush();
  }
}

export class FakeWorker {
  readonly path: string;
  readonly received: ReceivedFrame[] = [];
  connections = 0;
  /** Streams refused by GOAWAY after their whole body arrived. */
  refusedAfterBody = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(path: string, server: Server) {
    this.path = path;
    this.#server = server;
  }

  static async listen(path: string): Promise<FakeWorker> {
    let worker: FakeWorker | null = null;
    const server = createServer((socket) => {
      worker!.connections++;
      worker!.#sockets.add(socket);
      socket.on('close', () => worker!.#sockets.delete(socket));
      new FakeConnection(socket, worker!);
    });
    worker = new FakeWorker(path, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
    return worker;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
