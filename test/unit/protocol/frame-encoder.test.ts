import {
  FrameEncoder,
  FrameType,
  Flags,
  ProtocolError,
  decodeEnviron,
  decodeFrames,
  type Environ,
  type HeaderPair,
} from '@gatewire/protocol';
import { describe, expect, it } from 'vitest';
import { GET_ENVIRON } from '../../../protocol/scripts/vector-fixtures.js';

const BIG = 16_777_215;

function bigEnviron(bytes: number): Environ {
  const count = Math.ceil(bytes / 1000);
  const headers: HeaderPair[] = Array.from({ length: count }, (_, i) => [`x-h${i}`, 'v'.repeat(990)]);
  return { ...GET_ENVIRON, headers };
}

function decodeAll(segments: Buffer[]) {
  return decodeFrames(segments, { expectPreface: false, maxFrameSize: BIG });
}

const summary = (segments: Buffer[]) =>
  decodeAll(segments).map((f) => [f.type, f.streamId, f.payload.length]);

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
}

describe('FrameEncoder batching', () => {
  it('grows the slab mid-frame for an environ larger than 64 KiB, keeping the frames around it', () => {
    const encoder = new FrameEncoder();
    encoder.maxFrameSize = BIG;
    encoder.ping(Buffer.alloc(8, 1));
    encoder.window(1, 100);
    const env = bigEnviron(200_000);
    encoder.request(3, env, true);
    encoder.window(3, 200);
    const pending = encoder.pendingBytes;
    const segments = encoder.take();
    expect(segments.reduce((n, s) => n + s.length, 0)).toBe(pending);
    const frames = decodeAll(segments);
    expect(frames.map((f) => f.type)).toEqual([
      FrameType.PING,
      FrameType.WINDOW,
      FrameType.REQUEST,
      FrameType.WINDOW,
    ]);
    expect(decodeEnviron(frames[2].payload)).toEqual(env);
    expect(frames[3].payload.readUInt32BE(0)).toBe(200);
  });

  it('grows repeatedly when a slab is nearly full: many environs in one batch', () => {
    const encoder = new FrameEncoder();
    encoder.maxFrameSize = BIG;
    const envs = Array.from({ length: 40 }, (_, i) => bigEnviron(5_000 + i * 3_000));
    envs.forEach((env, i) => {
      encoder.request(2 * i + 1, env, false);
      encoder.data(2 * i + 1, Buffer.alloc(i * 200, i), true);
    });
    const frames = decodeAll(encoder.take());
    expect(frames).toHaveLength(80);
    envs.forEach((env, i) => {
      expect(decodeEnviron(frames[2 * i].payload)).toEqual(env);
      expect(frames[2 * i + 1].payload.equals(Buffer.alloc(i * 200, i))).toBe(true);
    });
  });

  it('packs many small frames into one batch, in order', () => {
    const encoder = new FrameEncoder();
    for (let i = 1; i <= 20_000; i++) encoder.window(i, i);
    const segments = encoder.take();
    const frames = decodeAll(segments);
    expect(frames).toHaveLength(20_000);
    frames.forEach((frame, i) => expect(frame.payload.readUInt32BE(0)).toBe(i + 1));
    expect(encoder.hasPending).toBe(false);
    expect(encoder.take()).toEqual([]);
  });

  it('passes large DATA by reference and copies small DATA', () => {
    const encoder = new FrameEncoder();
    const large = Buffer.alloc(8192, 7);
    const largePlain = new Uint8Array(5000).fill(9);
    const small = Buffer.from('small body');
    encoder.data(1, large, false);
    encoder.data(1, largePlain, false);
    encoder.data(1, small, true);
    const segments = encoder.take();
    expect(
      segments.some(
        (s) => s.buffer === large.buffer && s.byteOffset === large.byteOffset && s.length === 8192,
      ),
    ).toBe(true);
    expect(segments.some((s) => s.buffer === largePlain.buffer && s.length === 5000)).toBe(true);
    small.fill(0x21);
    const frames = decodeAll(segments);
    expect(frames[2].payload.toString()).toBe('small body');
    expect(frames.map((f) => f.flags)).toEqual([0, 0, Flags.END_STREAM]);
  });

  it('splits DATA at max_frame_size, END_STREAM on the last piece only', () => {
    const encoder = new FrameEncoder();
    const body = Buffer.alloc(200_000, 3);
    encoder.data(5, body, true);
    encoder.data(5, Buffer.alloc(0), true);
    const frames = decodeAll(encoder.take());
    expect(frames.map((f) => [f.payload.length, f.flags])).toEqual([
      [65_536, 0],
      [65_536, 0],
      [65_536, 0],
      [3392, Flags.END_STREAM],
      [0, Flags.END_STREAM],
    ]);
  });

  it('never writes into a region it has handed out', () => {
    const encoder = new FrameEncoder();
    encoder.maxFrameSize = BIG;
    encoder.request(1, GET_ENVIRON, true);
    const first = encoder.take();
    const snapshot = first.map((s) => Buffer.from(s));
    for (let i = 0; i < 200; i++) encoder.window(1, i + 1);
    encoder.request(3, bigEnviron(100_000), true);
    encoder.take();
    first.forEach((segment, i) => expect(segment.equals(snapshot[i])).toBe(true));
  });
});

