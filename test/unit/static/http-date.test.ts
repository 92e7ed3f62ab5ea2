import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatHttpDate, parseHttpDate } from '../../../proxy/src/static/http-date.js';

// RFC 9110 §5.6.7's example instant, in its three forms.
const EXAMPLE = 784111777;

describe('HTTP-date', () => {
  it.each([
    ['Sun, 06 Nov 1994 08:49:37 GMT', 'IMF-fixdate'],
    ['Sunday, 06-Nov-94 08:49:37 GMT', 'obsolete RFC 850 format'],
    ['Sun Nov  6 08:49:37 1994', 'ANSI C asctime() format'],
  ])('parses %j (%s)', (value) => {
    expect(parseHttpDate(value, Date.UTC(2026, 0, 1) / 1000)).toBe(EXAMPLE);
  });

  it('formats IMF-fixdate', () => {
    expect(formatHttpDate(EXAMPLE)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(formatHttpDate(0)).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
  });

  it.each([
    '',
    'garbage',
    '1994-11-06T08:49:37Z',
    '784111777',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 06 Nov 1994 08:49:37 +0000',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'Sun, 06 Nov 94 08:49:37 GMT',
    'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 06 Foo 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT',
    ' Sun, 06 Nov 1994 08:49:37 GMT',
  ])('refuses %j', (value) => {
    expect(parseHttpDate(value)).toBeNull();
  });

  it('reads a two-digit year more than 50 years ahead as the previous century (RFC 9110 §5.6.7)', () => {
    const in2026 = Date.UTC(2026, 5, 1) / 1000;
    expect(parseHttpDate('Friday, 01-Jan-76 00:00:00 GMT', in2026)).toBe(Date.UTC(2076, 0, 1) / 1000);
    expect(parseHttpDate('Monday, 01-Jan-77 00:00:00 GMT', in2026)).toBe(Date.UTC(1977, 0, 1) / 1000);
  });

  it('keeps years 0-99 as written rather than as 19xx', () => {
    // 1 January of the year 50, not of 1950 (what Date.UTC(50, 0, 1) would give).
    expect(parseHttpDate('Sat, 01 Jan 0050 00:00:00 GMT')).toBe(-60589296000);
  });

  it('round-trips every whole second from 1970 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799 }), (seconds) => {
        expect(parseHttpDate(formatHttpDate(seconds))).toBe(seconds);
      }),
      { numRuns: 2000 },
    );
  });
});
