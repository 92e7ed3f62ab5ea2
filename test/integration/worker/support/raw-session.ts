import { connect, type Socket } from 'node:net';
import {
  FrameDecoder,
  FrameEncoder,
  FrameCollector,
  FrameType,
  decodeGoaway,
  errorCodeName,
  makeHello,
  type DecodedFrame,
  type Hello,
} from '@gatewire/protocol';

/**
 * A connection for malformed-input tests: sends exactly the bytes it is told to and records every
 * frame the worker sends until the worker closes the connection.
 */
export class RawSession {
  readonly socket: Socket;
  readonly collector = new FrameCollector();
  readonly closed: Promise<void>;
  decodeError: unknown = null;
  #decoder: FrameDecoder;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.#decoder = new FrameDecoder(this.collector, { maxFrameSize: 16_777_215 });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk);
      } catch (error) {
        this.decodeError = error;
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(target: string | { host: string; port: number }): Promise<RawSession> {
    const socket = typeof target === 'string' ? connect(target) : connect(target.port, target.host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawSession(socket);
  }

  /** Preface + a valid proxy HELLO (optionally changed), as one write. */
  sendHandshake(change: (hello: Hello) => void = () => undefined): Hello {
    const encoder = new FrameEncoder();
    encoder.preface();
    const hello = makeHello({ role: 'proxy', features: ['trailers', 'upgrade', 'health'] });
    change(hello);
    encoder.hello(hello);
    this.socket.write(encoder.takeBuffer());
    return hello;
  }

  write(bytes: Uint8Array | string): void {
    this.socket.write(bytes);
  }

  /** A frame with the given header fields and payload (no validation). */
  frame(
    type: number,
    flags: number,
    streamId: number,
    payload: Uint8Array = Buffer.alloc(0),
    length = payload.length,
  ): Buffer {
    const header = Buffer.alloc(10);
    header.writeUInt32BE(length, 0);
    header[4] = type;
    header[5] = flags;
    header.writeUInt32BE(streamId, 6);
    return Buffer.concat([header, payload]);
  }

  get frames(): DecodedFrame[] {
    return this.collector.frames;
  }

  /** The GOAWAY the worker sent (code name, message), once the connection has closed. */
  async goawayOnClose(
    timeoutMs = 15_000,
  ): Promise<{ code: string; message: string; lastStream: number } | null> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the worker did not close the connection')), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    const frame = this.frames.find((candidate) => candidate.type === FrameType.GOAWAY);
    if (frame === undefined) return null;
    const goaway = decodeGoaway(frame.payload);
    return { code: errorCodeName(goaway.code), message: goaway.message, lastStream: goaway.lastStream };
  }

  close(): void {
    this.socket.destroy();
  }
}
