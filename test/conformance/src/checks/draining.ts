import { ErrorCode, FrameType, type Goaway } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import { CheckFailed } from '../errors.js';
import { codeLabel } from '../frame-names.js';
import { encodeMsgpack } from '../msgpack-builder.js';
import type { StreamResult } from '../peer-stream.js';
import { assert, describeResult, expectStatus } from './expect.js';

/** What happened when the worker got SIGTERM (SPEC §11), judged by the drain.* checks. */
interface DrainOutcome {
  busyGoaway: Goaway | undefined;
  idleGoaway: Goaway | undefined;
  /** The request in flight when the signal came (GET /slow?ms=1000). */
  inFlight: StreamResult | string;
  inFlightId: number;
  /** A request sent after GOAWAY, above its last_stream: its answer, or why there was none. */
  above: StreamResult | 'unanswered' | 'not sent';
  aboveId: number;
  busyClosed: string | true;
  idleClosed: string | true;
  exited: boolean;
  exitDescription: string;
  violations: string[];
}

function settle<T>(promise: Promise<T>): Promise<T | string> {
  return promise.catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
}

async function drainScenario(ctx: CheckContext): Promise<DrainOutcome> {
  const worker = await ctx.startWorker();
  const busy = await ctx.connect({ socketPath: worker.socketPath });
  const idle = await ctx.connect({ socketPath: worker.socketPath });
  const slow = busy.request({ target: '/slow?ms=1000' });
  await busy.barrier(); // the worker has read the REQUEST before the signal
  worker.signal('SIGTERM');
  const [busyGoaway, idleGoaway] = await Promise.all([
    settle(busy.goawayOrClose('GOAWAY after SIGTERM')),
    settle(idle.goawayOrClose('GOAWAY after SIGTERM on an idle connection')),
  ]);
  let above: DrainOutcome['above'] = 'not sent';
  let aboveId = 0;
  if (typeof busyGoaway === 'object' && !busy.closed) {
    // As if this REQUEST had crossed the GOAWAY on the wire.
    const stream = busy.request({ target: '/hello' });
    aboveId = stream.id;
    const answered = await settle(stream.response(`RESET REFUSED_STREAM or silence on stream ${stream.id}`));
    above = typeof answered === 'string' ? 'unanswered' : answered;
  }
  const inFlight = await settle(
    slow.response('the in-flight GET /slow?ms=1000 to complete during the drain'),
  );
  const busyClosed = await settle(
    busy.closedByWorker('the worker to close the busy connection after the drain').then(() => true as const),
  );
  const idleClosed = await settle(
    idle.closedByWorker('the worker to close the idle connection after GOAWAY').then(() => true as const),
  );
  const exited = await worker.waitGone(ctx.timeoutMs);
  return {
    busyGoaway: typeof busyGoaway === 'object' ? busyGoaway : undefined,
    idleGoaway: typeof idleGoaway === 'object' ? idleGoaway : undefined,
    inFlight,
    inFlightId: slow.id,
    above,
    aboveId,
    busyClosed,
    idleClosed,
    exited,
    exitDescription: worker.describeExit(),
    violations: ctx.violations(),
  };
}

function outcome(ctx: CheckContext): Promise<DrainOutcome> {
  return ctx.shared('drain', drainScenario);
}

function describeGoaway(goaway: Goaway | undefined): string {
  return goaway
    ? `GOAWAY ${codeLabel(goaway.code)} last_stream ${goaway.lastStream}`
    : 'no GOAWAY (the connection just closed)';
}

