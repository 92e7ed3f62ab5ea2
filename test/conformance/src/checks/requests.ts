import { Limits } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import { MpUint32 } from '../msgpack-builder.js';
import { assert, describeResult, expectHelloWorld, expectStatus, get, headerValue } from './expect.js';

export const requestChecks: Check[] = [
  defineCheck({
    name: 'request.get',
    spec: '§7, §8.1, §8.2',
    title: 'GET /hello is answered 200 "Hello, World!": RESPONSE, then DATA, then END_STREAM',
    async run(ctx) {
      const conn = await ctx.connect();
      await expectHelloWorld(conn, 'GET /hello');
      const type = headerValue(conn.stream(1)?.final?.headers, 'content-type');
      if (type) ctx.note(`content-type ${type}`);
    },
  }),
  defineCheck({
    name: 'request.post-echo',
    spec: '§7, §8.2',
    title: 'POST /echo with a short body is echoed',
    async run(ctx) {
      const conn = await ctx.connect();
      const body = Buffer.from('ping-pong 0123456789', 'latin1');
      const stream = conn.request({
        method: 'POST',
        target: '/echo',
        bodyLength: body.length,
        headers: [
          ['host', 'conformance.test'],
          ['content-type', 'application/octet-stream'],
          ['content-length', String(body.length)],
        ],
      });
      await stream.sendBody(body);
      const result = await stream.response();
      expectStatus(result, 200, 'POST /echo');
      assert(result.body.equals(body), `POST /echo: expected the body echoed, got ${describeResult(result)}`);
    },
  }),
  defineCheck({
    name: 'request.empty-body',
    spec: '§7',
    title: 'POST /echo with END_STREAM on REQUEST (no body) is answered 200 with an empty body',
    async run(ctx) {
      const conn = await ctx.connect();
      const result = await conn
        .request({
          method: 'POST',
          target: '/echo',
          bodyLength: 0,
          headers: [
            ['host', 'conformance.test'],
            ['content-length', '0'],
          ],
        })
        .response();
      expectStatus(result, 200, 'POST /echo without a body');
      assert(
        result.body.length === 0,
        `POST /echo without a body: expected an empty body, got ${describeResult(result)}`,
      );
    },
  }),
  defineCheck({
    name: 'request.chunked',
    spec: '§7, §7.2',
    title: 'a body of unknown length (body_length nil) in uneven DATA frames, the last one empty, is echoed',
    async run(ctx) {
      const conn = await ctx.connect();
      const stream = conn.request(
        { method: 'POST', target: '/echo', bodyLength: null, headers: [['host', 'conformance.test']] },
        { endStream: false },
      );
      const parts = ['a', 'bcdefghij', 'k'.repeat(3000), 'lmnop'].map((part) => Buffer.from(part, 'latin1'));
      for (const part of parts) await stream.sendBody(part, { end: false });
      stream.end();
      const result = await stream.response();
      expectStatus(result, 200, 'POST /echo with body_length nil');
      const expected = Buffer.concat(parts);
      assert(
        result.body.equals(expected),
        `POST /echo with body_length nil: expected ${expected.length} bytes echoed, got ${describeResult(result)}`,
      );
    },
  }),
  defineCheck({
    name: 'request.app-error',
    spec: '§8.1, §10',
    title: 'an app that throws before answering gives 500, and the connection goes on',
    async run(ctx) {
      const conn = await ctx.connect();
      const result = await get(conn, '/error');
      expectStatus(result, 500, 'GET /error (the app throws)');
      await expectHelloWorld(conn, 'GET /hello after GET /error on the same connection');
    },
  }),
  defineCheck({
    name: 'request.max-stream-id',
    spec: '§4.1, §6.1',
    title: 'stream id 4294967295 (the largest u32) works',
    async run(ctx) {
      const conn = await ctx.connect();
      const result = await conn.request({ target: '/hello' }, { streamId: Limits.MAX_STREAM_ID }).response();
      expectStatus(result, 200, `GET /hello on stream ${Limits.MAX_STREAM_ID}`);
    },
  }),
  defineCheck({
    name: 'request.sequential',
    spec: '§6.1',
    title: '40 requests one after another on one connection, stream ids increasing with gaps',
    async run(ctx) {
      const conn = await ctx.connect();
      let id = 0;
      for (let i = 0; i < 40; i++) {
        id += 1 + (i % 3);
        const result = await conn.request({ target: '/hello' }, { streamId: id }).response();
        expectStatus(result, 200, `GET /hello on stream ${id}`);
      }
    },
  }),
  defineCheck({
    name: 'request.unknown-environ-keys',
    spec: '§7',
    title: 'unknown environ keys (with nested values) are ignored',
    async run(ctx) {
      const conn = await ctx.connect();
      const result = await conn
        .request({
          target: '/hello',
          extra: [
            ['x_future', { a: [1, 2, { b: null }], c: Buffer.from([0, 1, 2]) }],
            ['priority', 3],
          ],
        })
        .response();
      expectStatus(result, 200, 'GET /hello with unknown environ keys');
    },
  }),
  defineCheck({
    name: 'request.any-key-order',
    spec: '§7.2',
    title: 'an environ with keys in reverse order and integers in wide forms is accepted',
    async run(ctx) {
      const conn = await ctx.connect();
      const result = await conn
        .request({
          target: '/hello',
          reverseKeys: true,
          override: {
            client_port: new MpUint32(40000),
            server_port: new MpUint32(80),
            body_length: new MpUint32(0),
          },
        })
        .response();
      expectStatus(result, 200, 'GET /hello with a reordered environ');
    },
  }),
];
