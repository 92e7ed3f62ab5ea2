import { ErrorCode, Feature, FrameType, PREFACE, type ErrorCodeName } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import { codeLabel } from '../frame-names.js';
import { loadVectors, type ErrorVector, type PrefaceVector } from '../vector-files.js';
import { assert, expectConnectionError, expectFreshConnectionWorks } from './expect.js';

/**
 * protocol/vectors/errors.json and preface.json replayed to a live worker: each invalid frame,
 * sent where the worker would meet it, must get GOAWAY with the vector's code (SPEC §14.2).
 */

type Placement =
  /** Right after the preface, in place of the HELLO. */
  | 'first-frame'
  /** After a completed handshake. */
  | 'after-handshake'
  /** After the handshake and a REQUEST opening the frame's stream (POST /echo, body pending). */
  | 'open-stream'
  /** After our HELLO, as the AUTH a worker that asks for the proof expects. */
  | 'as-auth';

interface Header {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

function header(hex: string): Header {
  const bytes = Buffer.from(hex, 'hex');
  return { length: bytes.readUInt32BE(0), type: bytes[4], flags: bytes[5], streamId: bytes.readUInt32BE(6) };
}

/** Where a worker meets this invalid frame; undefined when a worker never decodes it (RESPONSE, HEALTH payloads). */
function placement(vector: ErrorVector): Placement | undefined {
  const { type } = header(vector.hex);
  const headerLevel =
    vector.error === 'FRAME_SIZE_ERROR' ||
    vector.error === 'UNKNOWN_FRAME_TYPE' ||
    (vector.error === 'PROTOCOL_ERROR' && vector.section.includes('§4'));
  if (headerLevel) return 'after-handshake';
  switch (type) {
    case FrameType.HELLO:
      return 'first-frame';
    case FrameType.AUTH:
      return 'as-auth';
    case FrameType.REQUEST:
    case FrameType.GOAWAY:
      return 'after-handshake';
    case FrameType.RESET:
    case FrameType.TRAILERS:
      return 'open-stream';
    default:
      // A worker answers a RESPONSE or HEALTH from the proxy with PROTOCOL_ERROR whatever its
      // payload (malformed.response-from-proxy, malformed.health-from-proxy).
      return undefined;
  }
}

async function replayError(ctx: CheckContext, vector: ErrorVector, where: Placement): Promise<void> {
  const bytes = Buffer.from(vector.hex, 'hex');
  const { length, type, streamId } = header(vector.hex);
  const trigger = `the ${vector.name} vector (${vector.note ?? vector.section})`;
  const hello = ctx.workerHello;
  if (vector.error === 'FRAME_SIZE_ERROR' && length > 65_536 && length <= hello.maxFrameSize) {
    ctx.skip(
      `announces ${length} bytes, which the worker's max_frame_size ${hello.maxFrameSize} allows (malformed.oversize-length uses the worker's own limit)`,
    );
  }
  if (where === 'as-auth' && hello.auth === undefined) {
    ctx.skip(
      'the worker does not ask for the shared-secret proof, so any AUTH is PROTOCOL_ERROR (handshake.auth-not-requested)',
    );
  }
  if (where === 'first-frame' || where === 'as-auth') {
    const conn = await ctx.connectRaw();
    if (where === 'first-frame') conn.write(Buffer.concat([PREFACE, bytes]));
    else {
      conn.sendPrefaceAndHello();
      conn.write(bytes);
    }
    await expectConnectionError(ctx, conn, vector.error as ErrorCodeName, trigger);
    return;
  }
  const conn = await ctx.connect();
  if (where === 'open-stream') {
    if (type === FrameType.TRAILERS && !conn.features.has(Feature.TRAILERS)) {
      ctx.skip("the worker does not list 'trailers', so TRAILERS are not decoded");
    }
    conn.request({ method: 'POST', target: '/echo', bodyLength: null }, { endStream: false, streamId });
  } else if (type === FrameType.REQUEST && streamId > 0) {
    conn.declareStream(streamId);
  }
  conn.write(bytes);
  await expectConnectionError(ctx, conn, vector.error as ErrorCodeName, trigger);
}

function errorChecks(vectors: ErrorVector[]): Check[] {
  const checks: Check[] = [];
  for (const vector of vectors) {
    const where = placement(vector);
    if (!where) continue;
    checks.push(
      defineCheck({
        name: `vectors.error.${vector.name}`,
        spec: vector.section,
        title: `errors.json ${vector.name}: ${vector.note ?? ''} → GOAWAY ${vector.error}`,
        run: (ctx) => replayError(ctx, vector, where),
      }),
    );
  }
  return checks;
}

/** A connection that starts with these bytes gets GOAWAY BAD_PREFACE or a close (SPEC §3). */
async function replayPreface(ctx: CheckContext, vector: PrefaceVector): Promise<void> {
  const conn = await ctx.connectRaw();
  const bytes = Buffer.from(vector.hex, 'hex');
  conn.write(bytes);
  if (bytes.length < PREFACE.length) {
    // SPEC §3 lets a worker wait for all 8 bytes before it compares them.
    await conn
      .until('GOAWAY or a close', () => (conn.goaways.length > 0 || conn.closed ? true : undefined), 200)
      .catch(() => undefined);
    if (!conn.closed) conn.write(Buffer.alloc(PREFACE.length - bytes.length, 0x78));
  }
  const goaway = await conn.goawayOrClose(
    `GOAWAY BAD_PREFACE or a close after the ${vector.name} preface vector`,
  );
  if (goaway) {
    assert(
      goaway.code === ErrorCode.BAD_PREFACE,
      `after the ${vector.name} preface vector, expected GOAWAY BAD_PREFACE (5), got GOAWAY ${codeLabel(goaway.code)}`,
    );
    await conn.closedByWorker('the worker to close the connection after GOAWAY BAD_PREFACE');
  }
  await expectFreshConnectionWorks(ctx, `the ${vector.name} preface vector`);
}

function prefaceChecks(vectors: PrefaceVector[]): Check[] {
  return vectors
    .filter((vector) => vector.error === 'BAD_PREFACE')
    .map((vector) =>
      defineCheck({
        name: `vectors.preface.${vector.name}`,
        spec: vector.section,
        title: `preface.json ${vector.name}: ${vector.note ?? ''} → GOAWAY BAD_PREFACE or a close`,
        run: (ctx) => replayPreface(ctx, vector),
      }),
    );
}

function unavailable(message: string): Check[] {
  return [
    defineCheck({
      name: 'vectors.available',
      spec: '§18',
      title: 'protocol/vectors can be read',
      run: () => Promise.reject(new Error(message)),
    }),
  ];
}

const files = loadVectors();

export const vectorErrorChecks: Check[] =
  'error' in files
    ? unavailable(files.error)
    : [...prefaceChecks(files.preface), ...errorChecks(files.errors)];
