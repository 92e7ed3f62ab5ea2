import {
  FrameEncoder,
  decodeEnviron,
  decodeResponseHead,
  decodeTrailers,
  encodeGoaway,
  encodeHealth,
  encodeHello,
  encodeReset,
  type HeaderPair,
} from '@gatewire/protocol';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  environToJson,
  healthToJson,
  helloToJson,
  responseHeadToJson,
} from '../../../protocol/scripts/frame-json.js';
import { encodeCanonical, mp } from '../../../protocol/scripts/msgpack-json.js';
import { bin, isBin, type WireJson } from '../../../protocol/scripts/wire-json.js';
import { environ, headerPairs, health, hello, responseHead, text } from './arbitraries.js';

/** msgpackr as another implementation would configure it: standard msgpack only. */
const unpackr = new Unpackr({
  useRecords: false,
  moreTypes: false,
  mapsAsObjects: true,
  int64AsType: 'number',
});
const packr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true, useFloat32: 0 });

/** msgpackr's decoded value in the vectors' JSON form (bin → {"$bin"}). */
function fromMsgpackr(value: unknown): WireJson {
  if (value instanceof Uint8Array) return bin(value);
  if (Array.isArray(value)) return value.map(fromMsgpackr);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromMsgpackr(v)]));
  return value as WireJson;
}

/**
 * The JSON form as msgpackr input (bin → Buffer). Integers above 2^32 become BigInt, because
 * msgpackr writes such numbers as float 64 (see the test below); as a BigInt they are an int 64.
 */
function toMsgpackr(value: WireJson): unknown {
  if (isBin(value)) return Buffer.from(value.$bin, 'latin1');
  if (typeof value === 'number' && Number.isInteger(value) && value > 0xffff_ffff) return BigInt(value);
  if (Array.isArray(value)) return value.map(toMsgpackr);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toMsgpackr(v)]));
  return value;
}

function payloadOf(encode: (encoder: FrameEncoder) => void): Buffer {
  const encoder = new FrameEncoder();
  encoder.maxFrameSize = 16_777_215;
  encode(encoder);
  return encoder.takeBuffer().subarray(10);
}

const trailersJson = (pairs: HeaderPair[]): WireJson => pairs.map(([n, v]) => [bin(n), bin(v)]);

/** A small deterministic PRNG, so that fast-check can replay a failing encoding from its seed. */
function prng(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) as number;
  };
}

type Form = 'fix' | 8 | 16 | 32 | 64;
const pick = <T>(rand: (n: number) => number, options: T[]): T => options[rand(options.length)];

/** Any valid encoding of a JSON value: every length and int form that fits, maps shuffled, unknown keys added. */
function anyEncoding(value: WireJson, rand: (n: number) => number, depth = 1): Buffer {
  if (value === null) return mp.nil();
  if (typeof value === 'boolean') return mp.bool(value);
  if (typeof value === 'number') {
    const forms: Array<() => Buffer> = [];
    const uintForms: Form[] = ['fix', 8, 16, 32, 64];
    const limits = [0x7f, 0xff, 0xffff, 0xffff_ffff, Number.MAX_SAFE_INTEGER];
    uintForms.forEach((form, i) => value <= limits[i] && forms.push(() => mp.uint(value, form)));
    const intLimits: Array<[Form, number]> = [
      ['fix', 0x7f],
      [8, 0x7f],
      [16, 0x7fff],
      [32, 0x7fff_ffff],
      [64, Number.MAX_SAFE_INTEGER],
    ];
    for (const [form, max] of intLimits) if (value <= max) forms.push(() => mp.int(value, form as 'fix'));
    return pick(rand, forms)();
  }
  if (typeof value === 'string') {
    const length = Buffer.byteLength(value);
    const forms: Form[] = [
      ...(length < 32 ? (['fix'] as Form[]) : []),
      ...(length < 256 ? ([8] as Form[]) : []),
      16,
      32,
    ];
    return mp.str(value, pick(rand, forms));
  }
  if (isBin(value)) {
    const forms: Form[] = [...(value.$bin.length < 256 ? ([8] as Form[]) : []), 16, 32];
    return mp.bin(value.$bin, pick(rand, forms));
  }
  const lengthForm = (count: number): Form =>
    pick(rand, [...(count < 16 ? (['fix'] as Form[]) : []), 16, 32]);
  if (Array.isArray(value))
    return mp.array(
      value.map((item) => anyEncoding(item, rand, depth + 1)),
      lengthForm(value.length),
    );
  const entries: Array<[string, Buffer]> = Object.entries(value).map(([k, v]) => [
    k,
    anyEncoding(v, rand, depth + 1),
  ]);
  if (depth === 1) {
    // Unknown keys, nested no deeper than the limit allows, are ignored by the receiver (SPEC §7.2).
    for (let i = rand(3); i > 0; i--)
      entries.push([
        `x-unknown-${i}`,
        mp.array([
          mp.map([
            ['n', mp.float64(0.5)],
            ['s', mp.str('é')],
          ]),
          mp.nil(),
          mp.bin('\xff'),
        ]),
      ]);
  }
  for (let i = entries.length - 1; i > 0; i--) {
    const j = rand(i + 1);
    [entries[i], entries[j]] = [entries[j], entries[i]];
  }
  return mp.map(entries, lengthForm(entries.length));
}

