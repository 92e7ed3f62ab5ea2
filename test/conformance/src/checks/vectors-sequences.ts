import { ErrorCode, FrameType, authProof, type Hello } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import { CheckFailed } from '../errors.js';
import { describeFrame, type ReceivedFrame } from '../frame-names.js';
import { encodeMsgpack } from '../msgpack-builder.js';
import { matchesPattern, msgpackToJson } from '../msgpack-json.js';
import type { PeerConnection } from '../peer-connection.js';
import { rawFrame } from '../raw-frames.js';
import {
  binOf,
  loadVectors,
  type Sequence,
  type SequenceFile,
  type SequenceStep,
  type VectorFrame,
} from '../vector-files.js';

/**
 * protocol/vectors/sequences.json: the scripted conversations whose subject is a worker, played
 * against the live worker as its README says. The transcripts assume a worker advertising
 * max_frame_size 65536, initial_window 1024 and max_streams 2; a sequence whose outcome hangs on
 * one of those numbers runs only when the worker advertises a value that gives the same outcome,
 * and is skipped with the reason otherwise.
 */

const FRAME_TYPES = FrameType as Readonly<Record<string, number>>;

function frameHex(step: SequenceStep): Buffer {
  return Buffer.from(step.hex ?? '', 'hex');
}

/** The frame's payload in the JSON form of the vectors (README "Common conventions"). */
function payloadJson(frame: ReceivedFrame): unknown {
  switch (frame.type) {
    case FrameType.DATA:
    case FrameType.PING:
    case FrameType.PONG:
      return { $bin: frame.payload.toString('latin1') };
    case FrameType.WINDOW:
      return { increment: frame.payload.readUInt32BE(0) };
    default:
      return frame.payload.length === 0 ? undefined : msgpackToJson(frame.payload);
  }
}

function matches(frame: ReceivedFrame, pattern: Partial<VectorFrame> & { type: string }): boolean {
  if (frame.type !== FRAME_TYPES[pattern.type]) return false;
  if (pattern.flags !== undefined && frame.flags !== pattern.flags) return false;
  if (pattern.stream_id !== undefined && frame.streamId !== pattern.stream_id) return false;
  if (pattern.payload === undefined) return true;
  let actual: unknown;
  try {
    actual = payloadJson(frame);
  } catch {
    return false;
  }
  return matchesPattern(actual, pattern.payload);
}

function describePattern(pattern: Partial<VectorFrame> & { type: string }): string {
  const parts = [pattern.type];
  if (pattern.stream_id !== undefined) parts.push(`stream ${pattern.stream_id}`);
  if (pattern.payload !== undefined) parts.push(JSON.stringify(pattern.payload));
  return parts.join(' ');
}

function sends(sequence: Sequence): Array<{ send: VectorFrame; hex: Buffer; step: SequenceStep }> {
  return sequence.steps.flatMap((step) =>
    step.send ? [{ send: step.send, hex: frameHex(step), step }] : [],
  );
}

/** Why this sequence cannot run against this worker, or undefined when it can. */
export function inapplicable(
  sequence: Sequence,
  hello: Hello,
  secret: Uint8Array | undefined,
  file: SequenceFile,
): string | undefined {
  const usesAuth = sequence.subject_hello.auth !== undefined;
  if (usesAuth && hello.auth === undefined)
    return 'the transcript needs a worker that asks for the shared-secret proof (HELLO auth), and this one does not';
  if (!usesAuth && hello.auth !== undefined)
    return 'the worker asks for the shared-secret proof; the transcript assumes it does not';
  const needsSecret = sequence.steps.some(
    (step) => step.proof?.secret === 'secret' || step.expect?.type === 'AUTH',
  );
  if (usesAuth && needsSecret && !(secret && Buffer.from(secret).equals(binOf(file.secret)))) {
    return `the worker and the suite must share the vectors' secret ${JSON.stringify(file.secret.$bin)} (GATEWIRE_SECRET)`;
  }
  const all = sends(sequence);
  // An oversize header: it relies on the worker's max_frame_size being below the announced length.
  for (const { send, hex } of all) {
    if (send.type === 'RAW' && hex.length === 10) {
      const length = hex.readUInt32BE(0);
      if (length > 65_536 && length <= hello.maxFrameSize) {
        return `announces a ${length}-byte frame, which the worker's max_frame_size ${hello.maxFrameSize} allows (malformed.oversize-length checks the worker's own limit)`;
      }
    }
  }
  const expects = sequence.steps.flatMap((step) => (step.expect ? [step.expect] : []));
  const expectsCode = (code: number) =>
    expects.some((expect) => (expect.payload as { code?: number } | undefined)?.code === code);
  // DATA beyond the window: relies on the worker's initial_window being below the bytes sent.
  if (expectsCode(ErrorCode.FLOW_CONTROL_ERROR)) {
    const dataBytes = all
      .filter(({ send }) => send.type === 'DATA')
      .reduce((sum, { hex }) => sum + hex.length - 10, 0);
    if (dataBytes > 0 && dataBytes <= hello.initialWindow) {
      return `sends ${dataBytes} bytes of DATA, within the worker's initial_window ${hello.initialWindow} (malformed.data-beyond-window checks the worker's own window)`;
    }
  }
  // A refusal over max_streams: relies on the worker's max_streams being one less than the REQUESTs.
  if (expectsCode(ErrorCode.REFUSED_STREAM)) {
    const requests = all.filter(({ send }) => send.type === 'REQUEST').length;
    if (hello.maxStreams !== requests - 1) {
      return `relies on max_streams ${requests - 1}; the worker advertises ${hello.maxStreams} (concurrency.refused-beyond-max checks the worker's own limit)`;
    }
  }
  return undefined;
}

