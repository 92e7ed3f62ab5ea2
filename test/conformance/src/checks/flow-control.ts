import { Limits } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import { firstDifference, firstPatternMismatch, seededBytes } from '../deterministic-bytes.js';
import type { PeerConnection } from '../peer-connection.js';
import type { PeerStream } from '../peer-stream.js';
import { assert, describeResult, expectStatus } from './expect.js';
import { runSlotsOf } from './queue.js';

/** The largest request body a flow-control check sends. */
const MAX_BODY = 8 * 1024 * 1024;

/** Waits until the worker stops sending on a stream: two PING round trips with nothing new. */
async function waitForStall(conn: PeerConnection, stream: PeerStream): Promise<number> {
  let before = -1;
  for (let round = 0; round < 50 && stream.received !== before && !stream.finished; round++) {
    before = stream.received;
    await conn.barrier();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await conn.barrier();
  }
  return stream.received;
}

export const flowControlChecks: Check[] = [
  defineCheck({
    name: 'flow.request-body-window',
    spec: '§9',
    title:
      "a request body several times the worker's initial_window gets through: the worker grants WINDOW as it consumes",
    async run(ctx) {
      const window = ctx.workerHello.initialWindow;
      if (window * 2 > MAX_BODY)
        ctx.skip(`initial_window is ${window}; exhausting it needs a body over ${MAX_BODY} bytes`);
      const conn = await ctx.connect();
      const body = seededBytes(Math.min(window * 3 + 1234, MAX_BODY), 11);
      const stream = conn.request(
        {
          method: 'POST',
          target: '/echo',
          bodyLength: body.length,
          headers: [
            ['host', 'conformance.test'],
            ['content-length', String(body.length)],
          ],
        },
        { endStream: false },
      );
      await stream.sendBody(body);
      const result = await stream.response();
      expectStatus(result, 200, `POST /echo of ${body.length} bytes`);
      const diff = firstDifference(result.body, body);
      assert(
        diff < 0,
        `POST /echo of ${body.length} bytes: the echo differs at byte ${diff} (got ${result.body.length} bytes)`,
      );
    },
  }),
  defineCheck({
    name: 'flow.response-window',
    spec: '§9',
    title: 'with initial_window 1024 the worker sends at most 1024 bytes, stops, and resumes after WINDOW',
    async run(ctx) {
      const conn = await ctx.connect({
        hello: { initialWindow: Limits.MIN_INITIAL_WINDOW },
        autoGrant: false,
      });
      const total = 20_000;
      const stream = conn.request({ target: `/bytes?n=${total}` });
      await conn.until(`the first DATA of GET /bytes?n=${total}`, () =>
        stream.received > 0 || stream.finished ? true : undefined,
      );
      const stalled = await waitForStall(conn, stream);
      assert(
        !stream.finished,
        `the worker finished a ${total}-byte body with only 1024 bytes of credit: ${describeResult(stream.result())}`,
      );
      assert(
        stalled <= Limits.MIN_INITIAL_WINDOW,
        `the worker sent ${stalled} bytes with 1024 bytes of credit`,
      );
      stream.autoGrant = true;
      stream.grant(stalled);
      const result = await stream.response();
      expectStatus(result, 200, `GET /bytes?n=${total} with window 1024`);
      assert(result.body.length === total, `GET /bytes?n=${total}: got ${result.body.length} bytes`);
      const mismatch = firstPatternMismatch(result.body);
      assert(mismatch < 0, `GET /bytes?n=${total}: byte ${mismatch} is off the pattern`);
      ctx.note(`stalled at ${stalled} bytes until WINDOW`);
    },
  }),
  defineCheck({
    name: 'flow.max-frame-size',
    spec: '§4.1, §9',
    title: "with 4 MiB of credit the worker still splits response DATA at the proxy's max_frame_size (65536)",
    async run(ctx) {
      // Any DATA frame over 65536 bytes is a decoding error on this connection (SPEC §4.1).
      const conn = await ctx.connect({
        hello: { maxFrameSize: Limits.MIN_MAX_FRAME_SIZE, initialWindow: 4 * 1024 * 1024 },
      });
      const total = 2 * 1024 * 1024;
      const result = await conn.request({ target: `/bytes?n=${total}` }).response();
      expectStatus(result, 200, `GET /bytes?n=${total}`);
      assert(
        result.body.length === total && firstPatternMismatch(result.body) < 0,
        `GET /bytes?n=${total}: wrong body (${result.body.length} bytes)`,
      );
    },
  }),
  defineCheck({
    name: 'flow.stalled-stream-isolated',
    spec: '§9',
    title: 'a stream whose reader grants nothing does not hold up another stream on the same connection',
    async run(ctx) {
      // Run slots, not max_streams: a queued stream waits behind the stalled one (SPEC §6.4).
      if (runSlotsOf(ctx.workerHello) < 2)
        ctx.skip('the worker runs one stream at a time (concurrency 1): no two streams can progress at once');
      const conn = await ctx.connect({
        hello: { initialWindow: Limits.MIN_INITIAL_WINDOW },
        autoGrant: false,
      });
      const stalled = conn.request({ target: '/bytes?n=1000000' });
      await conn.until('the first DATA of the stream that is never granted more', () =>
        stalled.received > 0 || stalled.finished ? true : undefined,
      );
      const moving = conn.request({ target: '/bytes?n=50000' });
      moving.autoGrant = true;
      const result = await moving.response('the other stream to complete while the first one is stalled');
      expectStatus(result, 200, 'GET /bytes?n=50000 beside a stalled stream');
      assert(
        result.body.length === 50_000 && firstPatternMismatch(result.body) < 0,
        'GET /bytes?n=50000 beside a stalled stream: wrong body',
      );
      assert(!stalled.finished, 'the stalled stream finished without credit');
      stalled.reset();
    },
  }),
];
