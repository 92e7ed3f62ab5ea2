import { Feature, Limits } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import { seededBytes, firstDifference } from '../deterministic-bytes.js';
import type { PeerConnection } from '../peer-connection.js';
import type { PeerStream } from '../peer-stream.js';
import { assert, describeResult, expectStatus } from './expect.js';

const UPGRADE_HEADERS: Array<[string, string]> = [
  ['host', 'conformance.test'],
  ['connection', 'upgrade'],
  ['upgrade', 'websocket'],
  ['sec-websocket-version', '13'],
  ['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ=='],
];

/** SPEC §13.1: an upgrade request goes without END_STREAM, and no DATA until the final RESPONSE. */
async function openTunnel(
  ctx: CheckContext,
  window: number,
): Promise<{ conn: PeerConnection; stream: PeerStream }> {
  const conn = await ctx.connect({ hello: { initialWindow: window } });
  if (!conn.features.has(Feature.UPGRADE)) ctx.skip("the worker does not list 'upgrade'");
  const stream = conn.request(
    { target: '/tunnel', headers: UPGRADE_HEADERS, upgrade: 'websocket' },
    { endStream: false },
  );
  const head = await stream.head();
  assert(head.status === 101, `GET /tunnel with upgrade: expected 101, got status ${head.status}`);
  assert(!stream.ended, 'the 101 RESPONSE carries END_STREAM; a tunnel stays open (SPEC §13)');
  return { conn, stream };
}

async function echoed(
  conn: PeerConnection,
  stream: PeerStream,
  length: number,
  what: string,
): Promise<Buffer> {
  await conn.until(`${what}: ${length} bytes echoed through the tunnel`, () => {
    if (stream.received >= length) return true;
    if (stream.finished) return true;
    return undefined;
  });
  return stream.body();
}

export const upgradeChecks: Check[] = [
  defineCheck({
    name: 'upgrade.tunnel-echo',
    spec: '§13, §9',
    title:
      "with 'upgrade' negotiated, GET /tunnel gets 101 and 64 KiB echo back through the tunnel within window 1024",
    async run(ctx) {
      const { conn, stream } = await openTunnel(ctx, Limits.MIN_INITIAL_WINDOW);
      const message = Buffer.from('hello tunnel\n');
      await stream.sendBody(message, { end: false });
      const first = await echoed(conn, stream, message.length, 'a first message');
      assert(
        first.subarray(0, message.length).equals(message),
        `the tunnel echoed ${JSON.stringify(first.toString('latin1'))}`,
      );
      const bulk = seededBytes(64 * 1024, 5);
      await stream.sendBody(bulk, { end: false });
      const all = await echoed(conn, stream, message.length + bulk.length, '64 KiB');
      const expected = Buffer.concat([message, bulk]);
      const diff = firstDifference(all, expected);
      assert(diff < 0, `the tunnel echo differs at byte ${diff} (got ${all.length} of ${expected.length})`);
      stream.end();
      await stream.response('the worker to end its side of the tunnel after the proxy did (SPEC §13.2)');
    },
  }),
  defineCheck({
    name: 'upgrade.half-close',
    spec: '§13.2',
    title: 'after the proxy half-closes the tunnel, the worker still delivers the echo, then ends its side',
    async run(ctx) {
      const { stream } = await openTunnel(ctx, 65_536);
      const last = Buffer.from('last words');
      await stream.sendBody(last, { end: true });
      const result = await stream.response('the echo and END_STREAM after the half-close');
      assert(!result.reset, `after the half-close the worker reset the tunnel: ${describeResult(result)}`);
      assert(
        result.body.equals(last),
        `after the half-close the tunnel delivered ${JSON.stringify(result.body.toString('latin1'))}`,
      );
    },
  }),
  defineCheck({
    name: 'upgrade.declined',
    spec: '§13.3',
    title: 'an upgrade request to a route that answers normally gets an ordinary response',
    async run(ctx) {
      const conn = await ctx.connect();
      if (!conn.features.has(Feature.UPGRADE)) ctx.skip("the worker does not list 'upgrade'");
      const stream = conn.request(
        { target: '/hello', headers: UPGRADE_HEADERS, upgrade: 'websocket' },
        { endStream: false },
      );
      const head = await stream.head();
      stream.end(); // SPEC §13.3: the request had no body
      const result = await stream.response();
      expectStatus(result, 200, `GET /hello with upgrade (status ${head.status})`);
      assert(
        result.body.toString('latin1') === 'Hello, World!',
        `GET /hello with upgrade: got ${describeResult(result)}`,
      );
    },
  }),
];
