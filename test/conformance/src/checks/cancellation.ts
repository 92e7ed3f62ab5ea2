import { ErrorCode, FrameType } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import { CheckFailed } from '../errors.js';
import { describeFrame } from '../frame-names.js';
import type { PeerConnection } from '../peer-connection.js';
import type { PeerStream } from '../peer-stream.js';
import { u32 } from '../raw-frames.js';
import { expectHelloWorld, uniqueId, waitForAppFlag } from './expect.js';
import { skipWithoutSecondRunSlot } from './queue.js';

/**
 * After this side's RESET, the worker sends nothing more on the stream (SPEC §10). A PING round
 * trip orders things: whatever the worker wrote after the PONG, it wrote after reading the RESET.
 */
async function expectSilenceAfterReset(
  conn: PeerConnection,
  stream: PeerStream,
  what: string,
): Promise<void> {
  const pongSeq = await conn.barrier();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await conn.barrier();
  const late = stream.framesAfterOurReset.filter((frame) => frame.seq > pongSeq);
  if (late.length > 0) {
    throw new CheckFailed(
      `${what}: the worker still sent ${late.map(describeFrame).join(' ')} on stream ${stream.id} after reading RESET (SPEC §10: nothing more on the stream)`,
    );
  }
  const answer = stream.framesAfterOurReset.find((frame) => frame.type === FrameType.RESET);
  if (answer)
    throw new CheckFailed(
      `${what}: the worker answered the RESET with ${describeFrame(answer)} (SPEC §10: a RESET is never answered with a RESET)`,
    );
}

/** A /wait request cancelled with `code`: the app must observe it, the worker go quiet on it. */
async function cancelWaiting(ctx: CheckContext, code: number, label: string): Promise<void> {
  skipWithoutSecondRunSlot(ctx);
  const conn = await ctx.connect();
  const side = await ctx.connect();
  const id = uniqueId('wait');
  const stream = conn.request({ target: `/wait?id=${id}` });
  await waitForAppFlag(side, 'started', id, `GET /wait?id=${id} to reach the app`);
  stream.reset(code);
  await waitForAppFlag(side, 'cancelled', id, `the app to observe the ${label} of /wait?id=${id} (SPEC §10)`);
  await expectSilenceAfterReset(conn, stream, `after ${label} of a waiting request`);
  const early = stream.framesAfterOurReset.find(
    (frame) => frame.type === FrameType.RESPONSE || frame.type === FrameType.DATA,
  );
  if (early)
    throw new CheckFailed(
      `after ${label}, the worker sent ${describeFrame(early)} for a request the app never answered`,
    );
  await expectHelloWorld(conn, `GET /hello on the same connection after ${label}`);
}

export const cancellationChecks: Check[] = [
  defineCheck({
    name: 'cancel.waiting-request',
    spec: '§10',
    title:
      'RESET CANCEL on a request the app is still working on: the app observes it, the worker sends nothing more on the stream',
    run: (ctx) => cancelWaiting(ctx, ErrorCode.CANCEL, 'RESET CANCEL'),
  }),
  defineCheck({
    name: 'cancel.unknown-code',
    spec: '§10, §14.1',
    title:
      'RESET with an unknown code (4242) ends the stream like INTERNAL_ERROR: the app observes it, nothing more is sent',
    run: (ctx) => cancelWaiting(ctx, 4242, 'RESET with code 4242'),
  }),
  defineCheck({
    name: 'cancel.streaming-response',
    spec: '§10, §9',
    title:
      'RESET CANCEL mid-body: the app stops producing, and even with more WINDOW the worker sends nothing more',
    async run(ctx) {
      const conn = await ctx.connect({ autoGrant: false });
      const side = await ctx.connect();
      const id = uniqueId('bytes');
      const stream = conn.request({ target: `/bytes?n=104857600&id=${id}` });
      await conn.until('the first DATA of GET /bytes?n=104857600', () =>
        stream.received > 0 || stream.finished ? true : undefined,
      );
      stream.reset(ErrorCode.CANCEL);
      // Credit for a closed stream is ignored (SPEC §9); a worker that missed the RESET would use it.
      conn.sendFrame(FrameType.WINDOW, 0, stream.id, u32(1024 * 1024));
      await waitForAppFlag(side, 'cancelled', id, `the app to observe RESET CANCEL of /bytes?id=${id}`);
      await expectSilenceAfterReset(conn, stream, 'after RESET CANCEL of a streaming response');
      await expectHelloWorld(conn, 'GET /hello on the same connection after the cancellation');
    },
  }),
  defineCheck({
    name: 'cancel.during-upload',
    spec: '§10',
    title:
      'RESET CANCEL while the request body is still arriving: the worker echoes nothing more, even of body bytes that follow, and the connection goes on',
    async run(ctx) {
      const conn = await ctx.connect();
      const stream = conn.request(
        { method: 'POST', target: '/echo', bodyLength: 1_000_000 },
        { endStream: false },
      );
      // Enough for an app that reads in 16 KiB blocks to echo something: then it is mid-body.
      await stream.sendBody(Buffer.alloc(20_000, 0x61), { end: false });
      await conn.until('the echo of the first 16 KiB of the upload', () =>
        stream.received >= 16_384 || stream.finished ? true : undefined,
      );
      stream.reset(ErrorCode.CANCEL);
      // Bytes for a reset stream are ignored (SPEC §6.1); a worker that missed the RESET echoes them.
      conn.sendFrame(FrameType.DATA, 0, stream.id, Buffer.alloc(20_000, 0x62));
      await expectSilenceAfterReset(conn, stream, 'after RESET CANCEL of an upload');
      const echoed = stream.framesAfterOurReset.find(
        (frame) => frame.type === FrameType.DATA && frame.payload.includes(0x62),
      );
      if (echoed)
        throw new CheckFailed(
          `after RESET CANCEL of an upload, the worker echoed body bytes sent after the RESET: ${describeFrame(echoed)}`,
        );
      await expectHelloWorld(conn, 'GET /hello on the same connection after the cancelled upload');
    },
  }),
];
