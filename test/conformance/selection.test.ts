import { describe, expect, test } from 'vitest';
import { matches, selectChecks } from './src/check-selection.js';
import { ALL_CHECKS } from './src/index.js';
import { resolveOptions } from './src/options.js';
import { ConformanceConfigError } from './src/errors.js';
import { encodeMsgpack, MpExt, MpUint32, mpMap } from './src/msgpack-builder.js';
import { msgpackToJson, matchesPattern } from './src/msgpack-json.js';

describe('check selection', () => {
  test('selectors match a name, a dotted prefix, or a pattern', () => {
    expect(matches('malformed.garbage', 'malformed.garbage')).toBe(true);
    expect(matches('malformed', 'malformed.garbage')).toBe(true);
    expect(matches('vectors.error', 'vectors.error.hello-empty')).toBe(true);
    expect(matches('malformed.environ-*', 'malformed.environ-ext-type')).toBe(true);
    expect(matches('malform', 'malformed.garbage')).toBe(false);
    expect(matches('malformed.environ-*', 'malformed.garbage')).toBe(false);
  });

  test('names are unique and grouped', () => {
    const names = ALL_CHECKS.map((check) => check.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z]+\.[a-z0-9.-]+$/);
  });

  test('skips carry their reason; a selector that matches nothing is an error', () => {
    const selected = selectChecks(
      ALL_CHECKS,
      ['handshake'],
      [{ reason: 'no upgrade API', tests: ['handshake.preface'] }],
    );
    expect(selected.every(({ check }) => check.name.startsWith('handshake.'))).toBe(true);
    expect(selected.find(({ check }) => check.name === 'handshake.preface')?.skipReason).toBe(
      'no upgrade API',
    );
    expect(() => selectChecks(ALL_CHECKS, ['nope'], [])).toThrow(ConformanceConfigError);
    expect(() => selectChecks(ALL_CHECKS, undefined, [{ reason: 'x', tests: ['upgrade.nope'] }])).toThrow(
      /matches no check/,
    );
  });

  test('options are validated eagerly: unknown keys, skips without a reason, bad timeouts', () => {
    expect(() => resolveOptions({ worker: 'w', timeout: 5 } as never)).toThrow(
      /unknown conformance option "timeout"/,
    );
    expect(() => resolveOptions({ worker: 'w', skip: [{ reason: ' ', tests: ['upgrade'] }] })).toThrow(
      /no reason/,
    );
    expect(() => resolveOptions({ worker: 'w', timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => resolveOptions({ worker: '' })).toThrow(/worker command is missing/);
    expect(Object.isFrozen(resolveOptions({ worker: 'w' }))).toBe(true);
  });
});

describe('crafted MessagePack', () => {
  test('builder output reads back in the vectors JSON form', () => {
    const bytes = encodeMsgpack(
      mpMap([
        ['a', 1],
        ['b', Buffer.from([0xff, 0])],
        ['c', [null, true, -1, 1.5, 'é']],
        ['d', new MpUint32(7)],
      ]),
    );
    expect(msgpackToJson(bytes)).toEqual({
      a: 1,
      b: { $bin: '\u00ff\u0000' },
      c: [null, true, -1, 1.5, 'é'],
      d: 7,
    });
    expect(bytes.includes(Buffer.from([0xce, 0, 0, 0, 7]))).toBe(true);
    expect(() => msgpackToJson(encodeMsgpack(new MpExt(1, Buffer.from([1]))))).toThrow(/extension/);
  });

  test('a map pattern matches when every key of the pattern is equal', () => {
    expect(matchesPattern({ code: 3, message: 'x', last_stream: 1 }, { code: 3 })).toBe(true);
    expect(matchesPattern({ code: 4 }, { code: 3 })).toBe(false);
    expect(matchesPattern({ $bin: 'ab' }, { $bin: 'ab' })).toBe(true);
  });
});