/** Plays one sequence; throws CheckFailed at the first step that does not hold. */
async function play(ctx: CheckContext, file: SequenceFile, sequence: Sequence): Promise<void> {
  const hello = ctx.workerHello;
  const reason = inapplicable(sequence, hello, ctx.secret, file);
  if (reason) ctx.skip(reason);
  const scriptHello = sends(sequence).find(({ send }) => send.type === 'HELLO')?.send.payload as
    Record<string, unknown> | undefined;
  const scriptNonce = scriptHello ? binOf(scriptHello.nonce) : Buffer.alloc(0);
  const conn = await ctx.connectRaw({
    autoGrant: false,
    secret: binOf(file.secret),
    hello: scriptHello
      ? {
          maxFrameSize: Number(scriptHello.max_frame_size),
          initialWindow: Number(scriptHello.initial_window),
          features: scriptHello.features as string[],
          nonce: scriptNonce,
        }
      : undefined,
  });
  const skippable = new Set(file.skippable.map((name) => FRAME_TYPES[name]));
  let cursor = 0;
  let batch: Buffer[] = [];
  const flush = () => {
    if (batch.length > 0) conn.write(Buffer.concat(batch));
    batch = [];
  };
  for (const [index, step] of sequence.steps.entries()) {
    const label = `step ${index + 1}`;
    if (step.send) {
      batch.push(sendBytes(conn, file, step, scriptNonce));
      continue;
    }
    flush();
    const expect = step.expect!;
    if (expect.type === 'PREFACE') {
      await conn.until(`${label}: the worker's preface`, () => {
        if (conn.decodeError)
          throw new CheckFailed(`${label}: expected the worker's preface; ${conn.decodeError}`);
        return conn.frames.length > 0 ? true : undefined;
      });
    } else if (expect.type === 'HELLO') {
      await conn.until(`${label}: the worker's HELLO`, () => {
        if (conn.helloError) throw new CheckFailed(`${label}: ${conn.helloError}`);
        return conn.workerHello;
      });
      cursor = 1;
    } else if (expect.type === 'CLOSE') {
      await conn.until(`${label}: the worker to close the connection`, () => {
        for (const frame of conn.frames.filter((candidate) => candidate.seq > cursor)) {
          if (!skippable.has(frame.type)) {
            throw new CheckFailed(`${label}: expected the connection to close, got ${describeFrame(frame)}`);
          }
          cursor = frame.seq;
        }
        return conn.closed ? true : undefined;
      });
    } else {
      await conn.until(`${label}: ${describePattern(expect)}`, () => {
        for (const candidate of conn.frames.filter((frame) => frame.seq > cursor)) {
          cursor = candidate.seq;
          if (expect.type === 'AUTH' && candidate.type === FrameType.AUTH) return candidate;
          if (matches(candidate, expect)) return candidate;
          if (skippable.has(candidate.type) && candidate.type !== FRAME_TYPES[expect.type]) continue;
          throw new CheckFailed(
            `${label}: expected ${describePattern(expect)}, got ${describeFrame(candidate)}`,
          );
        }
        return undefined;
      });
      if (expect.type === 'AUTH') {
        // The transcript's proof is for fixed nonces; PeerConnection verified the live one on arrival.
        const wrong = conn.violations.find((violation) => violation.includes('AUTH'));
        if (wrong) throw new CheckFailed(`${label}: ${wrong}`);
      }
    }
  }
  flush();
}

/** The bytes of a send step; an AUTH proof is recomputed for the nonces of this live connection. */
function sendBytes(conn: PeerConnection, file: SequenceFile, step: SequenceStep, proxyNonce: Buffer): Buffer {
  const send = step.send!;
  const hex = frameHex(step);
  if (send.type === 'REQUEST') {
    const payload = send.payload as Record<string, unknown> | undefined;
    conn.declareStream(send.stream_id, typeof payload?.upgrade === 'string' && payload.upgrade !== '');
  } else if (
    send.type === 'RAW' &&
    hex.length >= 10 &&
    hex[4] === FrameType.REQUEST &&
    hex.readUInt32BE(6) > 0
  ) {
    conn.declareStream(hex.readUInt32BE(6));
  }
  if (send.type === 'AUTH' && step.proof) {
    const workerHello = conn.workerHello;
    if (!workerHello) throw new CheckFailed("the transcript sends AUTH before the worker's HELLO arrived");
    const key = binOf(step.proof.secret === 'wrong_secret' ? file.wrong_secret : file.secret);
    conn.markAuthSent();
    const proof = authProof(key, step.proof.role, proxyNonce, workerHello.nonce);
    return rawFrame(FrameType.AUTH, 0, 0, encodeMsgpack({ proof }));
  }
  if (send.type === 'AUTH') conn.markAuthSent();
  return hex;
}

const files = loadVectors();

export const vectorSequenceChecks: Check[] =
  'error' in files
    ? []
    : files.sequences.sequences
        .filter((sequence) => sequence.subject === 'worker')
        .map((sequence) =>
          defineCheck({
            name: `vectors.sequence.${sequence.name}`,
            spec: sequence.section,
            title: `sequences.json ${sequence.name}: ${sequence.note ?? ''}`,
            run: (ctx) => play(ctx, files.sequences, sequence),
          }),
        );