describe('encoder cross-check against msgpackr and an independent encoder', () => {
  it('our environs decode identically with msgpackr, keys in canonical order', () => {
    fc.assert(
      fc.property(environ, (env) => {
        const payload = payloadOf((e) => e.request(1, env, true));
        expect(JSON.stringify(fromMsgpackr(unpackr.unpack(payload)))).toBe(
          JSON.stringify(environToJson(env)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('our response heads and trailers decode identically with msgpackr', () => {
    fc.assert(
      fc.property(responseHead, headerPairs(), (head, trailers) => {
        const headPayload = payloadOf((e) => e.response(1, head, false));
        expect(JSON.stringify(fromMsgpackr(unpackr.unpack(headPayload)))).toBe(
          JSON.stringify(responseHeadToJson(head)),
        );
        const trailersPayload = payloadOf((e) => e.trailers(1, trailers));
        expect(JSON.stringify(fromMsgpackr(unpackr.unpack(trailersPayload)))).toBe(
          JSON.stringify(trailersJson(trailers)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('our encoding is the canonical one: the smallest representation of every value (SPEC §7.2)', () => {
    fc.assert(
      fc.property(environ, responseHead, headerPairs(), (env, head, trailers) => {
        expect(payloadOf((e) => e.request(1, env, true)).toString('hex')).toBe(
          encodeCanonical(environToJson(env)).toString('hex'),
        );
        expect(payloadOf((e) => e.response(1, head, true)).toString('hex')).toBe(
          encodeCanonical(responseHeadToJson(head)).toString('hex'),
        );
        expect(payloadOf((e) => e.trailers(1, trailers)).toString('hex')).toBe(
          encodeCanonical(trailersJson(trailers)).toString('hex'),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('control payloads are canonical too, large integers as uint 64', () => {
    const message = fc.oneof(fc.constant(''), text(20));
    fc.assert(
      fc.property(
        hello,
        health,
        fc.nat(0xffff_ffff),
        fc.nat(0xffff_ffff),
        message,
        (h, hl, code, last, msg) => {
          const hex = (json: WireJson) => encodeCanonical(json).toString('hex');
          expect(encodeHello(h).toString('hex')).toBe(hex(helloToJson(h)));
          expect(encodeHealth(hl).toString('hex')).toBe(hex(healthToJson(hl)));
          expect(encodeReset({ code, message: msg }).toString('hex')).toBe(
            hex(msg ? { code, message: msg } : { code }),
          );
          expect(encodeGoaway({ lastStream: last, code, message: msg }).toString('hex')).toBe(
            hex(msg ? { last_stream: last, code, message: msg } : { last_stream: last, code }),
          );
        },
      ),
      { numRuns: 200 },
    );
    expect(encodeHealth({ rss: 5 * 2 ** 30 }).toString('hex')).toBe('81a3727373cf0000000140000000');
  });

  it('msgpackr-encoded environs, heads and trailers decode correctly with ours', () => {
    fc.assert(
      fc.property(environ, responseHead, headerPairs(), (env, head, trailers) => {
        expect(decodeEnviron(packr.pack(toMsgpackr(environToJson(env))))).toEqual(env);
        expect(decodeResponseHead(packr.pack(toMsgpackr(responseHeadToJson(head))))).toEqual(head);
        expect(decodeTrailers(packr.pack(toMsgpackr(trailersJson(trailers))))).toEqual(trailers);
      }),
      { numRuns: 200 },
    );
  });

  it('any valid representation decodes to the same values: non-canonical forms, any key order, unknown keys', () => {
    fc.assert(
      fc.property(environ, responseHead, headerPairs(), fc.integer(), (env, head, trailers, seed) => {
        const rand = prng(seed);
        expect(decodeEnviron(anyEncoding(environToJson(env), rand))).toEqual(env);
        expect(decodeResponseHead(anyEncoding(responseHeadToJson(head), rand))).toEqual(head);
        expect(decodeTrailers(anyEncoding(trailersJson(trailers), rand))).toEqual(trailers);
      }),
      { numRuns: 300 },
    );
  });

  it('msgpackr writes integers above 2^32 as float 64, which a uint field refuses (SPEC §7.2: uint)', () => {
    const env = { ...(toMsgpackr(environToJson({ ...OPTIONS })) as object), body_length: 2 ** 32 };
    const payload = packr.pack(env);
    expect(payload.includes(Buffer.from('cb41f0000000000000', 'hex'))).toBe(true);
    expect(() => decodeEnviron(payload)).toThrow(/body_length: expected uint, got float/);
  });

  it('hand-made non-canonical forms decode: map 16 for 14 keys, str 8 "GET", uint 32 for 80, int 8 for 0', () => {
    const env = environToJson({ ...OPTIONS, method: 'GET', serverPort: 80 });
    const entries: Array<[string, Buffer]> = Object.entries(env).map(([k, v]) => [k, encodeCanonical(v)]);
    const replaced = entries.map(([k, v]): [string, Buffer] => {
      if (k === 'method') return [k, mp.str('GET', 8)];
      if (k === 'server_port') return [k, mp.uint(80, 32)];
      if (k === 'body_length') return [k, mp.int(0, 8)];
      return [k, v];
    });
    const decoded = decodeEnviron(mp.map(replaced, 16));
    expect(decoded.method).toBe('GET');
    expect(decoded.serverPort).toBe(80);
    expect(decoded.bodyLength).toBe(0);
  });
});

const OPTIONS = {
  method: 'OPTIONS',
  target: '*',
  path: '*',
  query: '',
  httpVersion: 'HTTP/1.1',
  headers: [] as HeaderPair[],
  scheme: 'http',
  clientAddr: '',
  clientPort: 0,
  serverAddr: '127.0.0.1',
  serverPort: 8080,
  serverName: 'localhost',
  requestId: '1',
  bodyLength: 0,
  scriptName: '',
  upgrade: '',
};
