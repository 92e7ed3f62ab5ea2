import { ErrorCode, Feature, FrameType, Limits, type Hello } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import { CheckFailed } from '../errors.js';
import { codeLabel } from '../frame-names.js';
import type { PeerStream } from '../peer-stream.js';
import { STREAM_CAP } from './concurrency.js';
import { appFlag, assert, describeResult, expectHelloWorld, expectStatus, uniqueId } from './expect.js';

/** SPEC §6.3: the streams a worker runs at once (its `concurrency`, else max_streams). */
export function runSlotsOf(hello: Hello): number {
  return hello.concurrency ?? hello.maxStreams;
}

/**
 * Checks that watch the app from a second connection (GET /started while a /wait runs) need a
 * second run slot: with one, the watching request waits behind the one it watches.
 */
export function skipWithoutSecondRunSlot(ctx: CheckContext): void {
  if (runSlotsOf(ctx.workerHello) < 2)
    ctx.skip(
      'the worker runs one request at a time (concurrency 1): the app cannot be watched from a second request meanwhile',
    );
}

/** Skips unless the worker lists `queue` and has queue slots; returns its run and queue slots. */
function queueSlots(ctx: CheckContext): { run: number; queued: number } {
  const hello = ctx.workerHello;
  if (!hello.features.includes(Feature.QUEUE)) ctx.skip("the worker does not list 'queue'");
  const run = runSlotsOf(hello);
  if (run >= hello.maxStreams)
    ctx.skip(`no queue slots: concurrency ${run} = max_streams ${hello.maxStreams}`);
  if (hello.maxStreams > STREAM_CAP)
    ctx.skip(`max_streams is ${hello.maxStreams}; the suite opens at most ${STREAM_CAP} streams at once`);
  return { run, queued: hello.maxStreams - run };
}

/** Fills every run slot with a request that waits until it is cancelled (/wait). */
function fillRunSlots(conn: Awaited<ReturnType<CheckContext['connect']>>, run: number): PeerStream[] {
  const streams: PeerStream[] = [];
  for (let i = 0; i < run; i++) streams.push(conn.request({ target: `/wait?id=${uniqueId('run-slot')}` }));
  return streams;
}

function recall(stream: PeerStream): void {
  stream.conn.sendFrame(FrameType.RECALL, 0, stream.id);
}

export const queueChecks: Check[] = [
  defineCheck({
    name: 'queue.arrival-order',
    spec: '§6.4',
    title:
      "with 'queue': streams beyond concurrency wait while every run slot is busy, then start in arrival order",
    async run(ctx) {
      const { run, queued } = queueSlots(ctx);
      const conn = await ctx.connect();
      const running = fillRunSlots(conn, run);
      const waiting: PeerStream[] = [];
      for (let i = 0; i < Math.min(queued, 3); i++) waiting.push(conn.request({ target: '/hello' }));
      await conn.barrier();
      await new Promise((resolve) => setTimeout(resolve, 100)); // room to (wrongly) start one
      for (const stream of waiting) {
        assert(
          stream.final === undefined && !stream.finished,
          `stream ${stream.id} was answered while all ${run} run slots (concurrency) were busy with /wait: ${describeResult(stream.result())}`,
        );
      }
      running[0].reset(ErrorCode.CANCEL); // one run slot frees: the queued streams go through it, one by one
      let previous = 0;
      for (const stream of waiting) {
        const result = await stream.response(`the queued GET /hello on stream ${stream.id}`);
        expectStatus(result, 200, `queued GET /hello on stream ${stream.id}`);
        const head = conn.frames.find(
          (frame) => frame.streamId === stream.id && frame.type === FrameType.RESPONSE,
        )!;
        assert(
          head.seq > previous,
          `queued stream ${stream.id} was answered before an earlier queued stream (SPEC §6.4: arrival order)`,
        );
        previous = head.seq;
      }
      for (const stream of running.slice(1)) stream.reset(ErrorCode.CANCEL);
      ctx.note(`${run} run slots, ${queued} queue slots`);
    },
  }),
  defineCheck({
    name: 'queue.recall-queued',
    spec: '§6.4',
    title: 'RECALL of a queued stream is answered with RESET REFUSED_STREAM, and the stream never runs',
    async run(ctx) {
      const { run } = queueSlots(ctx);
      const conn = await ctx.connect();
      const running = fillRunSlots(conn, run);
      const id = uniqueId('recalled');
      const queued = conn.request({ target: `/wait?id=${id}` });
      await conn.barrier();
      recall(queued);
      const result = await queued.response(
        `RESET REFUSED_STREAM for the recalled queued stream ${queued.id}`,
      );
      assert(
        result.reset?.code === ErrorCode.REFUSED_STREAM && !result.head,
        `RECALL of queued stream ${queued.id}: expected RESET REFUSED_STREAM, got ${describeResult(result)}`,
      );
      for (const stream of running) {
        if (stream.workerReset) {
          throw new CheckFailed(
            `running stream ${stream.id} got RESET ${codeLabel(stream.workerReset.code)} after another stream's RECALL`,
          );
        }
        stream.reset(ErrorCode.CANCEL);
      }
      await expectHelloWorld(conn, 'GET /hello after the recall');
      assert(
        (await appFlag(conn, 'started', id)) === 'no',
        `the recalled request /wait?id=${id} reached the app (SPEC §6.4: a recalled stream is never started)`,
      );
    },
  }),
  defineCheck({
    name: 'queue.recall-started',
    spec: '§6.4',
    title: 'RECALL of a stream the worker has started is ignored: its response completes normally',
    async run(ctx) {
      queueSlots(ctx);
      const conn = await ctx.connect({
        hello: { initialWindow: Limits.MIN_INITIAL_WINDOW },
        autoGrant: false,
      });
      const total = 100_000;
      const stream = conn.request({ target: `/bytes?n=${total}` });
      await conn.until(`the first DATA of GET /bytes on stream ${stream.id} (it has started)`, () =>
        stream.received > 0 || stream.finished ? true : undefined,
      );
      recall(stream);
      await conn.barrier();
      assert(
        !stream.finished,
        `RECALL of started stream ${stream.id}: the worker ended it (${describeResult(stream.result())})`,
      );
      stream.autoGrant = true;
      stream.grant(total);
      const result = await stream.response();
      expectStatus(result, 200, `GET /bytes?n=${total} after a RECALL it ignored`);
      assert(
        result.body.length === total && !result.reset,
        `GET /bytes?n=${total} after a RECALL: ${describeResult(result)}`,
      );
    },
  }),
  defineCheck({
    name: 'queue.recall-closed',
    spec: '§6.1, §6.4',
    title: 'RECALL of a stream that has ended is ignored (it may cross the response)',
    async run(ctx) {
      queueSlots(ctx);
      const conn = await ctx.connect();
      const stream = conn.request({ target: '/hello' });
      expectStatus(await stream.response(), 200, 'GET /hello');
      const after = conn.lastSeq;
      recall(stream);
      await expectHelloWorld(conn, 'GET /hello after a RECALL of an ended stream');
      assert(
        conn.goaways.length === 0 && conn.framesAfter(after, stream.id).length === 0,
        `RECALL of ended stream ${stream.id} was answered: ${conn.goaways.length ? `GOAWAY ${codeLabel(conn.goaways[0].code)}` : 'a frame on the stream'}`,
      );
    },
  }),
];
