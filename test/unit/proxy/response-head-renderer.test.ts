import fc from 'fast-check';
import { decodeResponseHead, FrameEncoder, ProtocolError, type HeaderPairs } from '@gatewire/protocol';
import { describe, expect, it } from 'vitest';
import { connectionListedNames, stripResponseHopByHop } from '../../../proxy/src/dispatch/hop-by-hop.js';
import {
  INVALID,
  NEEDS_GENERAL_PATH,
  RENDERED,
  RenderedResponseFields,
  renderResponseFields,
} from '../../../proxy/src/dispatch/response-head-renderer.js';
import { validateResponseHead } from '../../../proxy/src/dispatch/response-head-validation.js';
import { ResponseHeaderScan, scanResponseHeaders } from '../../../proxy/src/http/response-head-writer.js';
import { RawResponseHead, readResponseHead } from '../../../proxy/src/upstream/response-head-reader.js';

/**
 * The upstream fast path (SPEC §8.1) must decide exactly what the general path decides: the
 * reader what decodeResponseHead decides about a payload, the renderer what validation, hop-by-hop
 * stripping and the front's header scan decide about the fields.
 */

function payloadOf(status: number, headers: HeaderPairs, reason = ''): Buffer {
  const encoder = new FrameEncoder();
  encoder.response(1, { status, headers, reason }, false);
  return encoder.takeBuffer().subarray(10);
}

function read(payload: Buffer): RawResponseHead {
  const head = new RawResponseHead();
  readResponseHead(payload, head);
  return head;
}

function render(headers: HeaderPairs, status = 200): { outcome: number; out: RenderedResponseFields } {
  const out = new RenderedResponseFields();
  const outcome = renderResponseFields(read(payloadOf(status, headers)), status === 204, out);
  return { outcome, out };
}

/** Field lines, sorted; the content-length line as the fast path writes it (lowercase name, no leading zeros). */
function lines(text: string): string[] {
  return text
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) =>
      /^content-length:/i.test(line) ? `content-length: ${Number(line.slice(line.indexOf(':') + 1))}` : line,
    )
    .sort();
}

/** What the general path makes of the same fields: null when it refuses them. */
function generalPath(headers: HeaderPairs, status = 200): ResponseHeaderScan | null {
  if (validateResponseHead({ status, headers, reason: '' }) !== null) return null;
  const scan = new ResponseHeaderScan();
  scanResponseHeaders(stripResponseHopByHop(headers, false), status === 204, scan);
  return scan;
}

const tokenChar = fc.constantFrom(
  ..."!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
);
const name = fc.oneof(
  fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 }),
  fc.constantFrom(
    'content-type',
    'Content-Length',
    'content-length',
    'date',
    'DATE',
    'keep-alive',
    'Transfer-Encoding',
    'te',
    'TE',
    'upgrade',
    'Trailer',
    'proxy-connection',
    'set-cookie',
    'Connection',
  ),
  fc.string({ maxLength: 6 }).map((s) => Array.from(s, (c) => (c.charCodeAt(0) > 0xff ? 'x' : c)).join('')), // sometimes not a token
);
const value = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.constantFrom('13', '0', '013', '12, 12', 'x', '', '99999999999999999'),
  fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 8 }),
);

