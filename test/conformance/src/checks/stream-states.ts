import { ErrorCode, Flags, FrameType } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import { seededBytes } from '../deterministic-bytes.js';
import { CheckFailed } from '../errors.js';
import { codeLabel, describeFrame } from '../frame-names.js';
import { encodeMsgpack } from '../msgpack-builder.js';
import { u32 } from '../raw-frames.js';
import type { PeerStream } from '../peer-stream.js';
import { runSlotsOf, skipWithoutSecondRunSlot } from './queue.js';
import {
  assert,
  describeResult,
  expectHelloWorld,
  expectStatus,
  uniqueId,
  waitForAppFlag,
} from './expect.js';

export const streamStateChecks: Check[] = [
  defineCheck({
    name: 'stream.closed-frames-ignored',
    spec: '§6.1, §9',
    title:
      'WINDOW, DATA, TRAILERS and RESET for a stream that has closed are ignored: no answer, the connection goes on',
    async run(ctx) {
      const conn = await ctx.connect();
      await expectHelloWorld(conn, 'GET /hello');
      const before = conn.lastSeq;
      conn.sendFrame(FrameType.WINDOW, 0, 1, u32(4096));
      conn.sendFrame(FrameType.DATA, 0, 1, Buffer.from('late bytes'));
      conn.sendFrame(FrameType.TRAILERS, Flags.END_STREAM, 1, encodeMsgpack([]));
      conn.sendFrame(FrameType.RESET, 0, 1, encodeMsgpack({ code: ErrorCode.CANCEL }));
      await conn.barrier();
      const answers = conn.framesAfter(before, 1);
      if (answers.length > 0) {
        throw new CheckFailed(
          `the worker answered frames for closed stream 1 with ${answers.map(describeFrame).join(' ')} (SPEC §6.1: they MUST be ignored)`,
        );
      }
      assert(
        conn.goaways.length === 0,
        `the worker sent GOAWAY ${codeLabel(conn.goaways[0]?.code ?? 0)} for frames on a closed stream (SPEC §6.1: they MUST be ignored)`,
      );
      await expectHelloWorld(conn, 'GET /hello after frames for a closed stream');
    },
  }),
  defineCheck({
    name: 'stream.data-after-end-stream',
    spec: '§6.2, §14.3',
    title:
      'DATA on a stream whose REQUEST carried END_STREAM gets RESET STREAM_CLOSED; the connection goes on',
    async run(ctx) {
      skipWithoutSecondRunSlot(ctx);
      const conn = await ctx.connect();
      const side = await ctx.connect();
      const id = uniqueId('closed');
      const stream = conn.request({ target: `/wait?id=${id}` });
      await waitForAppFlag(side, 'started', id, `GET /wait?id=${id} to reach the app`);
      conn.sendFrame(FrameType.DATA, 0, stream.id, Buffer.from('after END_STREAM'));
      const result = await stream.response(
        `RESET STREAM_CLOSED on stream ${stream.id} after DATA following END_STREAM`,
      );
      assert(
        result.reset?.code === ErrorCode.STREAM_CLOSED,
        `DATA after END_STREAM: expected RESET STREAM_CLOSED (13), got ${describeResult(result)}`,
      );
      assert(
        conn.goaways.length === 0,
        `DATA after END_STREAM is a stream error, but the worker sent GOAWAY ${codeLabel(conn.goaways[0]?.code ?? 0)} (SPEC §14.3)`,
      );
      await expectHelloWorld(conn, 'GET /hello on the same connection after the stream error');
    },
  }),
  defineCheck({
    name: 'stream.interleaved',
    spec: '§6, §8.2',
    title: 'up to 4 uploads interleaved frame by frame on one connection are each echoed intact',
    async run(ctx) {
      // Run slots: streams that wait in a queue (SPEC §6.4) do not read their bodies yet.
      const count = Math.min(runSlotsOf(ctx.workerHello), 4);
      if (count < 2)
        ctx.skip('the worker runs one stream at a time (concurrency 1): streams cannot interleave');
      const conn = await ctx.connect();
      const streams: PeerStream[] = [];
      const bodies: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        streams.push(
          conn.request({ method: 'POST', target: '/echo', bodyLength: null }, { endStream: false }),
        );
        bodies.push(seededBytes(8 * 1500, 100 + i));
      }
      const download =
        runSlotsOf(ctx.workerHello) > count ? conn.request({ target: '/bytes?n=100000' }) : undefined;
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < count; i++) {
          await streams[i].sendBody(bodies[i].subarray(round * 1500, (round + 1) * 1500), { end: false });
        }
      }
      for (const stream of streams) stream.end();
      for (let i = 0; i < count; i++) {
        const result = await streams[i].response();
        expectStatus(result, 200, `interleaved POST /echo on stream ${streams[i].id}`);
        assert(
          result.body.equals(bodies[i]),
          `interleaved POST /echo on stream ${streams[i].id}: the echo does not match its own body`,
        );
      }
      if (download) expectStatus(await download.response(), 200, 'GET /bytes beside the uploads');
    },
  }),
  defineCheck({
    name: 'stream.early-response',
    spec: '§10',
    title:
      'an app that answers without reading the body: the response arrives whole, the connection goes on (RESET NO_ERROR SHOULD follow)',
    async run(ctx) {
      const conn = await ctx.connect();
      const stream = conn.request(
        { method: 'POST', target: '/hello', bodyLength: 10_000_000 },
        { endStream: false },
      );
      const firstWindow = Math.min(stream.sendCredit, 16_384);
      await stream.sendBody(Buffer.alloc(firstWindow, 0x62), { end: false });
      await conn.until('the whole answer to POST /hello with a body the app does not read', () =>
        stream.finished ? true : undefined,
      );
      const result = stream.result();
      expectStatus(result, 200, 'POST /hello (body not read by the app)');
      assert(
        result.body.toString('latin1') === 'Hello, World!',
        `POST /hello: got ${describeResult(result)}`,
      );
      if (!stream.workerReset) {
        await conn.barrier();
      }
      if (stream.workerReset) {
        assert(
          stream.workerReset.code === ErrorCode.NO_ERROR,
          `after its early response the worker reset the stream with ${codeLabel(stream.workerReset.code)}, expected NO_ERROR (SPEC §10)`,
        );
      } else {
        ctx.note('no RESET NO_ERROR after the early response (SPEC §10 SHOULD)');
        stream.reset(ErrorCode.CANCEL);
      }
      await expectHelloWorld(conn, 'GET /hello after the early response');
    },
  }),
];
