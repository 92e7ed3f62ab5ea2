import { FrameType, Limits, PREFACE, PROTOCOL_VERSION } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import { encodeEnvironPayload } from '../environ-builder.js';
import { rawFrame } from '../raw-frames.js';
import { CheckFailed } from '../errors.js';
import { codeLabel } from '../frame-names.js';
import { assert, expectConnectionError, expectFreshConnectionWorks, expectHelloWorld } from './expect.js';
import type { CheckContext } from '../check-context.js';
import type { MpValue } from '../msgpack-builder.js';

/** Sends our preface and a HELLO changed as given, and expects the connection error `code`. */
async function badHello(
  ctx: CheckContext,
  change: { override?: Record<string, MpValue>; omit?: string[] },
  code: 'HANDSHAKE_ERROR' | 'UNSUPPORTED_VERSION',
  trigger: string,
): Promise<void> {
  const conn = await ctx.connectRaw();
  conn.sendPrefaceAndHello(conn.helloPayload(change));
  await expectConnectionError(ctx, conn, code, trigger);
}

export const handshakeChecks: Check[] = [
  defineCheck({
    name: 'handshake.preface',
    spec: '§3, §5.1',
    title: 'the worker sends GATEWIRE and its HELLO as soon as it accepts, without waiting for the proxy',
    async run(ctx) {
      const conn = await ctx.connectRaw();
      await conn.until(
        "the worker's preface and HELLO, sent before the proxy sent anything (SPEC §3)",
        () => {
          if (conn.helloError) throw new CheckFailed(conn.helloError);
          return conn.workerHello;
        },
      );
    },
  }),
  defineCheck({
    name: 'handshake.hello',
    spec: '§5.2, §5.3',
    title:
      'the HELLO has version 1, role worker, limits in range, max_streams ≥ 1, features as str, a 16…64-byte nonce',
    async run(ctx) {
      const conn = await ctx.connect();
      const hello = conn.workerHello!;
      // decodeHello already refused wrong types and out-of-range values; restate the essentials.
      assert(
        hello.version === PROTOCOL_VERSION,
        `HELLO version is ${hello.version}, not ${PROTOCOL_VERSION}`,
      );
      assert(hello.role === 'worker', `HELLO role is ${JSON.stringify(hello.role)}, not "worker"`);
      assert(
        hello.maxFrameSize >= Limits.MIN_MAX_FRAME_SIZE && hello.maxFrameSize <= Limits.MAX_MAX_FRAME_SIZE,
        `HELLO max_frame_size ${hello.maxFrameSize} is out of range`,
      );
      assert(
        hello.initialWindow >= Limits.MIN_INITIAL_WINDOW && hello.initialWindow <= Limits.MAX_WINDOW,
        `HELLO initial_window ${hello.initialWindow} is out of range`,
      );
      assert(
        hello.maxStreams >= 1,
        `HELLO max_streams is ${hello.maxStreams}; a worker advertises at least 1`,
      );
      assert(
        hello.features.length <= Limits.MAX_FEATURES,
        `HELLO lists ${hello.features.length} features, more than 64`,
      );
      ctx.note(
        `features [${hello.features.join(', ')}], max_streams ${hello.maxStreams}, max_frame_size ${hello.maxFrameSize}, initial_window ${hello.initialWindow}${hello.server ? `, server ${hello.server}` : ''}`,
      );
    },
  }),
  defineCheck({
    name: 'handshake.nonce-fresh',
    spec: '§5.2',
    title: 'each connection gets a fresh nonce',
    async run(ctx) {
      const first = await ctx.connect();
      const second = await ctx.connect();
      assert(
        !Buffer.from(first.workerHello!.nonce).equals(Buffer.from(second.workerHello!.nonce)),
        'two connections got the same HELLO nonce; it must be fresh for every connection',
      );
    },
  }),
  defineCheck({
    name: 'handshake.unknown-keys-ignored',
    spec: '§5.2, §5.3',
    title: 'unknown HELLO keys and unknown feature names are ignored',
    async run(ctx) {
      const conn = await ctx.connectRaw({
        hello: { features: ['x-future-feature', 'trailers', 'health', 'upgrade'] },
      });
      conn.sendPrefaceAndHello(
        conn.helloPayload({
          extra: [
            ['x_future', { nested: [1, 'two', null] }],
            ['zone', 'eu-1'],
          ],
        }),
      );
      await conn.handshake();
      await expectHelloWorld(conn, 'GET /hello after a HELLO with unknown keys');
    },
  }),
  defineCheck({
    name: 'handshake.unsupported-version',
    spec: '§5.2, §14.1',
    title: 'a HELLO with version 2 gets GOAWAY UNSUPPORTED_VERSION and the connection is closed',
    async run(ctx) {
      const conn = await ctx.connectRaw();
      conn.sendPrefaceAndHello(conn.helloPayload({ override: { version: 2 } }));
      await expectConnectionError(ctx, conn, 'UNSUPPORTED_VERSION', 'a HELLO with version 2');
      const message = conn.goaways[0]?.message ?? '';
      if (!(message.includes('1') && message.includes('2'))) {
        ctx.note(`the GOAWAY message does not state both versions (SHOULD): ${JSON.stringify(message)}`);
      }
    },
  }),
  defineCheck({
    name: 'handshake.bad-preface',
    spec: '§3, §14.1',
    title:
      'HTTP bytes instead of the preface get GOAWAY BAD_PREFACE (or a close); the worker still serves new connections',
    async run(ctx) {
      const conn = await ctx.connectRaw();
      conn.write(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 'latin1'));
      const goaway = await conn.goawayOrClose('GOAWAY BAD_PREFACE or a close after HTTP bytes');
      if (goaway) {
        assert(
          goaway.code === 5,
          `after HTTP bytes instead of the preface, expected GOAWAY BAD_PREFACE (5), got GOAWAY ${codeLabel(goaway.code)}`,
        );
        await conn.closedByWorker('the worker to close the connection after GOAWAY BAD_PREFACE');
      } else {
        ctx.note(
          'closed without GOAWAY (allowed; SPEC §14.2 asks for GOAWAY BAD_PREFACE if it can still write)',
        );
      }
      await expectFreshConnectionWorks(ctx, 'a connection that sent HTTP instead of the preface');
    },
  }),
  defineCheck({
    name: 'handshake.wrong-role',
    spec: '§5.2',
    title: 'a peer HELLO with role "worker" gets GOAWAY HANDSHAKE_ERROR',
    run: (ctx) =>
      badHello(
        ctx,
        { override: { role: 'worker', max_streams: 1 } },
        'HANDSHAKE_ERROR',
        'a HELLO with role "worker"',
      ),
  }),
  defineCheck({
    name: 'handshake.missing-key',
    spec: '§5.2',
    title: 'a HELLO without its nonce gets GOAWAY HANDSHAKE_ERROR',
    run: (ctx) => badHello(ctx, { omit: ['nonce'] }, 'HANDSHAKE_ERROR', 'a HELLO without nonce'),
  }),
  defineCheck({
    name: 'handshake.out-of-range',
    spec: '§5.2, §15',
    title: 'a HELLO with initial_window 1000 (below 1024) gets GOAWAY HANDSHAKE_ERROR',
    run: (ctx) =>
      badHello(
        ctx,
        { override: { initial_window: 1000 } },
        'HANDSHAKE_ERROR',
        'a HELLO with initial_window 1000',
      ),
  }),
  defineCheck({
    name: 'handshake.wrong-type',
    spec: '§5.2',
    title: 'a HELLO whose features is not an array gets GOAWAY HANDSHAKE_ERROR',
    run: (ctx) =>
      badHello(
        ctx,
        { override: { features: 'trailers' } },
        'HANDSHAKE_ERROR',
        'a HELLO with features "trailers"',
      ),
  }),
  defineCheck({
    name: 'handshake.request-before-hello',
    spec: '§5.1',
    title: 'a REQUEST right after the preface gets GOAWAY HANDSHAKE_ERROR and is not answered',
    async run(ctx) {
      const conn = await ctx.connectRaw();
      const stream = conn.declareStream(1);
      conn.write(
        Buffer.concat([
          PREFACE,
          rawFrame(FrameType.REQUEST, 1, 1, encodeEnvironPayload({ target: '/hello' })),
        ]),
      );
      await expectConnectionError(ctx, conn, 'HANDSHAKE_ERROR', 'a REQUEST in place of HELLO');
      assert(!stream.final, 'the worker answered a REQUEST sent before the handshake (SPEC §5.1)');
    },
  }),
  defineCheck({
    name: 'handshake.second-hello',
    spec: '§5.1',
    title: 'a second HELLO gets GOAWAY HANDSHAKE_ERROR',
    async run(ctx) {
      const conn = await ctx.connect();
      conn.sendFrame(FrameType.HELLO, 0, 0, conn.helloPayload());
      await expectConnectionError(ctx, conn, 'HANDSHAKE_ERROR', 'a second HELLO');
    },
  }),
  defineCheck({
    name: 'handshake.auth-not-requested',
    spec: '§5.4',
    title: 'AUTH when the worker did not ask for it gets GOAWAY PROTOCOL_ERROR',
    async run(ctx) {
      if (ctx.workerHello.auth !== undefined)
        ctx.skip('the worker asks for the shared-secret proof, so AUTH is expected');
      const conn = await ctx.connect();
      conn.sendAuth(Buffer.alloc(32, 7));
      await expectConnectionError(ctx, conn, 'PROTOCOL_ERROR', 'an AUTH the worker did not ask for');
    },
  }),
];
