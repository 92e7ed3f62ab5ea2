import type { FrameEncoder } from '@gatewire/protocol';
import {
  Flags,
  Limits,
  type Environ,
  type HeaderPair,
  type Health,
  type Hello,
  type ResponseHead,
} from '@gatewire/protocol';
import fc from 'fast-check';

/** fast-check arbitraries for valid protocol values (SPEC §5.2, §7.2, §8, §10–§12). */

/** A ByteString: each character one byte. Lengths reach past the writer's 24-byte loop and bin 8. */
export const byteString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: fc.nat(255).map((c) => String.fromCharCode(c)), maxLength }) },
    {
      weight: 1,
      arbitrary: fc.string({
        unit: fc.nat(255).map((c) => String.fromCharCode(c)),
        minLength: 250,
        maxLength: 300,
      }),
    },
  );

/** Well-formed Unicode text (str fields). */
export const text = (maxLength = 30): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength });

const uint = fc.oneof(fc.nat(300), fc.nat(70_000), fc.nat(0xffff_ffff), fc.maxSafeNat());

export const headerPairs = (maxLength = 20): fc.Arbitrary<HeaderPair[]> =>
  fc.array(fc.tuple(byteString(24), byteString()), { maxLength });

export const environ: fc.Arbitrary<Environ> = fc.record({
  method: text(10),
  target: byteString(),
  path: byteString(),
  query: byteString(),
  httpVersion: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
  headers: headerPairs(),
  scheme: fc.constantFrom('http', 'https'),
  clientAddr: text(40),
  clientPort: fc.nat(65535),
  serverAddr: text(40),
  serverPort: fc.nat(65535),
  serverName: text(),
  // At most 200 UTF-8 bytes (SPEC §15): 50 code points of at most 4 bytes.
  requestId: text(50),
  bodyLength: fc.option(uint, { nil: null }),
  scriptName: fc.oneof(fc.constant(''), byteString()),
  upgrade: fc.oneof(fc.constant(''), text(12)),
});

export const responseHead: fc.Arbitrary<ResponseHead> = fc.record({
  status: fc.integer({ min: 100, max: 599 }),
  headers: headerPairs(),
  reason: fc.oneof(fc.constant(''), text()),
});

export const hello: fc.Arbitrary<Hello> = fc
  .record({
    role: fc.constantFrom('proxy' as const, 'worker' as const),
    maxFrameSize: fc.integer({ min: Limits.MIN_MAX_FRAME_SIZE, max: Limits.MAX_MAX_FRAME_SIZE }),
    initialWindow: fc.integer({ min: Limits.MIN_INITIAL_WINDOW, max: Limits.MAX_WINDOW }),
    maxStreams: fc.integer({ min: 1, max: Limits.MAX_STREAMS }),
    features: fc.array(text(12), { maxLength: Limits.MAX_FEATURES }),
    nonce: fc.uint8Array({ minLength: Limits.MIN_NONCE_SIZE, maxLength: Limits.MAX_NONCE_SIZE }),
    auth: fc.option(fc.constant('hmac-sha256' as const), { nil: undefined }),
    server: fc.option(text(), { nil: undefined }),
    pid: fc.option(fc.nat(), { nil: undefined }),
    name: fc.option(text(), { nil: undefined }),
  })
  .map((h) => {
    const out: Hello = {
      version: 1,
      role: h.role,
      maxFrameSize: h.maxFrameSize,
      initialWindow: h.initialWindow,
      maxStreams: h.role === 'proxy' ? 0 : h.maxStreams,
      features: h.features,
      nonce: h.nonce,
    };
    if (h.auth !== undefined) out.auth = h.auth;
    if (h.server !== undefined) out.server = h.server;
    if (h.pid !== undefined) out.pid = h.pid;
    if (h.name !== undefined) out.name = h.name;
    return out;
  });

