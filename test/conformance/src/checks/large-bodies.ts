import { defineCheck, type Check } from '../check.js';
import { firstDifference, firstPatternMismatch, seededBytes } from '../deterministic-bytes.js';
import { assert, expectStatus, headerValue } from './expect.js';

const UPLOAD = 4 * 1024 * 1024;
const DOWNLOAD = 8 * 1024 * 1024;

export const largeBodyChecks: Check[] = [
  defineCheck({
    name: 'large.upload',
    spec: '§8.2, §9',
    title: 'a 4 MiB request body is echoed byte for byte',
    async run(ctx) {
      const conn = await ctx.connect();
      const body = seededBytes(UPLOAD, 42);
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
      expectStatus(result, 200, 'POST /echo of 4 MiB');
      const diff = firstDifference(result.body, body);
      assert(
        diff < 0,
        `POST /echo of 4 MiB: the echo differs at byte ${diff} (got ${result.body.length} bytes)`,
      );
    },
  }),
  defineCheck({
    name: 'large.download',
    spec: '§8.2, §9',
    title: 'GET /bytes?n=8388608 streams 8 MiB of the pattern, byte for byte',
    async run(ctx) {
      const conn = await ctx.connect();
      const result = await conn.request({ target: `/bytes?n=${DOWNLOAD}` }).response();
      expectStatus(result, 200, `GET /bytes?n=${DOWNLOAD}`);
      assert(result.body.length === DOWNLOAD, `GET /bytes?n=${DOWNLOAD}: got ${result.body.length} bytes`);
      const mismatch = firstPatternMismatch(result.body);
      assert(mismatch < 0, `GET /bytes?n=${DOWNLOAD}: byte ${mismatch} is off the pattern (i mod 251)`);
      const length = headerValue(result.head?.headers, 'content-length');
      assert(
        length === undefined || Number(length) === DOWNLOAD,
        `content-length ${length} but ${DOWNLOAD} bytes sent`,
      );
    },
  }),
  defineCheck({
    name: 'large.upload-chunked',
    spec: '§7.2, §9',
    title: 'a 2 MiB body of unknown length in odd-sized DATA frames is echoed byte for byte',
    async run(ctx) {
      const conn = await ctx.connect();
      const body = seededBytes(2 * 1024 * 1024, 7);
      const stream = conn.request(
        { method: 'POST', target: '/echo', bodyLength: null },
        { endStream: false },
      );
      await stream.sendBody(body, { frameSize: 7777, end: false });
      stream.end();
      const result = await stream.response();
      expectStatus(result, 200, 'POST /echo of 2 MiB with body_length nil');
      const diff = firstDifference(result.body, body);
      assert(
        diff < 0,
        `POST /echo of 2 MiB chunked: the echo differs at byte ${diff} (got ${result.body.length} bytes)`,
      );
    },
  }),
];
