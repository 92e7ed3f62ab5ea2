import { METHODS } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParseErrorCode } from '../../../proxy/src/http/http-errors.js';
import { REQUEST_METHODS } from '../../../proxy/src/http/request-methods.js';
import { LlhttpOracle, type LlhttpRequest } from './llhttp-harness.js';
import { bytes, parse, type ParseOutcome } from './parse-helpers.js';
import { H, REFUSALS } from './refusal-corpus.js';

/**
 * Differential test against node's own parser (llhttp, through node:http on 127.0.0.1): valid
 * requests must parse to the same method, target, headers, body and trailers in both, and every
 * request llhttp refuses must be refused by ours too. Where ours refuses and llhttp accepts, the
 * case must be listed here with the reason; the list is checked both ways, so it stays exact.
 */
const STRICTER_THAN_LLHTTP: Record<string, string> = {
  'TE empty': 'an empty Transfer-Encoding names no coding: the framing is unreadable, not absent',
  'TE with an empty member':
    'empty list members in a framing field are a smuggling shape (RFC 9110 §5.6.1 lets us refuse)',
  'TE gzip, chunked (well-formed, not implemented)':
    'llhttp strips the chunked layer and passes gzip bytes as the body; RFC 9112 §6.1 says 501 for a coding we do not implement',
  'TE in HTTP/1.0': 'RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing',
  'two spaces after the method':
    'RFC 9112 §3: single SP; splitting on whitespace runs is a MAY we do not take',
  'lone CR before the request line': 'a bare CR is never a line ending (RFC 9112 §2.2)',
  'two spaces before the version': 'as two spaces after the method',
  'bare LF before the request line': 'we refuse bare LF everywhere; llhttp skips leading LFs',
  'fragment in target': 'a request-target has no fragment (RFC 9112 §3.2); llhttp passes `#…` on',
  'malformed percent-encoding in path':
    'stacks decode a bad escape differently: ambiguous for routing (nginx refuses it too)',
  'truncated percent-encoding in path': 'same as a malformed escape',
  'asterisk-form without OPTIONS': 'RFC 9112 §3.2.4: asterisk-form is only for OPTIONS',
  'absolute-form with another scheme': 'we serve http and https URIs only',
  'absolute-form without a host': 'RFC 9110 §4.2.1: an http URI with an empty host is invalid',
  'absolute-form with userinfo': 'RFC 9110 §4.2.4: userinfo is refused',
  'absolute-form with a bad port': 'RFC 3986 §3.2.3: port = *DIGIT',
  'HTTP/2.0': 'we speak HTTP/1.0 and 1.1 only: 505 (llhttp parses a 2.0 request line as HTTP/1)',
  'HTTP/0.9 version': 'as HTTP/2.0',
  'HTTP/0.9-style request line': 'an HTTP/0.9 request cannot be answered in HTTP/1.x framing: 505',
  'two Host fields': 'RFC 9112 §3.2: a server MUST respond 400 to more than one Host field',
  'Host with a space': 'RFC 9112 §3.2: a server MUST respond 400 to an invalid Host',
  'Host with a slash': 'as above',
  'Host with userinfo': 'as above',
  'Host port over 65535': 'as above',
  'Host empty port': 'as above (RFC 3986 allows an empty port; no client sends one)',
  'Host two ports': 'as above',
  'Host unclosed IPv6': 'as above',
  'Host IPvFuture': 'as above: IPv6 literals only',
  'Host bad percent-encoding': 'as above',
  'expectation list':
    'RFC 9110 §10.1.1: a member other than 100-continue may get 417; node finds 100-continue anywhere in the list',
  'chunk size with 17 digits': 'we bound chunk-size digits (leading zeros included) at 16',
  'extension without value': 'RFC 9112 §7.1.1: `=` must be followed by a token or quoted-string',
  'extension value without name': 'RFC 9112 §7.1.1: an extension needs a name',
  'Content-Length over the body limit': 'maxBodyBytes (llhttp has no body limit)',
  'chunked body over the limit': 'maxBodyBytes',
  'huge chunk size': 'maxBodyBytes',
  'target over the limit': 'maxTargetBytes (node:http bounds the whole head only)',
  'too many fields': 'maxHeaderCount',
  'too many trailer fields': 'maxHeaderCount applies to trailers too',
};