export const health: fc.Arbitrary<Health> = fc.record(
  {
    rss: fc.maxSafeNat(),
    heapUsed: fc.maxSafeNat(),
    loopLagMs: fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e6, noNaN: true })),
    requests: fc.maxSafeNat(),
    inFlight: fc.nat(),
    uptimeS: fc.double({ min: 0, max: 1e9, noNaN: true }),
  },
  { requiredKeys: [] },
);

const streamId = fc.integer({ min: 1, max: Limits.MAX_STREAM_ID });
const end = fc.boolean();

/** One frame to encode, as the FrameEncoder call that makes it. */
export type FrameSpec =
  | { kind: 'hello'; hello: Hello }
  | { kind: 'auth'; proof: Uint8Array }
  | { kind: 'request'; streamId: number; environ: Environ; end: boolean }
  | { kind: 'response'; streamId: number; head: ResponseHead; end: boolean }
  | { kind: 'data'; streamId: number; bytes: Uint8Array; end: boolean }
  | { kind: 'trailers'; streamId: number; trailers: HeaderPair[] }
  | { kind: 'window'; streamId: number; increment: number }
  | { kind: 'reset'; streamId: number; code: number; message: string }
  | { kind: 'goaway'; lastStream: number; code: number; message: string }
  | { kind: 'ping' | 'pong'; opaque: Uint8Array }
  | { kind: 'health'; health: Health };

const message = fc.oneof(fc.constant(''), text(40));

export const frameSpec: fc.Arbitrary<FrameSpec> = fc.oneof(
  fc.record({ kind: fc.constant('hello' as const), hello }),
  fc.record({ kind: fc.constant('auth' as const), proof: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('request' as const), streamId, environ, end }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('response' as const), streamId, head: responseHead, end }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('data' as const),
      streamId,
      bytes: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 4000, maxLength: 9000 })),
      end,
    }),
  },
  fc.record({ kind: fc.constant('trailers' as const), streamId, trailers: headerPairs() }),
  fc.record({
    kind: fc.constant('window' as const),
    streamId,
    increment: fc.integer({ min: 1, max: Limits.MAX_WINDOW }),
  }),
  fc.record({ kind: fc.constant('reset' as const), streamId, code: fc.nat(0xffff_ffff), message }),
  fc.record({
    kind: fc.constant('goaway' as const),
    lastStream: fc.nat(Limits.MAX_STREAM_ID),
    code: fc.nat(0xffff_ffff),
    message,
  }),
  fc.record({
    kind: fc.constantFrom('ping' as const, 'pong' as const),
    opaque: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('health' as const), health }),
);

export function encodeSpec(encoder: FrameEncoder, spec: FrameSpec): void {
  switch (spec.kind) {
    case 'hello':
      return encoder.hello(spec.hello);
    case 'auth':
      return encoder.auth({ proof: spec.proof });
    case 'request':
      return encoder.request(spec.streamId, spec.environ, spec.end);
    case 'response':
      return encoder.response(spec.streamId, spec.head, spec.end);
    case 'data':
      return encoder.data(spec.streamId, spec.bytes, spec.end);
    case 'trailers':
      return encoder.trailers(spec.streamId, spec.trailers);
    case 'window':
      return encoder.window(spec.streamId, spec.increment);
    case 'reset':
      return encoder.reset(spec.streamId, spec.code, spec.message);
    case 'goaway':
      return encoder.goaway(spec.lastStream, spec.code, spec.message);
    case 'ping':
      return encoder.ping(spec.opaque);
    case 'pong':
      return encoder.pong(spec.opaque);
    case 'health':
      return encoder.health(spec.health);
  }
}

/** The flags the encoder puts on a spec's frame (SPEC §4.3). */
export function flagsOf(spec: FrameSpec): number {
  if (spec.kind === 'trailers') return Flags.END_STREAM;
  if ('end' in spec && spec.end) return Flags.END_STREAM;
  return 0;
}

/** Cuts `bytes` at the given fractions' positions (sorted, deduplicated), always covering every byte. */
export function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    if (point <= start || point >= bytes.length) continue;
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}
