import {
  ErrorCode,
  FrameType,
  ProtocolError,
  decodeFrames,
  type DecodedFrame,
  type ErrorCodeName,
} from '@gatewire/protocol';
import { describe, expect, it } from 'vitest';
import { encodeFrame, frameToJson } from '../../../protocol/scripts/frame-json.js';
import { decodeJson } from '../../../protocol/scripts/msgpack-json.js';
import { fromHex, wireEqual } from '../../../protocol/scripts/wire-json.js';
import { errorsFile, framesFile, prefaceFile } from './vector-files.js';

/** SPEC §4.2: frame types whose payload is MessagePack. */
const MSGPACK_TYPES = new Set<number>([
  FrameType.HELLO,
  FrameType.AUTH,
  FrameType.REQUEST,
  FrameType.RESPONSE,
  FrameType.TRAILERS,
  FrameType.RESET,
  FrameType.GOAWAY,
  FrameType.HEALTH,
]);

function decodeOne(hex: string, maxFrameSize: number): DecodedFrame {
  const frames = decodeFrames(fromHex(hex), { expectPreface: false, maxFrameSize });
  expect(frames).toHaveLength(1);
  return frames[0];
}

function errorOf(run: () => unknown): ProtocolError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  return undefined;
}

describe('vectors: valid frames through the TypeScript codec', () => {
  const max = framesFile.decoder.max_frame_size;

  it('covers every frame type', () => {
    const types = new Set(framesFile.vectors.map((v) => v.frame.type));
    expect([...types].sort()).toEqual(Object.keys(FrameType).sort());
  });

  it.each(framesFile.vectors.map((v) => [v.name, v] as const))('%s decodes to its meaning', (_, vector) => {
    const frame = decodeOne(vector.hex, max);
    expect(wireEqual(frameToJson(frame), vector.frame)).toBe(true);
    // Whole frames only: the decoder consumed exactly the vector's bytes.
    expect(frame.payload.length + 10).toBe(vector.hex.length / 2);
  });

  it.each(framesFile.vectors.filter((v) => v.canonical).map((v) => [v.name, v] as const))(
    '%s encodes back to the same bytes',
    (_, vector) => {
      expect(encodeFrame(vector.frame).toString('hex')).toBe(vector.hex);
    },
  );

  it.each(framesFile.vectors.filter((v) => v.canonical).map((v) => [v.name, v] as const))(
    '%s: its msgpack payload is the meaning, read by an independent msgpack decoder',
    (_, vector) => {
      const frame = decodeOne(vector.hex, max);
      if (!MSGPACK_TYPES.has(frame.type)) return;
      // Key order too: the canonical form fixes it (SPEC §7.2), so compare the serialization.
      expect(JSON.stringify(decodeJson(frame.payload))).toBe(JSON.stringify(vector.frame.payload));
    },
  );

  it.each(framesFile.vectors.filter((v) => !v.canonical).map((v) => [v.name, v] as const))(
    '%s is not canonical: encoding its meaning gives other bytes',
    (_, vector) => {
      expect(encodeFrame(vector.frame).toString('hex')).not.toBe(vector.hex);
    },
  );
});

describe('vectors: invalid frames fail with their code', () => {
  const max = errorsFile.decoder.max_frame_size;

  it.each(errorsFile.vectors.map((v) => [v.name, v] as const))('%s → its error', (_, vector) => {
    const error = errorOf(() => frameToJson(decodeOne(vector.hex, max)));
    expect(error?.code, `${vector.name}: ${error?.message ?? 'no error'}`).toBe(vector.error);
    expect(error?.wireCode).toBe(ErrorCode[vector.error]);
  });

  it('uses only codes of the SPEC table', () => {
    for (const vector of errorsFile.vectors) expect(Object.keys(ErrorCode)).toContain(vector.error);
  });

  it('errors on an oversize length as soon as the header is complete', () => {
    for (const vector of errorsFile.vectors.filter(
      (v) => v.error === 'FRAME_SIZE_ERROR' && v.hex.length === 20,
    )) {
      const error = errorOf(() =>
        decodeFrames(fromHex(vector.hex), { expectPreface: false, maxFrameSize: max }),
      );
      expect(error?.code, vector.name).toBe(vector.error);
    }
  });
});

describe('vectors: preface', () => {
  it.each(prefaceFile.vectors.map((v) => [v.name, v] as const))('%s', (_, vector) => {
    const run = () => decodeFrames(fromHex(vector.hex), { expectPreface: true });
    const error = errorOf(run);
    const expected: ErrorCodeName | undefined = vector.error;
    expect(error?.code).toBe(expected);
    if (error) expect(error.message).toMatch(/first bytes were "/);
  });
});
