import { ErrorCode, Flags, FrameType } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import { encodeEnvironPayload } from '../environ-builder.js';
import { CheckFailed } from '../errors.js';
import { codeLabel } from '../frame-names.js';
import { rawFrame } from '../raw-frames.js';
import type { PeerStream } from '../peer-stream.js';
import { appFlag, assert, describeResult, expectHelloWorld, expectStatus, uniqueId } from './expect.js';

/** The most streams a check opens at once, whatever the worker advertises. */
export const STREAM_CAP = 256;

export const concurrencyChecks: Check[] = [
  defineCheck({
    name: 'concurrency.max-streams',
    spec: '§6.3',
    title: 'min(max_streams, 256) concurrent requests on one connection are all answered, none refused',
    async run(ctx) {
      const count = Math.min(ctx.workerHello.maxStreams, STREAM_CAP);
      const conn = await ctx.connect();
      // One write, so that they are all active at once as far as the worker can tell.
      const streams: PeerStream[] = [];
      const frames: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const stream = conn.declareStream(i + 1);
        stream.localEnded = true;
        streams.push(stream);
        frames.push(
          rawFrame(
            FrameType.REQUEST,
            Flags.END_STREAM,
            stream.id,
            encodeEnvironPayload({ target: '/slow?ms=100' }),
          ),
        );
      }
      conn.write(Buffer.concat(frames));
      for (const stream of streams) {
        const result = await stream.response(
          `the answer to stream ${stream.id} of ${count} concurrent GET /slow?ms=100`,
        );
        if (result.reset?.code === ErrorCode.REFUSED_STREAM) {
          throw new CheckFailed(
            `stream ${stream.id} of ${count} was refused although max_streams is ${ctx.workerHello.maxStreams}`,
          );
        }
        expectStatus(result, 200, `concurrent GET /slow on stream ${stream.id} of ${count}`);
      }
      ctx.note(`${count} concurrent streams`);
    },
  }),
  defineCheck({
    name: 'concurrency.refused-beyond-max',
    spec: '§6.3',
    title: 'the REQUEST one beyond max_streams gets RESET REFUSED_STREAM and is not processed',
    async run(ctx) {
      const max = ctx.workerHello.maxStreams;
      if (max > STREAM_CAP) {
        ctx.skip(`max_streams is ${max}; the suite opens at most ${STREAM_CAP} streams at once`);
      }
      const conn = await ctx.connect();
      const waits: PeerStream[] = [];
      const frames: Buffer[] = [];
      for (let i = 0; i < max; i++) {
        const stream = conn.declareStream(i + 1);
        waits.push(stream);
        frames.push(
          rawFrame(
            FrameType.REQUEST,
            Flags.END_STREAM,
            stream.id,
            encodeEnvironPayload({ target: `/wait?id=${uniqueId('fill')}` }),
          ),
        );
      }
      const extraId = uniqueId('extra');
      const extra = conn.declareStream(max + 1);
      frames.push(
        rawFrame(
          FrameType.REQUEST,
          Flags.END_STREAM,
          extra.id,
          encodeEnvironPayload({ target: `/wait?id=${extraId}` }),
        ),
      );
      conn.write(Buffer.concat(frames));
      const result = await extra.response(
        `RESET REFUSED_STREAM on stream ${extra.id}, one beyond max_streams ${max}`,
      );
      assert(
        result.reset?.code === ErrorCode.REFUSED_STREAM && !result.head,
        `stream ${extra.id}, one beyond max_streams ${max}: expected RESET REFUSED_STREAM, got ${describeResult(result)}`,
      );
      for (const stream of waits) {
        if (stream.workerReset) {
          throw new CheckFailed(
            `stream ${stream.id} (within max_streams ${max}) got RESET ${codeLabel(stream.workerReset.code)}`,
          );
        }
        stream.reset(ErrorCode.CANCEL);
      }
      // The cancelled streams are no longer active (SPEC §6.3), so the connection takes new ones.
      await expectHelloWorld(conn, 'GET /hello after the waiting streams were cancelled');
      assert(
        (await appFlag(conn, 'started', extraId)) === 'no',
        `the refused request /wait?id=${extraId} reached the app (SPEC §6.3: refused without processing it)`,
      );
    },
  }),
];
