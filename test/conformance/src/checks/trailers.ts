import { Feature } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import { assert, describeResult, expectStatus } from './expect.js';

export const trailerChecks: Check[] = [
  defineCheck({
    name: 'trailers.request',
    spec: '§5.3, §8.3',
    title: "with 'trailers' negotiated, a request body ended by TRAILERS is accepted and answered",
    async run(ctx) {
      const conn = await ctx.connect();
      if (!conn.features.has(Feature.TRAILERS)) ctx.skip("the worker does not list 'trailers'");
      const stream = conn.request(
        {
          method: 'POST',
          target: '/echo',
          bodyLength: null,
          headers: [
            ['host', 'conformance.test'],
            ['te', 'trailers'],
          ],
        },
        { endStream: false },
      );
      await stream.sendBody(Buffer.from('abc'), { end: false });
      await stream.sendBody(Buffer.from('def'), { end: false });
      stream.sendTrailers([
        ['x-checksum', 'abcdef'],
        ['x-trailer-two', '2'],
      ]);
      const result = await stream.response();
      expectStatus(result, 200, 'POST /echo ended by TRAILERS');
      assert(
        result.body.toString('latin1') === 'abcdef',
        `POST /echo ended by TRAILERS: got ${describeResult(result)}`,
      );
    },
  }),
];
