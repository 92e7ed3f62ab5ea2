import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isToken, validateResponseHead } from '../../../proxy/src/dispatch/response-head-validation.js';

describe('validateResponseHead (SPEC §8.1)', () => {
  const ok = {
    status: 200,
    headers: [['content-type', 'text/plain']] as Array<[string, string]>,
    reason: '',
  };

  it('accepts a valid head, obs-text and HTAB in values included', () => {
    expect(validateResponseHead(ok)).toBeNull();
    expect(validateResponseHead({ ...ok, headers: [['x-latin', 'caf\u00e9\tok']] })).toBeNull();
    expect(validateResponseHead({ ...ok, reason: 'All Good' })).toBeNull();
  });

  it('refuses a status out of 100…599', () => {
    expect(validateResponseHead({ ...ok, status: 99 })).toMatch(/status 99/);
    expect(validateResponseHead({ ...ok, status: 600 })).toMatch(/status 600/);
  });

  it('refuses names that are not tokens', () => {
    for (const name of ['', 'bad name', 'x:y', 'caf\u00e9', 'a\r\nb', '(x)']) {
      expect(validateResponseHead({ ...ok, headers: [[name, 'v']] })).toMatch(/not an HTTP token/);
    }
  });

  it('refuses CR, LF, NUL and other controls in values and in the reason phrase', () => {
    for (const value of ['a\rb', 'a\nb', 'a\u0000b', 'a\u0001', 'a\u007f']) {
      expect(validateResponseHead({ ...ok, headers: [['x', value]] })).toMatch(/control character/);
      expect(validateResponseHead({ ...ok, reason: value })).toMatch(/reason/);
    }
  });

  it('property: any value containing CR, LF or NUL is refused; printable ASCII is accepted', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('\r', '\n', '\u0000'), fc.string(), (before, bad, after) => {
        return validateResponseHead({ ...ok, headers: [['x-test', before + bad + after]] }) !== null;
      }),
    );
    fc.assert(
      fc.property(
        fc.stringMatching(/^[\x20-\x7e]*$/),
        (value) => validateResponseHead({ ...ok, headers: [['x', value]] }) === null,
      ),
    );
  });

  it('isToken follows RFC 9110 tchar', () => {
    expect(isToken("!#$%&'*+-.^_`|~09azAZ")).toBe(true);
    expect(isToken('a b')).toBe(false);
    expect(isToken('a"b')).toBe(false);
  });
});