export const drainingChecks: Check[] = [
  defineCheck({
    name: 'drain.proxy-goaway',
    spec: '§11',
    title:
      "after the proxy's GOAWAY (last_stream 0, NO_ERROR) the worker still completes the request in flight",
    async run(ctx) {
      const conn = await ctx.connect();
      const slow = conn.request({ target: '/slow?ms=300' });
      await conn.barrier();
      conn.sendFrame(
        FrameType.GOAWAY,
        0,
        0,
        encodeMsgpack({ last_stream: 0, code: ErrorCode.NO_ERROR, message: 'proxy shutting down' }),
      );
      const result = await slow.response('the request in flight when the proxy sent GOAWAY');
      expectStatus(result, 200, 'GET /slow?ms=300 after the proxy GOAWAY');
      const error = conn.goaways.find((goaway) => goaway.code !== ErrorCode.NO_ERROR);
      assert(!error, `the worker answered the proxy's GOAWAY with GOAWAY ${codeLabel(error?.code ?? 0)}`);
    },
  }),
  defineCheck({
    name: 'drain.goaway',
    spec: '§11',
    title:
      'on SIGTERM the worker sends GOAWAY NO_ERROR on every connection, last_stream covering the request it has read',
    async run(ctx) {
      const drain = await outcome(ctx);
      assert(
        drain.busyGoaway?.code === ErrorCode.NO_ERROR,
        `busy connection: expected GOAWAY NO_ERROR after SIGTERM, got ${describeGoaway(drain.busyGoaway)}`,
      );
      assert(
        drain.idleGoaway?.code === ErrorCode.NO_ERROR,
        `idle connection: expected GOAWAY NO_ERROR after SIGTERM, got ${describeGoaway(drain.idleGoaway)}`,
      );
      assert(
        drain.busyGoaway.lastStream >= drain.inFlightId,
        `GOAWAY last_stream ${drain.busyGoaway.lastStream} leaves out stream ${drain.inFlightId}, which the worker had read and is processing`,
      );
    },
  }),
  defineCheck({
    name: 'drain.in-flight-completes',
    spec: '§11',
    title: 'the request in flight at SIGTERM (GET /slow?ms=1000) completes with 200',
    async run(ctx) {
      const drain = await outcome(ctx);
      if (typeof drain.inFlight === 'string')
        throw new CheckFailed(`the in-flight request did not complete: ${drain.inFlight}`);
      expectStatus(drain.inFlight, 200, 'the in-flight GET /slow?ms=1000 during the drain');
    },
  }),
  defineCheck({
    name: 'drain.refuses-above-last-stream',
    spec: '§11',
    title: 'a REQUEST above GOAWAY last_stream is not processed: RESET REFUSED_STREAM (SHOULD) or no answer',
    async run(ctx) {
      const drain = await outcome(ctx);
      if (drain.above === 'not sent')
        throw new CheckFailed(
          'no GOAWAY came before the connection closed, so nothing could be sent above last_stream',
        );
      if (drain.above === 'unanswered') {
        ctx.note(
          `stream ${drain.aboveId} above last_stream was left unanswered (SPEC §11 SHOULD send RESET REFUSED_STREAM)`,
        );
        return;
      }
      assert(
        !drain.above.head && drain.above.reset?.code === ErrorCode.REFUSED_STREAM,
        `stream ${drain.aboveId}, opened above GOAWAY last_stream, got ${describeResult(drain.above)}; expected RESET REFUSED_STREAM or no answer`,
      );
    },
  }),
  defineCheck({
    name: 'drain.closes-and-exits',
    spec: '§11, §16',
    title: 'after the drain the worker closes every connection and its process exits',
    async run(ctx) {
      const drain = await outcome(ctx);
      if (drain.busyClosed !== true) throw new CheckFailed(`busy connection: ${drain.busyClosed}`);
      if (drain.idleClosed !== true) throw new CheckFailed(`idle connection: ${drain.idleClosed}`);
      assert(
        drain.exited,
        `the worker process did not exit within ${ctx.timeoutMs} ms of SIGTERM and the drain`,
      );
      ctx.note(`the shell ${drain.exitDescription}`);
    },
  }),
  defineCheck({
    name: 'drain.frames-valid',
    spec: '§6, §9, §11',
    title: 'every frame the worker sent during the drain follows the stream and flow-control rules',
    async run(ctx) {
      const drain = await outcome(ctx);
      const violations = drain.violations.filter(
        (violation) => !violation.includes(`stream ${drain.aboveId} `),
      );
      assert(violations.length === 0, violations.join('; '));
    },
  }),
];
