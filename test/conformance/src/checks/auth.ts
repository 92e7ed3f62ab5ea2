import { FrameType, authProof } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import { CheckFailed } from '../errors.js';
import { encodeEnvironPayload } from '../environ-builder.js';
import { rawFrame } from '../raw-frames.js';
import { assert, expectConnectionError, expectHelloWorld } from './expect.js';

/** SPEC §5.4: checks that apply when the worker's HELLO asks for the shared-secret proof. */

function requireAuth(ctx: CheckContext): Uint8Array {
  if (ctx.workerHello.auth === undefined) ctx.skip('the worker does not ask for the shared-secret proof');
  if (!ctx.secret)
    throw new CheckFailed(
      'the worker asks for the shared-secret proof; give the suite the secret (GATEWIRE_SECRET)',
    );
  return ctx.secret;
}

/** Preface and HELLO sent, the worker's HELLO received, nothing else yet. */
async function helloOnly(ctx: CheckContext) {
  const conn = await ctx.connectRaw();
  conn.sendPrefaceAndHello();
  const hello = await conn.until("the worker's HELLO", () => {
    if (conn.helloError) throw new CheckFailed(conn.helloError);
    return conn.workerHello;
  });
  return { conn, hello };
}

export const authChecks: Check[] = [
  defineCheck({
    name: 'auth.mutual-proof',
    spec: '§5.4',
    title: 'with the right proof the worker answers with its own, which verifies, and serves requests',
    async run(ctx) {
      requireAuth(ctx);
      // PeerConnection verifies the worker's proof and records a violation if it is wrong.
      const conn = await ctx.connect();
      await expectHelloWorld(conn, 'GET /hello after the shared-secret handshake');
    },
  }),
  defineCheck({
    name: 'auth.wrong-proof',
    spec: '§5.4',
    title:
      'a proof made with another secret gets GOAWAY AUTH_FAILED and a close, and no AUTH from the worker',
    async run(ctx) {
      const secret = requireAuth(ctx);
      const { conn, hello } = await helloOnly(ctx);
      const wrong = Buffer.concat([Buffer.from(secret), Buffer.from('-not')]);
      conn.markAuthSent();
      conn.write(
        rawFrame(FrameType.AUTH, 0, 0, encodeProof(authProof(wrong, 'proxy', conn.ourNonce, hello.nonce))),
      );
      await expectConnectionError(ctx, conn, 'AUTH_FAILED', 'AUTH with a proof made from another secret');
      assert(
        !conn.frames.some((frame) => frame.type === FrameType.AUTH),
        'the worker sent its own AUTH to a proxy whose proof was wrong',
      );
    },
  }),
  defineCheck({
    name: 'auth.request-before-auth',
    spec: '§5.1, §5.4',
    title: 'a REQUEST before the proxy proved the secret gets GOAWAY AUTH_FAILED and is not answered',
    async run(ctx) {
      requireAuth(ctx);
      const { conn } = await helloOnly(ctx);
      const stream = conn.declareStream(1);
      conn.write(rawFrame(FrameType.REQUEST, 1, 1, encodeEnvironPayload({ target: '/hello' })));
      await expectConnectionError(ctx, conn, 'AUTH_FAILED', 'a REQUEST before AUTH');
      assert(!stream.final, 'the worker answered a REQUEST from a proxy that had not proved the secret');
    },
  }),
  defineCheck({
    name: 'auth.ping-before-auth',
    spec: '§5.1, §5.4',
    title: 'PING is allowed before AUTH: it is answered, and the handshake then completes',
    async run(ctx) {
      requireAuth(ctx);
      const { conn } = await helloOnly(ctx);
      await conn.ping();
      await conn.handshake();
      await expectHelloWorld(conn, 'GET /hello after PING then AUTH');
    },
  }),
];

function encodeProof(proof: Buffer): Buffer {
  // { "proof": bin 8 of 32 bytes } (SPEC §5.4)
  return Buffer.concat([
    Buffer.from([0x81, 0xa5]),
    Buffer.from('proof'),
    Buffer.from([0xc4, proof.length]),
    proof,
  ]);
}
