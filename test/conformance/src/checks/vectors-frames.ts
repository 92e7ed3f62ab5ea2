import { ErrorCode, Feature, Flags, FrameType, PREFACE } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import { CheckFailed } from '../errors.js';
import { codeLabel, describeFrame } from '../frame-names.js';
import { binOf, loadVectors, type FrameVector } from '../vector-files.js';
import { assert, describeResult, expectHelloWorld } from './expect.js';

/**
 * protocol/vectors/frames.json replayed to a live worker: the valid frames a proxy sends (and the
 * decode-only forms a receiver MUST accept), each where it makes sense, must be accepted.
 */

type Payload = Record<string, unknown>;

/** The largest request body a frame vector's REQUEST is given. */
const MAX_REPLAYED_BODY = 1024 * 1024;

function payloadOf(vector: FrameVector): Payload {
  return (vector.frame.payload ?? {}) as Payload;
}

/** The connection must be alive and have answered nothing with an error: a PING round trip. */
async function expectAlive(
  ctx: CheckContext,
  conn: Awaited<ReturnType<CheckContext['connect']>>,
  what: string,
): Promise<void> {
  try {
    await conn.ping();
  } catch (error) {
    throw new CheckFailed(`${what}: ${(error as Error).message}`);
  }
  const goaway = conn.goaways[0];
  assert(
    !goaway,
    `${what}: the worker sent GOAWAY ${codeLabel(goaway?.code ?? 0)}${goaway?.message ? ` ${JSON.stringify(goaway.message)}` : ''}`,
  );
}

/** A HELLO a proxy sends, used as ours: the handshake completes and requests work. */
async function replayHello(ctx: CheckContext, vector: FrameVector): Promise<void> {
  const payload = payloadOf(vector);
  const conn = await ctx.connectRaw({
    hello: {
      maxFrameSize: Number(payload.max_frame_size),
      initialWindow: Number(payload.initial_window),
      features: (payload.features as string[]).filter((feature) => typeof feature === 'string'),
      nonce: binOf(payload.nonce),
    },
  });
  conn.write(Buffer.concat([PREFACE, Buffer.from(vector.hex, 'hex')]));
  await conn.handshake();
  await expectHelloWorld(conn, `GET /hello after the ${vector.name} HELLO`);
}

/** A REQUEST (with its body, if it has one) is answered with a final RESPONSE and END_STREAM. */
async function replayRequest(ctx: CheckContext, vector: FrameVector): Promise<void> {
  const payload = payloadOf(vector);
  const upgrade = typeof payload.upgrade === 'string' && payload.upgrade !== '';
  const conn = await ctx.connect();
  if (upgrade && !conn.features.has(Feature.UPGRADE))
    ctx.skip("an upgrade request, and the worker does not list 'upgrade'");
  const stream = conn.declareStream(vector.frame.stream_id, upgrade);
  conn.write(Buffer.from(vector.hex, 'hex'));
  const length = typeof payload.body_length === 'number' ? payload.body_length : 0;
  if ((vector.frame.flags & Flags.END_STREAM) !== 0) stream.localEnded = true;
  else if (length > MAX_REPLAYED_BODY) {
    // A body_length far beyond what a check sends (the uint 64 form): the REQUEST must be
    // accepted, no more; the stream is then cancelled.
    await expectAlive(ctx, conn, `after the ${vector.name} REQUEST (body_length ${length})`);
    // An app may answer at once and end the stream early with RESET NO_ERROR (SPEC §10).
    const reset = stream.workerReset;
    assert(
      !reset || reset.code === ErrorCode.NO_ERROR,
      `the worker reset the ${vector.name} REQUEST: ${describeResult(stream.result())}`,
    );
    if (!stream.finished) stream.reset(ErrorCode.CANCEL);
    return;
  } else {
    if (upgrade) await stream.head(); // SPEC §13.1: no DATA before the final RESPONSE
    await stream.sendBody(Buffer.alloc(length, 0x61));
  }
  const result = await stream.response(`the answer to the ${vector.name} REQUEST`);
  assert(result.head, `the ${vector.name} REQUEST got no RESPONSE: ${describeResult(result)}`);
  assert(
    !result.reset || result.reset.code === ErrorCode.NO_ERROR,
    `the ${vector.name} REQUEST: ${describeResult(result)}`,
  );
  await expectAlive(ctx, conn, `after the ${vector.name} REQUEST`);
}

/** A stream opened on the vector's stream id with POST /echo, body pending. */
async function openEcho(ctx: CheckContext, vector: FrameVector) {
  const conn = await ctx.connect();
  const stream = conn.request(
    { method: 'POST', target: '/echo', bodyLength: null },
    { endStream: false, streamId: vector.frame.stream_id },
  );
  return { conn, stream };
}

