import {
  FrameDecoder,
  FrameEncoder,
  FrameType,
  ProtocolError,
  decodeAuth,
  decodeEnviron,
  decodeFrames,
  decodeGoaway,
  decodeHealth,
  decodeHello,
  decodeReset,
  decodeResponseHead,
  decodeTrailers,
  type DecodedFrame,
} from '@gatewire/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeSpec,
  environ,
  flagsOf,
  frameSpec,
  responseHead,
  splitAt,
  headerPairs,
  type FrameSpec,
} from './arbitraries.js';

const RUNS = { numRuns: 150 };

function encodeAll(specs: FrameSpec[], preface = false): Buffer {
  const encoder = new FrameEncoder();
  encoder.maxFrameSize = 16_777_215;
  if (preface) encoder.preface();
  for (const spec of specs) encodeSpec(encoder, spec);
  return encoder.takeBuffer();
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const show = (frame: DecodedFrame) => ({ ...frame, payload: hex(frame.payload) });

/** The decoded frame, compared with what was encoded (payload decoded by type). */
function expectFrame(frame: DecodedFrame, spec: FrameSpec): void {
  expect(frame.flags).toBe(flagsOf(spec));
  const payload = frame.payload;
  switch (spec.kind) {
    case 'hello': {
      const { nonce, ...rest } = decodeHello(payload);
      const { nonce: sentNonce, ...sent } = spec.hello;
      expect(rest).toEqual(sent);
      expect(hex(nonce)).toBe(hex(sentNonce));
      return;
    }
    case 'auth':
      return expect(hex(decodeAuth(payload).proof)).toBe(hex(spec.proof));
    case 'request':
      expect(frame.streamId).toBe(spec.streamId);
      return expect(decodeEnviron(payload)).toEqual(spec.environ);
    case 'response':
      return expect(decodeResponseHead(payload)).toEqual(spec.head);
    case 'data':
      expect(frame.type).toBe(FrameType.DATA);
      return expect(hex(payload)).toBe(hex(spec.bytes));
    case 'trailers':
      return expect(decodeTrailers(payload)).toEqual(spec.trailers);
    case 'window':
      return expect(payload.readUInt32BE(0)).toBe(spec.increment);
    case 'reset':
      return expect(decodeReset(payload)).toEqual({ code: spec.code, message: spec.message });
    case 'goaway':
      return expect(decodeGoaway(payload)).toEqual({
        lastStream: spec.lastStream,
        code: spec.code,
        message: spec.message,
      });
    case 'ping':
    case 'pong':
      expect(frame.type).toBe(spec.kind === 'ping' ? FrameType.PING : FrameType.PONG);
      return expect(hex(payload)).toBe(hex(spec.opaque));
    case 'health':
      return expect(decodeHealth(payload)).toEqual(spec.health);
  }
}

describe('properties: encode → decode round trips', () => {
  it('any batch of valid frames decodes to the same frames, whole, in random chunks and byte by byte', () => {
    fc.assert(
      fc.property(
        fc.array(frameSpec, { minLength: 1, maxLength: 8 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        (specs, cuts) => {
          const bytes = encodeAll(specs, true);
          const options = { expectPreface: true, maxFrameSize: 16_777_215 };
          const whole = decodeFrames(bytes, options);
          expect(whole).toHaveLength(specs.length);
          whole.forEach((frame, i) => expectFrame(frame, specs[i]));
          const chunked = decodeFrames(splitAt(bytes, cuts), options);
          expect(chunked.map(show)).toEqual(whole.map(show));
          const bytewise = decodeFrames(
            Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1)),
            options,
          );
          expect(bytewise.map(show)).toEqual(whole.map(show));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('environs round-trip through encodeEnviron/decodeEnviron', () => {
    fc.assert(
      fc.property(environ, fc.integer({ min: 1, max: 2 ** 32 - 1 }), (env, streamId) => {
        const [frame] = decodeFrames(encodeAll([{ kind: 'request', streamId, environ: env, end: true }]), {
          expectPreface: false,
          maxFrameSize: 16_777_215,
        });
        expect(decodeEnviron(frame.payload)).toEqual(env);
      }),
      RUNS,
    );
  });

  it('response heads and trailers round-trip', () => {
    fc.assert(
      fc.property(responseHead, headerPairs(), (head, trailers) => {
        const frames = decodeFrames(
          encodeAll([
            { kind: 'response', streamId: 1, head, end: false },
            { kind: 'trailers', streamId: 1, trailers },
          ]),
          { expectPreface: false },
        );
        expect(decodeResponseHead(frames[0].payload)).toEqual(head);
        expect(decodeTrailers(frames[1].payload)).toEqual(trailers);
      }),
      RUNS,
    );
  });

  it('DATA pieces arrive in order, without copies beyond the chunk, whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 20_000 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        (body, cuts) => {
          const bytes = encodeAll([{ kind: 'data', streamId: 9, bytes: body, end: true }]);
          const pieces: Buffer[] = [];
          let ends = 0;
          const decoder = new FrameDecoder(
            {
              onFrame: () => {
                throw new Error('DATA only');
              },
              onData: (streamId, flags, chunk, endOfFrame) => {
                expect(streamId).toBe(9);
                expect(flags).toBe(1);
                pieces.push(Buffer.from(chunk));
                if (endOfFrame) ends++;
              },
            },
            { expectPreface: false },
          );
          for (const chunk of splitAt(bytes, cuts)) decoder.push(chunk);
          expect(ends).toBe(1);
          expect(hex(Buffer.concat(pieces))).toBe(hex(body));
          expect(decoder.idle).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

const PAYLOAD_DECODERS: Array<[string, (payload: Buffer) => unknown]> = [
  ['decodeEnviron', decodeEnviron],
  ['decodeResponseHead', decodeResponseHead],
  ['decodeTrailers', decodeTrailers],
  ['decodeHello', decodeHello],
  ['decodeAuth', decodeAuth],
  ['decodeReset', decodeReset],
  ['decodeGoaway', decodeGoaway],
  ['decodeHealth', decodeHealth],
];

function onlyProtocolErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
  }
}

/** Bytes that look like msgpack often enough to get past the first byte: valid payloads, mutated. */
const mutatedPayload = fc
  .tuple(
    fc.oneof(
      environ.map((env) =>
        encodeAll([{ kind: 'request', streamId: 1, environ: env, end: true }]).subarray(10),
      ),
      responseHead.map((head) =>
        encodeAll([{ kind: 'response', streamId: 1, head, end: true }]).subarray(10),
      ),
      frameSpec.map((spec) => encodeAll([spec]).subarray(10)),
    ),
    fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.nat(255)), {
      minLength: 1,
      maxLength: 4,
    }),
    fc.double({ min: 0, max: 1, noNaN: true }),
  )
  .map(([payload, edits, keep]) => {
    const out = Buffer.from(payload);
    for (const [at, byte] of edits) if (out.length > 0) out[Math.floor(at * out.length)] = byte;
    return out.subarray(0, Math.ceil(keep * out.length));
  });

describe('properties: hostile bytes only ever raise ProtocolError', () => {
  it.each(PAYLOAD_DECODERS)('%s on arbitrary bytes', (_, decode) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) =>
        onlyProtocolErrors(() => decode(Buffer.from(bytes))),
      ),
      { numRuns: 400 },
    );
  });

  it.each(PAYLOAD_DECODERS)('%s on mutated and truncated valid payloads', (_, decode) => {
    fc.assert(
      fc.property(mutatedPayload, (bytes) => onlyProtocolErrors(() => decode(bytes))),
      { numRuns: 300 },
    );
  });

  it('FrameDecoder on arbitrary bytes, in arbitrary chunks, with and without preface', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.boolean(),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        (bytes, preface, cuts) => {
          const input = preface ? Buffer.concat([Buffer.from('GATEWIRE'), bytes]) : Buffer.from(bytes);
          onlyProtocolErrors(() => decodeFrames(splitAt(input, cuts), { expectPreface: preface }));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('FrameDecoder on mutated valid streams decodes each whole frame it delivers', () => {
    fc.assert(
      fc.property(
        fc.array(frameSpec, { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.nat(255)), {
          maxLength: 3,
        }),
        (specs, edits) => {
          const bytes = Buffer.from(encodeAll(specs));
          for (const [at, byte] of edits) bytes[Math.floor(at * bytes.length)] = byte;
          onlyProtocolErrors(() => {
            for (const frame of decodeFrames(bytes, { expectPreface: false, maxFrameSize: 16_777_215 })) {
              const decoder = PAYLOAD_DECODERS.find(([name]) => name === DECODER_OF[frame.type]);
              if (decoder) onlyProtocolErrors(() => decoder[1](frame.payload));
            }
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

const DECODER_OF: Record<number, string> = {
  [FrameType.HELLO]: 'decodeHello',
  [FrameType.AUTH]: 'decodeAuth',
  [FrameType.REQUEST]: 'decodeEnviron',
  [FrameType.RESPONSE]: 'decodeResponseHead',
  [FrameType.TRAILERS]: 'decodeTrailers',
  [FrameType.RESET]: 'decodeReset',
  [FrameType.GOAWAY]: 'decodeGoaway',
  [FrameType.HEALTH]: 'decodeHealth',
};
