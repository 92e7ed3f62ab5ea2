import { Feature, FrameType, Limits } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import { CheckFailed } from '../errors.js';
import { describeFrame } from '../frame-names.js';
import { assert, expectHelloWorld, uniqueId } from './expect.js';

export const livenessChecks: Check[] = [
  defineCheck({
    name: 'liveness.ping',
    spec: '§12.1',
    title: 'PING is answered with PONG carrying the same 8 bytes, three in a row in order',
    async run(ctx) {
      const conn = await ctx.connect();
      const payloads = [
        Buffer.from('01234567'),
        Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]),
        Buffer.from([0xff, 0, 0x80, 1, 2, 3, 4, 0xfe]),
      ];
      const pongs = await Promise.all(payloads.map((payload) => conn.ping(payload)));
      for (let i = 1; i < pongs.length; i++) {
        assert(pongs[i].seq > pongs[i - 1].seq, 'PONGs came back in a different order than the PINGs');
      }
    },
  }),
  defineCheck({
    name: 'liveness.ping-while-busy',
    spec: '§12.1, §9',
    title: 'PING is answered while streams are blocked (one on flow control, one in the app)',
    async run(ctx) {
      const conn = await ctx.connect({
        hello: { initialWindow: Limits.MIN_INITIAL_WINDOW },
        autoGrant: false,
      });
      const blocked = conn.request({ target: '/bytes?n=1000000' });
      const waiting = conn.request({ target: `/wait?id=${uniqueId('busy')}` });
      await conn.until('the first DATA of the flow-blocked stream', () =>
        blocked.received > 0 || blocked.finished ? true : undefined,
      );
      await conn.ping();
      blocked.reset();
      waiting.reset();
    },
  }),
  defineCheck({
    name: 'liveness.health',
    spec: '§12.2',
    title: "with 'health' negotiated, every PONG is followed right away by a valid HEALTH",
    async run(ctx) {
      const conn = await ctx.connect();
      if (!conn.features.has(Feature.HEALTH)) ctx.skip("the worker does not list 'health'");
      for (let round = 0; round < 2; round++) {
        const pong = await conn.ping();
        const next = await conn.until('the frame after the PONG (HEALTH, SPEC §12.2)', () =>
          conn.frames.find((frame) => frame.seq > pong.seq && frame.streamId === 0),
        );
        if (next.type !== FrameType.HEALTH) {
          throw new CheckFailed(`after PONG the worker sent ${describeFrame(next)}, not HEALTH (SPEC §12.2)`);
        }
        assert(
          conn.healths.some((health) => health.seq === next.seq),
          'the HEALTH payload is invalid',
        );
      }
      const health = conn.healths[conn.healths.length - 1];
      const fields = Object.entries(health)
        .filter(([key]) => key !== 'seq')
        .map(([key, value]) => `${key} ${value}`);
      ctx.note(fields.length ? fields.join(', ') : 'HEALTH with no fields');
    },
  }),
  defineCheck({
    name: 'liveness.no-health-without-feature',
    spec: '§5.3, §12.2',
    title: "when the proxy does not list 'health', PONG comes without HEALTH",
    async run(ctx) {
      const conn = await ctx.connect({ hello: { features: [] } });
      const first = await conn.ping();
      await conn.ping();
      const health = conn.frames.find((frame) => frame.type === FrameType.HEALTH);
      if (health)
        throw new CheckFailed(
          `the worker sent HEALTH (after PONG ${first.seq}) though the proxy did not list 'health'`,
        );
    },
  }),
  defineCheck({
    name: 'liveness.unsolicited-pong',
    spec: '§12.1',
    title: 'a PONG that answers no PING is ignored',
    async run(ctx) {
      const conn = await ctx.connect();
      conn.sendFrame(FrameType.PONG, 0, 0, Buffer.from('unasked!'));
      await conn.ping();
      await expectHelloWorld(conn, 'GET /hello after an unsolicited PONG');
    },
  }),
];