/** Codes under which ours may refuse what llhttp accepts, in the fuzz below: the categories listed above. */
const STRICTER_CODES = new Set<ParseErrorCode>([
  'INVALID_TRANSFER_ENCODING',
  'UNSUPPORTED_TRANSFER_ENCODING',
  'TRANSFER_ENCODING_IN_HTTP10',
  'INVALID_REQUEST_LINE',
  'BARE_CR',
  'BARE_LF',
  'INVALID_TARGET',
  'UNSUPPORTED_VERSION',
  'DUPLICATE_HOST',
  'INVALID_HOST',
  'CHUNK_SIZE_TOO_LONG',
  'INVALID_CHUNK_EXTENSION',
  'BODY_TOO_LARGE',
  'TARGET_TOO_LONG',
  'TOO_MANY_HEADERS',
  'TRAILERS_TOO_LARGE',
  'UNSUPPORTED_EXPECTATION',
]);

const VALID: string[] = [
  `GET / HTTP/1.1\r\n${H}\r\n`,
  `GET /a/b%20c?x=1&y=%zz&z HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nUser-Agent: curl/8\r\n\r\n`,
  `GET /q?json={"a":[1,2]}|^\`x\` HTTP/1.1\r\n${H}\r\n`,
  `GET / HTTP/1.1\r\n${H}X-A:\t a  b \t\r\nX-Empty:\r\nX-Latin: caf\xe9 \xff\r\nx-a: second\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: \r\n\r\n`,
  'GET / HTTP/1.0\r\n\r\n',
  'GET /k HTTP/1.0\r\nConnection: keep-alive\r\nHost: a\r\n\r\n',
  `POST /u HTTP/1.1\r\n${H}Content-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world`,
  `POST /u HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
  `POST /u HTTP/1.1\r\n${H}Content-Length: 005\r\n\r\nhello`,
  `PUT /b HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\n\x00\x01\xfe\xff`,
  `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
  `POST / HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\n\r\nA;name=value;q="a \\"b\\""\r\n0123456789\r\n0\r\nX-Sum: 1\r\nX-Other: two\r\n\r\n`,
  `POST / HTTP/1.1\r\n${H}Transfer-Encoding:  chunked  \r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
  `POST / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\nok`,
  `GET http://origin.example/p?q=1 HTTP/1.1\r\nHost: origin.example\r\n\r\n`,
  `GET https://origin.example HTTP/1.1\r\nHost: origin.example\r\n\r\n`,
  `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
  `\r\nGET /after-crlf HTTP/1.1\r\n${H}\r\n`,
  `HEAD /h HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  `DELETE /d HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc`,
  `GET / HTTP/1.1\r\n${H}Cookie: a=1; b=2\r\nAuthorization: Bearer x.y.z\r\nX-Long: ${'v'.repeat(4000)}\r\n\r\n`,
  ...[...REQUEST_METHODS].map(
    (m) => `${m} ${m === 'OPTIONS' ? '*' : '/m'} HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
  ),
];

function ours(outcome: ParseOutcome, index = 0): LlhttpRequest {
  const m = outcome.messages[index];
  return {
    method: m.head.method,
    target: m.head.target,
    headers: m.head.headers,
    body: m.body,
    trailers: m.trailers ?? [],
  };
}

describe('differential: our parser against llhttp (node:http)', () => {
  const oracle = new LlhttpOracle();
  beforeAll(() => oracle.start());
  afterAll(() => oracle.stop());

  it('serves only methods llhttp knows (a subset of http.METHODS, without CONNECT)', () => {
    for (const method of REQUEST_METHODS) expect(METHODS).toContain(method);
    expect(REQUEST_METHODS.has('CONNECT')).toBe(false);
  });

  it.each(VALID.map((input) => [JSON.stringify(input.slice(0, 60)), input]))(
    'parses %s like llhttp',
    async (_label, input) => {
      const outcome = parse(input);
      expect(outcome.error).toBeNull();
      const verdict = await oracle.judge(bytes(input));
      expect(verdict.error).toBeNull();
      expect(verdict.requests).toHaveLength(1);
      expect(ours(outcome)).toEqual(verdict.requests[0]);
    },
  );

  it('refuses everything llhttp refuses in the refusal corpus, and the stricter list is exact', async () => {
    const stricter: string[] = [];
    for (const [label, input] of REFUSALS) {
      expect(parse(input).error, label).not.toBeNull();
      const verdict = await oracle.judge(bytes(input));
      // Accepted by llhttp: it completed the request, or took the head and waits for the body.
      if (verdict.error === null) {
        expect(verdict.heads, `llhttp neither accepted nor refused: ${label}`).toBeGreaterThan(0);
        stricter.push(label);
      }
    }
    expect(stricter.sort()).toEqual(Object.keys(STRICTER_THAN_LLHTTP).sort());
  });

  it('agrees with llhttp on mutated requests: refused by llhttp ⇒ refused by us; both accept ⇒ same result', async () => {
    const bases = VALID.filter((input) => input.length < 600);
    const alphabet = [
      '\r',
      '\n',
      '\r\n',
      '\t',
      ' ',
      ':',
      ';',
      ',',
      '"',
      '\x00',
      '\x0b',
      '\x7f',
      '\x80',
      'a',
      'A',
      '0',
      'f',
      '-',
      '/',
      '?',
      '#',
      '%',
    ];
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...alphabet) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), text: fc.constant('') }),
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom(...alphabet) }),
    );
    let compared = 0;
    let skipped = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...bases),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (base, mutations) => {
          let input = base;
          for (const m of mutations) {
            const at = m.at % (input.length + 1);
            if (m.kind === 'insert') input = input.slice(0, at) + m.text + input.slice(at);
            else if (m.kind === 'delete') input = input.slice(0, at) + input.slice(at + 1);
            else input = input.slice(0, at) + m.text + input.slice(at + 1);
          }
          const outcome = parse(input);
          const expected = outcome.messages.length + (outcome.error !== null ? 1 : 0);
          const verdict = await oracle.judge(bytes(input), Math.max(1, expected));
          const context = `${JSON.stringify(input)}\nours: ${outcome.messages.length} + ${outcome.error?.code ?? 'ok'}; llhttp: ${verdict.requests.length} + ${verdict.error ?? 'ok'}`;
          if (
            outcome.messages.length === 0 &&
            outcome.error === null &&
            verdict.heads === 0 &&
            verdict.error === null
          ) {
            skipped++; // both still wait for a head
            return;
          }
          const count = Math.max(outcome.messages.length, verdict.requests.length);
          for (let i = 0; i < count; i++) {
            if (i < outcome.messages.length && i < verdict.requests.length) {
              expect(ours(outcome, i), context).toEqual(verdict.requests[i]);
            } else if (i < outcome.messages.length) {
              // We completed a request llhttp did not: it must not be one llhttp refused.
              expect(verdict.error, context).toBeNull();
              expect(verdict.heads, `boundary disagreement: ${context}`).toBeGreaterThan(i);
            } else {
              // llhttp completed a request we did not: we must have refused it, for a listed reason.
              expect(outcome.error, context).not.toBeNull();
              expect(STRICTER_CODES.has(outcome.error!.code), context).toBe(true);
            }
          }
          if (verdict.error !== null && outcome.error === null) {
            // llhttp refused after its complete requests: we must not accept more than it did.
            expect(outcome.messages.length, context).toBeLessThanOrEqual(verdict.requests.length);
          }
          compared++;
        },
      ),
      // A fixed seed keeps CI stable; HTTP_FUZZ_SEED / HTTP_FUZZ_RUNS explore further by hand.
      {
        seed: Number(process.env.HTTP_FUZZ_SEED ?? 4242),
        numRuns: Number(process.env.HTTP_FUZZ_RUNS ?? 400),
      },
    );
    expect(compared).toBeGreaterThan(skipped * 3);
  });
});
