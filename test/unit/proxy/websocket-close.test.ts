import type { EventEmitter } from 'node:events';
import * as ws from 'ws';
import { describe, expect, it } from 'vitest';
import { WebSocketFrameTracker, webSocketCloseFrame } from '../../../proxy/src/dispatch/websocket-close.js';

/** ws's frame parser, an independent reader of what the proxy writes (@types/ws does not declare it). */
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean }) => EventEmitter & { write(chunk: Buffer): boolean };
};

/** A server frame (RFC 6455 §5.2), masked when `mask` is given (the tracker must cope either way). */
function frame(opcode: number, payloadLength: number, mask?: Buffer): Buffer {
  const extended = payloadLength < 126 ? 0 : payloadLength < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + extended + (mask ? 4 : 0));
  head[0] = 0x80 | opcode;
  const length7 = extended === 0 ? payloadLength : extended === 2 ? 126 : 127;
  head[1] = (mask ? 0x80 : 0) | length7;
  if (extended === 2) head.writeUInt16BE(payloadLength, 2);
  if (extended === 8) head.writeBigUInt64BE(BigInt(payloadLength), 2);
  if (mask) mask.copy(head, 2 + extended);
  return Buffer.concat([head, Buffer.alloc(payloadLength, 0x7e)]);
}

/** Feeds `bytes` in pieces of the given sizes (cycled) and records canClose after each byte offset reached. */
function feed(tracker: WebSocketFrameTracker, bytes: Buffer, sizes: number[]): Map<number, boolean> {
  const seen = new Map<number, boolean>();
  let offset = 0;
  let i = 0;
  while (offset < bytes.length) {
    const size = Math.max(1, sizes[i++ % sizes.length]);
    tracker.observe(bytes.subarray(offset, offset + size));
    offset = Math.min(bytes.length, offset + size);
    seen.set(offset, tracker.canClose);
  }
  return seen;
}

describe('WebSocketFrameTracker (proxy: where a close frame may go)', () => {
  const frames = [
    frame(0x1, 5),
    frame(0x2, 200),
    frame(0x2, 70_000),
    frame(0x1, 0),
    frame(0x9, 4, Buffer.from([1, 2, 3, 4])),
    frame(0x0, 126),
  ];
  const stream = Buffer.concat(frames);
  const boundaries = new Set<number>();
  let end = 0;
  for (const piece of frames) boundaries.add((end += piece.length));

  for (const sizes of [[1], [2, 3], [7, 1000, 13], [65_536], [stream.length]]) {
    it(`is at a boundary exactly between frames (chunks of ${sizes.join(', ')})`, () => {
      const tracker = new WebSocketFrameTracker();
      expect(tracker.canClose).toBe(true);
      for (const [offset, canClose] of feed(tracker, stream, sizes)) {
        expect(canClose, `after ${offset} bytes`).toBe(boundaries.has(offset));
      }
    });
  }

  it('never injects after the worker sent its own close frame', () => {
    const tracker = new WebSocketFrameTracker();
    tracker.observe(frame(0x1, 3));
    expect(tracker.canClose).toBe(true);
    tracker.observe(frame(0x8, 2));
    expect(tracker.canClose).toBe(false);
  });

  it('gives up on a length beyond 2^53 rather than guess', () => {
    const tracker = new WebSocketFrameTracker();
    const head = Buffer.from([0x82, 127, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    tracker.observe(head);
    expect(tracker.canClose).toBe(false);
  });

  it('writes a close frame a client reads as its code and reason', async () => {
    const receiver = new Receiver({ isServer: false });
    const conclude = new Promise<[number, string]>((resolve) => {
      receiver.on('conclude', (code: number, reason: Buffer) => resolve([code, reason.toString()]));
    });
    receiver.write(webSocketCloseFrame(1011, 'upstream failed'));
    expect(await conclude).toEqual([1011, 'upstream failed']);
  });
});