async function replayData(ctx: CheckContext, vector: FrameVector): Promise<void> {
  const { conn, stream } = await openEcho(ctx, vector);
  const bytes = binOf(vector.frame.payload);
  await conn.until(`credit for the ${vector.name} DATA`, () =>
    stream.sendCredit >= bytes.length ? true : undefined,
  );
  conn.write(Buffer.from(vector.hex, 'hex'));
  stream.sendCredit -= bytes.length;
  if ((vector.frame.flags & Flags.END_STREAM) === 0) stream.end();
  const result = await stream.response();
  assert(
    result.head?.status === 200 && result.body.equals(bytes),
    `POST /echo of the ${vector.name} DATA: ${describeResult(result)}`,
  );
}

async function replayTrailers(ctx: CheckContext, vector: FrameVector): Promise<void> {
  const { conn, stream } = await openEcho(ctx, vector);
  if (!conn.features.has(Feature.TRAILERS)) ctx.skip("the worker does not list 'trailers'");
  await stream.sendBody(Buffer.from('abc'), { end: false });
  conn.write(Buffer.from(vector.hex, 'hex'));
  stream.localEnded = true;
  const result = await stream.response();
  assert(
    result.head?.status === 200 && result.body.toString('latin1') === 'abc',
    `POST /echo ended by the ${vector.name} TRAILERS: ${describeResult(result)}`,
  );
}

/** WINDOW and RESET on an open stream: accepted, never answered with RESET or GOAWAY. */
async function replayOnOpenStream(ctx: CheckContext, vector: FrameVector): Promise<void> {
  const { conn, stream } = await openEcho(ctx, vector);
  const before = conn.lastSeq;
  conn.write(Buffer.from(vector.hex, 'hex'));
  if (vector.frame.type === 'RESET') stream.ourResetAfterSeq = before;
  await expectAlive(ctx, conn, `after the ${vector.name} ${vector.frame.type}`);
  const reply = conn.framesAfter(before, stream.id).find((frame) => frame.type === FrameType.RESET);
  if (reply)
    throw new CheckFailed(
      `the worker answered the ${vector.name} ${vector.frame.type} with ${describeFrame(reply)}`,
    );
}

async function replayPing(ctx: CheckContext, vector: FrameVector): Promise<void> {
  const conn = await ctx.connect();
  const opaque = binOf(vector.frame.payload);
  conn.write(Buffer.from(vector.hex, 'hex'));
  await conn.until(`a PONG with the ${vector.name} bytes`, () =>
    conn.frames.find((frame) => frame.type === FrameType.PONG && frame.payload.equals(opaque)),
  );
}

async function replayUnsolicited(ctx: CheckContext, vector: FrameVector): Promise<void> {
  const conn = await ctx.connect();
  conn.write(Buffer.from(vector.hex, 'hex'));
  await expectAlive(ctx, conn, `after the ${vector.name} ${vector.frame.type}`);
}

/** How a vector is replayed; undefined for frames a proxy never sends (or that need another context). */
function replayer(
  vector: FrameVector,
): ((ctx: CheckContext, vector: FrameVector) => Promise<void>) | undefined {
  const payload = payloadOf(vector);
  switch (vector.frame.type) {
    case 'HELLO':
      return payload.role === 'proxy' ? replayHello : undefined;
    case 'REQUEST':
      return replayRequest;
    case 'DATA':
      return replayData;
    case 'TRAILERS':
      return replayTrailers;
    case 'RESET':
      return replayOnOpenStream;
    case 'WINDOW':
      // window-max would overflow the worker's send window of a stream (our initial_window + 2^31-1).
      return Number(payload.increment) <= 1_000_000 ? replayOnOpenStream : undefined;
    case 'PING':
      return replayPing;
    case 'PONG':
      return replayUnsolicited;
    case 'GOAWAY':
      // A proxy's drain notice (last_stream 0, NO_ERROR); the worker may answer with its own GOAWAY NO_ERROR or close.
      return payload.last_stream === 0 && payload.code === 0 ? replayProxyGoaway : undefined;
    default:
      return undefined;
  }
}

async function replayProxyGoaway(ctx: CheckContext, vector: FrameVector): Promise<void> {
  const conn = await ctx.connect();
  conn.write(Buffer.from(vector.hex, 'hex'));
  await conn.ping().catch(() => undefined);
  const error = conn.goaways.find((goaway) => goaway.code !== 0);
  assert(
    !error,
    `the worker answered the proxy's GOAWAY NO_ERROR with GOAWAY ${codeLabel(error?.code ?? 0)}`,
  );
}

const files = loadVectors();

export const vectorFrameChecks: Check[] =
  'error' in files
    ? []
    : files.frames.flatMap((vector) => {
        const replay = replayer(vector);
        if (!replay) return [];
        return [
          defineCheck({
            name: `vectors.frame.${vector.name}`,
            spec: vector.section,
            title: `frames.json ${vector.name}${vector.canonical === false ? ' (decode-only form)' : ''}: accepted${vector.note ? `; ${vector.note}` : ''}`,
            run: (ctx) => replay(ctx, vector),
          }),
        ];
      });
