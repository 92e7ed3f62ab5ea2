import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_RANGE_SPECS,
  contentRange,
  parseRange,
  unsatisfiedContentRange,
} from '../../../proxy/src/static/http-ranges.js';

const partial = (start: number, end: number) => ({ kind: 'partial', start, end });
const full = { kind: 'full' };
const unsatisfiable = { kind: 'unsatisfiable' };

describe('parseRange: RFC 9110 §14.1.2 examples (a 10000-byte representation)', () => {
  it.each([
    ['bytes=0-499', partial(0, 499), 'the first 500 bytes'],
    ['bytes=500-999', partial(500, 999), 'the second 500 bytes'],
    ['bytes=-500', partial(9500, 9999), 'the final 500 bytes (suffix)'],
    ['bytes=9500-', partial(9500, 9999), 'the final 500 bytes (open-ended)'],
    ['bytes=0-0,-1', full, 'first and last byte: disjoint, so the whole file'],
    ['bytes=0-999,4500-5499,-1000', full, 'three disjoint ranges: the whole file'],
    ['bytes=500-600,601-999', partial(500, 999), 'adjacent ranges coalesce'],
    ['bytes=500-700,601-999', partial(500, 999), 'overlapping ranges coalesce'],
  ])('%s → %j (%s)', (value, expected) => {
    expect(parseRange(value, 10000)).toEqual(expected);
  });
});

describe('parseRange: boundaries', () => {
  it.each([
    ['bytes=0-', 10, partial(0, 9)],
    ['bytes=0-0', 10, partial(0, 0)],
    ['bytes=9-9', 10, partial(9, 9)],
    ['bytes=5-100', 10, partial(5, 9)],
    ['bytes=-10', 10, partial(0, 9)],
    ['bytes=-11', 10, partial(0, 9)],
    ['Bytes=1-2', 10, partial(1, 2)],
    ['bytes= 1-2 ', 10, partial(1, 2)],
    ['bytes=1-2, ,3-4', 10, partial(1, 4)],
    ['bytes=8-,0-1,2-7', 10, partial(0, 9)],
    ['bytes=20-30,1-2', 10, partial(1, 2)],
    ['bytes=0-99999999999999999999', 10, partial(0, 9)],
    ['bytes=0-0', 1, partial(0, 0)],
  ])('%s on %i bytes → %j', (value, size, expected) => {
    expect(parseRange(value, size)).toEqual(expected);
  });

  it.each([
    ['bytes=10-', 10, 'first-pos at the length'],
    ['bytes=10-20', 10, 'range past the end'],
    ['bytes=99999999999999999999-', 10, 'huge first-pos'],
    ['bytes=-0', 10, 'empty suffix'],
    ['bytes=5-1', 10, 'last-pos before first-pos'],
    ['bytes=abc', 10, 'not a range'],
    ['bytes=1-2-3', 10, 'two dashes'],
    ['bytes=-', 10, 'no numbers'],
    ['bytes=', 10, 'empty range-set'],
    ['bytes=,', 10, 'only empty elements'],
    ['bytes=+1-2', 10, 'signed number'],
    ['bytes=0x1-2', 10, 'hex number'],
    ['bytes=0-1,5-1', 10, 'one invalid range spoils the set'],
    ['bytes', 10, 'no equals sign'],
    ['bytes=0-0', 0, 'any int-range of an empty file'],
    ['bytes=-0', 0, 'an empty suffix of an empty file'],
  ])('%s on %i bytes → unsatisfiable (%s)', (value, size) => {
    expect(parseRange(value, size)).toEqual(unsatisfiable);
  });

  it.each([
    ['items=0-1', 10, 'an unknown unit is ignored'],
    ['bytes =0-1', 10, 'whitespace before = makes another unit'],
    ['bytes=-1', 0, 'a suffix of an empty file is all of it: nothing to cut'],
  ])('%s on %i bytes → full (%s)', (value, size) => {
    expect(parseRange(value, size)).toEqual(full);
  });

  it(`ignores a header of more than ${MAX_RANGE_SPECS} ranges`, () => {
    const many = Array.from({ length: MAX_RANGE_SPECS + 1 }, (_, i) => `${i}-${i}`).join(',');
    expect(parseRange(`bytes=${many}`, 1000)).toEqual(full);
    const atLimit = Array.from({ length: MAX_RANGE_SPECS }, (_, i) => `${i}-${i}`).join(',');
    expect(parseRange(`bytes=${atLimit}`, 1000)).toEqual(partial(0, MAX_RANGE_SPECS - 1));
  });

  it('keeps every partial result inside the file, for any single range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.nat(2 ** 41),
        fc.option(fc.nat(2 ** 41)),
        (size, first, last) => {
          const result = parseRange(`bytes=${first}-${last ?? ''}`, size);
          if ((last !== null && last < first) || first >= size) expect(result).toEqual(unsatisfiable);
          else expect(result).toEqual(partial(first, Math.min(last ?? Infinity, size - 1)));
        },
      ),
    );
  });

  it('formats Content-Range for 206 and 416', () => {
    expect(contentRange(0, 499, 10000)).toBe('bytes 0-499/10000');
    expect(unsatisfiedContentRange(10000)).toBe('bytes */10000');
  });
});
