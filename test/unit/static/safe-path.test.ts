import { join, relative, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPlainSegment, parseRequestPath } from '../../../proxy/src/static/safe-path.js';

describe('parseRequestPath: hostile paths', () => {
  // [raw remainder of the request path, expected status, what it tries]
  const hostile: Array<[string, 400 | 404, string]> = [
    ['../etc/passwd', 404, 'plain dot-dot'],
    ['..', 404, 'bare dot-dot'],
    ['a/../../etc/passwd', 404, 'dot-dot after a segment'],
    ['/static/../../etc/passwd', 404, 'dot-dot with a leading slash'],
    ['%2e%2e/etc/passwd', 404, 'encoded dot-dot'],
    ['%2E%2E/etc/passwd', 404, 'encoded dot-dot, upper case'],
    ['.%2e/etc/passwd', 404, 'half-encoded dot-dot'],
    ['%2e./etc/passwd', 404, 'half-encoded dot-dot, other half'],
    ['..%2fetc%2fpasswd', 404, 'dot-dot and encoded slashes'],
    ['..%2Fetc', 404, 'dot-dot and an upper-case encoded slash'],
    ['%2e%2e%2f%2e%2e%2fetc%2fpasswd', 404, 'fully encoded traversal'],
    ['a%2f..%2f..%2fb', 404, 'traversal hidden in one segment'],
    ['%2fetc%2fpasswd', 404, 'encoded absolute path'],
    ['css%2fsite.css', 404, 'encoded slash crossing a directory'],
    ['%00', 404, 'encoded NUL'],
    ['site.css%00.png', 404, 'NUL truncation'],
    ['a\\..\\..\\b', 404, 'raw backslashes'],
    ['..%5c..%5cetc%5cpasswd', 404, 'encoded backslashes'],
    ['%5c', 404, 'lone encoded backslash'],
    ['.env', 404, 'dotfile'],
    ['%2eenv', 404, 'encoded dotfile'],
    ['.git/config', 404, 'dot directory'],
    ['a/.git/HEAD', 404, 'nested dot directory'],
    ['%2egit/config', 404, 'encoded dot directory'],
    ['./site.css', 404, 'dot segment'],
    ['a/./b', 404, 'inner dot segment'],
    ['...', 404, 'triple dot'],
    ['%c0%ae%c0%ae/etc/passwd', 404, 'overlong UTF-8 dots (not UTF-8)'],
    ['%ff', 404, 'a byte that is not UTF-8'],
    ['%zz', 400, 'bad hex'],
    ['%2', 400, 'truncated escape'],
    ['%', 400, 'lone percent'],
    ['a%2', 400, 'truncated escape at the end'],
    ['%%32%65', 400, 'percent-encoded percent sign, broken'],
    ['a b', 400, 'raw space'],
    ['a\u0000b', 400, 'raw NUL'],
    ['a\tb', 400, 'raw tab'],
    ['caf\u00e9', 400, 'raw non-ASCII byte'],
    ['\u0100', 400, 'not a byte string'],
  ];

  it.each(hostile)('%s → %i (%s)', (raw, status) => {
    const result = parseRequestPath(raw);
    expect(result).toMatchObject({ ok: false, status });
  });

  it('decodes exactly once: a double-encoded dot-dot is the literal name %2e%2e', () => {
    expect(parseRequestPath('%252e%252e/%252e%252e/etc/passwd')).toEqual({
      ok: true,
      segments: ['%2e%2e', '%2e%2e', 'etc', 'passwd'],
    });
    expect(parseRequestPath('..%252f..%252fetc')).toMatchObject({ ok: false, status: 404 });
  });
});

describe('parseRequestPath: ordinary paths', () => {
  const ordinary: Array<[string, string[]]> = [
    ['', []],
    ['/', []],
    ['css/site.css', ['css', 'site.css']],
    ['/css/site.css', ['css', 'site.css']],
    ['css//site.css', ['css', 'site.css']],
    ['docs/', ['docs']],
    ['caf%C3%A9.txt', ['café.txt']],
    ['a%20b.txt', ['a b.txt']],
    ['a..b', ['a..b']],
    ['v1.2.3/app.min.js', ['v1.2.3', 'app.min.js']],
    ['%41%42c', ['ABc']],
    ["x~y-z_(1)+!$&'*,;=:@", ["x~y-z_(1)+!$&'*,;=:@"]],
  ];

  it.each(ordinary)('%j → %j', (raw, segments) => {
    expect(parseRequestPath(raw)).toEqual({ ok: true, segments });
  });
});

describe('parseRequestPath: properties', () => {
  const root = '/srv/static';
  // An alphabet rich in the characters traversal is made of.
  const pathChar = fc.constantFrom(
    '.',
    '/',
    '%',
    '2',
    'e',
    'E',
    'f',
    'F',
    '5',
    'c',
    'C',
    '0',
    'a',
    '\\',
    'x',
  );

  it('never yields a segment that could climb, hide or split, and never leaves the root', () => {
    fc.assert(
      fc.property(fc.string({ unit: pathChar, maxLength: 40 }), (raw) => {
        const result = parseRequestPath(raw);
        if (!result.ok) return;
        for (const segment of result.segments) {
          expect(segment).not.toBe('');
          expect(segment.startsWith('.')).toBe(false);
          expect(segment).not.toMatch(/[/\\\0]/);
        }
        const joined = join(root, ...result.segments);
        expect(joined === root || joined.startsWith(root + sep)).toBe(true);
        expect(relative(root, joined).split(sep)).not.toContain('..');
      }),
      { numRuns: 5000 },
    );
  });

  it('round-trips any plain segments through percent-encoding', () => {
    const segment = fc.string({ minLength: 1, maxLength: 12 }).filter(isPlainSegment);
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), (segments) => {
        const raw = segments.map((s) => encodeURIComponent(s)).join('/');
        expect(parseRequestPath(raw)).toEqual({ ok: true, segments });
      }),
    );
  });
});

describe('isPlainSegment', () => {
  it.each([
    ['index.html', true],
    ['default.htm', true],
    ['', false],
    ['.hidden', false],
    ['..', false],
    ['a/b', false],
    ['a\\b', false],
    ['a\0b', false],
  ])('%j → %s', (name, plain) => {
    expect(isPlainSegment(name)).toBe(plain);
  });
});