describe('readResponseHead: the structure check of decodeResponseHead, without strings', () => {
  it('reads status, reason and the pairs of a valid head', () => {
    const headers: HeaderPairs = [
      ['content-type', 'text/plain'],
      ['x-bytes', '\u00e9\u00ff'],
    ];
    const head = read(payloadOf(404, headers, 'Nope'));
    expect(head.status).toBe(404);
    expect(head.reason).toBe('Nope');
    expect(head.headerCount).toBe(2);
    expect(head.pairs()).toEqual(headers);
  });

  it('property: any payload is accepted or refused as decodeResponseHead does, with the same pairs', () => {
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
      fc
        .tuple(fc.integer({ min: 0, max: 1000 }), fc.array(fc.tuple(name, value), { maxLength: 5 }))
        .chain(([status, headers]) => {
          const valid = payloadOf(status, headers as HeaderPairs);
          return fc.oneof(
            fc.constant(valid),
            // damage one byte, or cut the payload short
            fc
              .tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }))
              .map(([at, byte]) =>
                Buffer.concat([valid.subarray(0, at), Buffer.from([byte]), valid.subarray(at + 1)]),
              ),
            fc.nat(valid.length - 1).map((cut) => valid.subarray(0, cut)),
          );
        }),
    );
    fc.assert(
      fc.property(payloads, (payload) => {
        let expected: ReturnType<typeof decodeResponseHead> | string;
        try {
          expected = decodeResponseHead(payload);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          expected = error.code;
        }
        let actual: RawResponseHead | string;
        try {
          actual = read(payload);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          actual = error.code;
        }
        if (expected === 'INVALID_HEAD') {
          // A status out of range: the reader leaves the range to the connection (a stream error)
          // when the rest is well-formed. decodeResponseHead stops at the status, so it calls a
          // malformed payload INVALID_HEAD too; the reader reads on and calls it BAD_PAYLOAD.
          if (actual === 'BAD_PAYLOAD') return;
          expect(typeof actual).toBe('object');
          const head = actual as RawResponseHead;
          expect(head.status < 100 || head.status > 599).toBe(true);
          return;
        }
        if (typeof expected === 'string') {
          expect(actual).toBe(expected);
          return;
        }
        const head = actual as RawResponseHead;
        expect(head.status).toBe(expected.status);
        expect(head.reason).toBe(expected.reason);
        expect(head.pairs()).toEqual(expected.headers);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('renderResponseFields: the general path in one pass over the bytes', () => {
  it('renders the usual head, content-length last and kept for the front to enforce', () => {
    const { outcome, out } = render([
      ['Content-Length', '13'],
      ['content-type', 'text/plain'],
    ]);
    expect(outcome).toBe(RENDERED);
    expect(out.lines.toString('latin1')).toBe('content-type: text/plain\r\ncontent-length: 13\r\n');
    expect(out.contentLength).toBe(13);
    expect(out.hasDate).toBe(false);
  });

  it('drops hop-by-hop and framing fields, in any case', () => {
    const { outcome, out } = render([
      ['Keep-Alive', 'timeout=5'],
      ['Transfer-Encoding', 'chunked'],
      ['TE', 'trailers'],
      ['Upgrade', 'h2c'],
      ['trailer', 'x-sum'],
      ['Proxy-Connection', 'close'],
      ['x-kept', 'yes'],
      ['Date', 'Thu, 01 Jan 1970 00:00:00 GMT'],
    ]);
    expect(outcome).toBe(RENDERED);
    expect(out.lines.toString('latin1')).toBe('x-kept: yes\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n');
    expect(out.hasDate).toBe(true);
    expect(out.contentLength).toBe(-1);
  });

  it('equal content-lengths count once; conflicting or malformed ones are all dropped; 204 drops them', () => {
    expect(
      render([
        ['content-length', '5'],
        ['Content-Length', '5'],
      ]).out.lines.toString(),
    ).toBe('content-length: 5\r\n');
    for (const headers of [
      [
        ['content-length', '5'],
        ['content-length', '6'],
      ],
      [['content-length', '5, 5']],
      [['content-length', '-1']],
      [['content-length', '']],
    ] as HeaderPairs[]) {
      const { outcome, out } = render(headers);
      expect(outcome).toBe(RENDERED);
      expect(out.contentLength).toBe(-1);
      expect(out.lines.length).toBe(0);
    }
    expect(render([['content-length', '5']], 204).out.lines.length).toBe(0);
  });

  it('refuses names that are not tokens and values with controls, naming the field', () => {
    const badName = render([['bad name', 'x']]);
    expect(badName.outcome).toBe(INVALID);
    expect(badName.out.problem).toMatch(/header 0 has a name that is not an HTTP token: "bad name"/);
    expect(render([['', 'x']]).outcome).toBe(INVALID);
    for (const bad of ['a\rb', 'a\nb', 'a\u0000b', '\u007f']) {
      const refused = render([
        ['ok', 'fine'],
        ['x-evil', bad],
      ]);
      expect(refused.outcome).toBe(INVALID);
      expect(refused.out.problem).toMatch(/"x-evil" has a value with CR, LF, NUL/);
    }
  });

  it('hands a head with a Connection field to the general path (it names more fields to drop)', () => {
    expect(render([['Connection', 'x-private']]).outcome).toBe(NEEDS_GENERAL_PATH);
  });

  it('property: the same lines, length and date as validation + hop-by-hop stripping + the header scan', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, value), { maxLength: 8 }),
        fc.constantFrom(200, 204, 304, 404),
        (pairs, status) => {
          const headers = pairs as HeaderPairs;
          const { outcome, out } = render(headers, status);
          const general = generalPath(headers, status);
          if (outcome === INVALID) {
            expect(general).toBeNull();
            return;
          }
          if (outcome === NEEDS_GENERAL_PATH) {
            expect(headers.some(([n]) => n.toLowerCase() === 'connection')).toBe(true);
            return;
          }
          expect(general).not.toBeNull();
          expect(connectionListedNames(headers)).toBeNull();
          const scan = general!;
          expect(lines(out.lines.toString('latin1'))).toEqual(lines(scan.lines));
          expect(out.contentLength).toBe(scan.contentLength >= 0 ? scan.contentLength : -1);
          expect(out.hasDate).toBe(scan.hasDate);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
