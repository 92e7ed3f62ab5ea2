import type { HeaderPairs } from '@gatewire/protocol';
import { describe, expect, it } from 'vitest';
import {
  parseEntityTag,
  parseEntityTagList,
  strongMatch,
  weakMatch,
  type EntityTag,
} from '../../../proxy/src/static/entity-tag.js';
import type { FileValidators } from '../../../proxy/src/static/file-etag.js';
import { formatHttpDate } from '../../../proxy/src/static/http-date.js';
import { evaluatePreconditions, rangeStillValid } from '../../../proxy/src/static/preconditions.js';

const tag = (text: string): EntityTag => parseEntityTag(text) as EntityTag;

describe('entity-tag comparison (RFC 9110 §8.8.3.2 table)', () => {
  it.each([
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', '"1"', true, true],
  ])('%s vs %s: strong %s, weak %s', (a, b, strong, weak) => {
    expect(strongMatch(tag(a), tag(b))).toBe(strong);
    expect(weakMatch(tag(a), tag(b))).toBe(weak);
  });
});

describe('entity-tag parsing', () => {
  it.each([
    ['"xyzzy"', [{ weak: false, opaque: '"xyzzy"' }]],
    [
      '"xyzzy", "r2d2xxxx", "c3piozzzz"',
      ['"xyzzy"', '"r2d2xxxx"', '"c3piozzzz"'].map((o) => ({ weak: false, opaque: o })),
    ],
    [
      'W/"a" ,,\t"b",',
      [
        { weak: true, opaque: '"a"' },
        { weak: false, opaque: '"b"' },
      ],
    ],
    ['""', [{ weak: false, opaque: '""' }]],
    ['"a,b"', [{ weak: false, opaque: '"a,b"' }]],
  ])('list %j', (value, expected) => {
    expect(parseEntityTagList(value)).toEqual(expected);
  });

  it('reads * as any', () => {
    expect(parseEntityTagList('*')).toBe('*');
    expect(parseEntityTagList(' * ')).toBe('*');
  });

  it.each(['', 'abc', '"a" "b"', '"a', 'w/"a"', '"a"b', '"a b"', '*, "a"', ','])(
    'refuses the list %j',
    (value) => {
      expect(parseEntityTagList(value)).toBeNull();
    },
  );

  it('parses a single tag for If-Range, nothing else', () => {
    expect(parseEntityTag(' W/"a" ')).toEqual({ weak: true, opaque: '"a"' });
    expect(parseEntityTag('"a", "b"')).toBeNull();
    expect(parseEntityTag('Sun, 06 Nov 1994 08:49:37 GMT')).toBeNull();
  });
});

describe('evaluatePreconditions (RFC 9110 §13.2.2)', () => {
  const lastModified = 784111777;
  const now = lastModified + 86400;
  const validators: FileValidators = { etag: '"abc"', lastModified, lastModifiedStrong: true };
  const at = (seconds: number) => formatHttpDate(seconds);
  const evaluate = (headers: HeaderPairs) => evaluatePreconditions(headers, validators, now);

  it.each<[string, HeaderPairs, string]>([
    ['no conditions', [], 'proceed'],
    ['If-None-Match with the tag', [['if-none-match', '"abc"']], 'not-modified'],
    ['If-None-Match with the weak tag (weak comparison)', [['if-none-match', 'W/"abc"']], 'not-modified'],
    ['If-None-Match in a list', [['if-none-match', '"x", "abc"']], 'not-modified'],
    [
      'If-None-Match over two field lines',
      [
        ['if-none-match', '"x"'],
        ['if-none-match', '"abc"'],
      ],
      'not-modified',
    ],
    ['If-None-Match: *', [['if-none-match', '*']], 'not-modified'],
    ['If-None-Match with another tag', [['if-none-match', '"other"']], 'proceed'],
    ['If-None-Match malformed', [['if-none-match', 'abc']], 'proceed'],
    ['If-Modified-Since equal to Last-Modified', [['if-modified-since', at(lastModified)]], 'not-modified'],
    ['If-Modified-Since after Last-Modified', [['if-modified-since', at(lastModified + 60)]], 'not-modified'],
    ['If-Modified-Since before Last-Modified', [['if-modified-since', at(lastModified - 1)]], 'proceed'],
    ['If-Modified-Since in the future (invalid)', [['if-modified-since', at(now + 3600)]], 'proceed'],
    ['If-Modified-Since not a date', [['if-modified-since', 'yesterday']], 'proceed'],
    [
      'If-Modified-Since twice',
      [
        ['if-modified-since', at(lastModified)],
        ['if-modified-since', at(lastModified)],
      ],
      'proceed',
    ],
    [
      'If-None-Match takes precedence over a matching If-Modified-Since',
      [
        ['if-none-match', '"other"'],
        ['if-modified-since', at(lastModified)],
      ],
      'proceed',
    ],
    [
      'If-None-Match takes precedence over a stale If-Modified-Since',
      [
        ['if-none-match', '"abc"'],
        ['if-modified-since', at(lastModified - 100)],
      ],
      'not-modified',
    ],
    ['If-Match with the tag', [['if-match', '"abc"']], 'proceed'],
    ['If-Match: *', [['if-match', '*']], 'proceed'],
    ['If-Match with another tag', [['if-match', '"other"']], 'precondition-failed'],
    ['If-Match with the weak tag (strong comparison)', [['if-match', 'W/"abc"']], 'precondition-failed'],
    ['If-Match malformed', [['if-match', 'abc']], 'precondition-failed'],
    ['If-Unmodified-Since after Last-Modified', [['if-unmodified-since', at(lastModified)]], 'proceed'],
    [
      'If-Unmodified-Since before Last-Modified',
      [['if-unmodified-since', at(lastModified - 1)]],
      'precondition-failed',
    ],
    ['If-Unmodified-Since not a date', [['if-unmodified-since', 'never']], 'proceed'],
    [
      'If-Match takes precedence over If-Unmodified-Since',
      [
        ['if-match', '"abc"'],
        ['if-unmodified-since', at(lastModified - 1)],
      ],
      'proceed',
    ],
    [
      'If-Match is evaluated before If-None-Match',
      [
        ['if-match', '"other"'],
        ['if-none-match', '"abc"'],
      ],
      'precondition-failed',
    ],
  ])('%s → %s', (_name, headers, outcome) => {
    expect(evaluate(headers)).toBe(outcome);
  });
});

describe('rangeStillValid (If-Range, RFC 9110 §13.1.5)', () => {
  const lastModified = 784111777;
  const strong: FileValidators = { etag: '"abc"', lastModified, lastModifiedStrong: true };
  const fresh: FileValidators = { ...strong, lastModifiedStrong: false };

  it.each<[string, FileValidators, boolean]>([
    ['"abc"', strong, true],
    ['W/"abc"', strong, false],
    ['"other"', strong, false],
    [formatHttpDate(lastModified), strong, true],
    [formatHttpDate(lastModified), fresh, false],
    [formatHttpDate(lastModified + 1), strong, false],
    [formatHttpDate(lastModified - 1), strong, false],
    ['garbage', strong, false],
    ['"abc", "abc"', strong, false],
  ])('%s → %s', (value, validators, valid) => {
    expect(rangeStillValid(value, validators)).toBe(valid);
  });
});