describe('FrameEncoder errors leave the batch intact', () => {
  const batchOf = (encoder: FrameEncoder) => summary(encoder.take());

  it('FRAME_SIZE_ERROR on an environ over max_frame_size, small or slab-growing', () => {
    for (const size of [70_000, 300_000]) {
      const encoder = new FrameEncoder();
      encoder.ping(Buffer.alloc(8));
      expect(codeOf(() => encoder.request(1, bigEnviron(size), true))).toBe('FRAME_SIZE_ERROR');
      encoder.window(1, 5);
      expect(batchOf(encoder)).toEqual([
        [FrameType.PING, 0, 8],
        [FrameType.WINDOW, 1, 4],
      ]);
    }
  });

  it('FRAME_SIZE_ERROR after a nearly full slab', () => {
    const encoder = new FrameEncoder();
    for (let i = 0; i < 4600; i++) encoder.window(1, 1); // 64400 bytes of a 64 KiB slab
    const before = encoder.pendingBytes;
    expect(codeOf(() => encoder.request(1, bigEnviron(66_000), true))).toBe('FRAME_SIZE_ERROR');
    expect(encoder.pendingBytes).toBe(before);
    encoder.ping(Buffer.alloc(8, 2));
    const frames = decodeAll(encoder.take());
    expect(frames).toHaveLength(4601);
    expect(frames[4600].type).toBe(FrameType.PING);
  });

  it('BAD_PAYLOAD on a header value that is not ISO-8859-1, in a request, a response or trailers', () => {
    const encoder = new FrameEncoder();
    encoder.window(1, 1);
    const bad: HeaderPair[] = [
      ['x-ok', 'fine'],
      ['x-arrow', 'a \u2192 b'],
    ];
    expect(codeOf(() => encoder.request(1, { ...GET_ENVIRON, headers: bad }, true))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => encoder.response(1, { status: 200, headers: bad, reason: '' }, false))).toBe(
      'BAD_PAYLOAD',
    );
    expect(codeOf(() => encoder.trailers(1, bad))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => encoder.request(3, { ...GET_ENVIRON, clientPort: -1 }, true))).toBe('BAD_PAYLOAD');
    encoder.window(1, 2);
    expect(batchOf(encoder)).toEqual([
      [FrameType.WINDOW, 1, 4],
      [FrameType.WINDOW, 1, 4],
    ]);
  });

  it('FRAME_SIZE_ERROR on control frames, and range errors on WINDOW and PING', () => {
    const encoder = new FrameEncoder();
    encoder.window(1, 1);
    expect(
      codeOf(() =>
        encoder.hello({
          version: 1,
          role: 'worker',
          maxFrameSize: 65_536,
          initialWindow: 65_536,
          maxStreams: 1,
          features: [],
          nonce: Buffer.alloc(16),
          server: 'x'.repeat(70_000),
        }),
      ),
    ).toBe('FRAME_SIZE_ERROR');
    expect(codeOf(() => encoder.window(1, 0))).toBe('FLOW_CONTROL_ERROR');
    expect(codeOf(() => encoder.window(1, 2 ** 31))).toBe('FLOW_CONTROL_ERROR');
    expect(codeOf(() => encoder.window(1, 1.5))).toBe('FLOW_CONTROL_ERROR');
    expect(codeOf(() => encoder.ping(Buffer.alloc(7)))).toBe('FRAME_SIZE_ERROR');
    expect(codeOf(() => encoder.pong(Buffer.alloc(9)))).toBe('FRAME_SIZE_ERROR');
    expect(batchOf(encoder)).toEqual([[FrameType.WINDOW, 1, 4]]);
  });
});
