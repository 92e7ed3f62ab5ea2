import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import type { RequestSpec } from '../environ-builder.js';
import { CheckFailed } from '../errors.js';
import { assert, describeResult, expectStatus } from './expect.js';

/** What `GET /environ` reports (README "route contract"): strings are the bytes as ISO-8859-1. */
interface SeenEnviron {
  method?: string | null;
  path?: string | null;
  query?: string | null;
  headers?: Array<[string, string]> | null;
  client_addr?: string | null;
  client_port?: number | string | null;
  scheme?: string | null;
  server_name?: string | null;
  request_id?: string | null;
}

/** The request every environ check sends, with values a worker could plausibly mangle. */
const REQUEST: RequestSpec = {
  method: 'PURGE',
  target: '/environ?a=1&b=two%20words&c=%E2%9C%93&d',
  headers: [
    ['host', 'conformance.test:8443'],
    ['x-conformance', 'yes'],
    ['x-dup', 'first'],
    ['accept', '*/*'],
    ['x-dup', 'second'],
    ['x-bytes', Buffer.from([0xff, 0xfe, 0x80, 0x61, 0x62, 0x63])],
    ['x-utf8', Buffer.from('caf\u00e9 \u2713', 'utf8')],
  ],
  scheme: 'https',
  clientAddr: '203.0.113.7',
  clientPort: 54321,
  serverAddr: '198.51.100.1',
  serverPort: 8443,
  serverName: 'conformance.test',
  requestId: 'conformance-request-id-0123456789',
};

async function seenEnviron(ctx: CheckContext): Promise<SeenEnviron> {
  return ctx.shared('environ', async (scenarioCtx) => {
    const conn = await scenarioCtx.connect();
    const result = await conn.request(REQUEST).response();
    expectStatus(result, 200, 'PURGE /environ');
    if (conn.violations.length > 0) throw new CheckFailed(conn.violations.join('; '));
    try {
      return JSON.parse(result.body.toString('utf8')) as SeenEnviron;
    } catch {
      throw new CheckFailed(`GET /environ did not answer JSON: ${describeResult(result)}`);
    }
  });
}

/** Header values per name as the app saw them; duplicates may be joined with commas (fetch, WSGI). */
function valuesOf(seen: SeenEnviron, name: string): string[] | undefined {
  if (!Array.isArray(seen.headers))
    throw new CheckFailed(`/environ reports no headers list: ${JSON.stringify(seen.headers)}`);
  const values = seen.headers.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);
  if (values.length === 0) return undefined;
  return values.flatMap((value) => value.split(',').map((part) => part.trim()));
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}

function expectField(
  seen: SeenEnviron,
  key: keyof SeenEnviron,
  expected: string | number,
  what: string,
): void {
  const value = seen[key];
  if (value === null || value === undefined) {
    throw new CheckFailed(`${what}: the app saw no ${key} (the worker did not pass environ.${key} on to it)`);
  }
  assert(
    String(value) === String(expected),
    `${what}: the app saw ${key} ${JSON.stringify(value)}, expected ${JSON.stringify(expected)}`,
  );
}

export const environChecks: Check[] = [
  defineCheck({
    name: 'environ.method-path-query',
    spec: '§7.1, §7.2',
    title: 'the app sees the method as sent (PURGE), the path, and the raw query with its percent-encoding',
    async run(ctx) {
      const seen = await seenEnviron(ctx);
      expectField(seen, 'method', 'PURGE', 'method');
      expectField(seen, 'path', '/environ', 'path');
      expectField(seen, 'query', 'a=1&b=two%20words&c=%E2%9C%93&d', 'query');
    },
  }),
  defineCheck({
    name: 'environ.headers',
    spec: '§7.2',
    title: 'the app sees every request header with its value',
    async run(ctx) {
      const seen = await seenEnviron(ctx);
      for (const [name, value] of [
        ['x-conformance', 'yes'],
        ['accept', '*/*'],
        ['host', 'conformance.test:8443'],
      ]) {
        const values = valuesOf(seen, name);
        assert(
          values?.includes(value),
          `the app saw ${name}: ${JSON.stringify(values ?? null)}, expected ${JSON.stringify(value)}`,
        );
      }
    },
  }),
  defineCheck({
    name: 'environ.duplicate-headers',
    spec: '§7.2',
    title: 'both x-dup headers reach the app, in order (as two fields, or joined with a comma)',
    async run(ctx) {
      const values = valuesOf(await seenEnviron(ctx), 'x-dup');
      assert(
        JSON.stringify(values) === JSON.stringify(['first', 'second']),
        `the app saw x-dup: ${JSON.stringify(values ?? null)}, expected "first" then "second"`,
      );
    },
  }),
  defineCheck({
    name: 'environ.non-utf8-header',
    spec: '§7.1',
    title:
      'header bytes that are not UTF-8 (ff fe 80) and UTF-8 bytes arrive unchanged, one code point per byte',
    async run(ctx) {
      const seen = await seenEnviron(ctx);
      const bytes = valuesOf(seen, 'x-bytes');
      const expected = latin1(Buffer.from([0xff, 0xfe, 0x80, 0x61, 0x62, 0x63]));
      assert(
        bytes?.[0] === expected,
        `the app saw x-bytes ${JSON.stringify(bytes ?? null)}, expected ${JSON.stringify(expected)} (bytes ff fe 80 "abc" as ISO-8859-1)`,
      );
      const utf8 = valuesOf(seen, 'x-utf8');
      const expectedUtf8 = latin1(Buffer.from('caf\u00e9 \u2713', 'utf8'));
      assert(
        utf8?.[0] === expectedUtf8,
        `the app saw x-utf8 ${JSON.stringify(utf8 ?? null)}, expected ${JSON.stringify(expectedUtf8)} (the UTF-8 bytes as ISO-8859-1)`,
      );
    },
  }),
  defineCheck({
    name: 'environ.client-address',
    spec: '§7.2',
    title: 'the app sees client_addr 203.0.113.7 and client_port 54321',
    async run(ctx) {
      const seen = await seenEnviron(ctx);
      expectField(seen, 'client_addr', '203.0.113.7', 'client address');
      expectField(seen, 'client_port', 54321, 'client port');
    },
  }),
  defineCheck({
    name: 'environ.scheme-server-name',
    spec: '§7.2',
    title: 'the app sees scheme https and server_name conformance.test',
    async run(ctx) {
      const seen = await seenEnviron(ctx);
      expectField(seen, 'scheme', 'https', 'scheme');
      expectField(seen, 'server_name', 'conformance.test', 'server name');
    },
  }),
  defineCheck({
    name: 'environ.request-id',
    spec: '§7.2',
    title: 'the app sees the request id',
    async run(ctx) {
      expectField(await seenEnviron(ctx), 'request_id', 'conformance-request-id-0123456789', 'request id');
    },
  }),
];
