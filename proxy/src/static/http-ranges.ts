/**
 * Range requests on byte ranges (RFC 9110 §14.1, §14.2), for one representation of known size.
 *
 * Multiple ranges: the satisfiable ranges are sorted and those that overlap or touch are coalesced
 * (§14.2 allows it). One range left is a plain 206; several disjoint ranges get the whole file as
 * 200 instead of multipart/byteranges (§14.2: a server MAY ignore Range). Browsers, media players
 * and download resumers only send single ranges; multipart responses mostly served the
 * many-small-ranges denial of service (CVE-2011-3192) and cost a multipart writer here.
 */

export type RangeResult =
  /** Send the whole file with 200: no usable Range, another unit, or disjoint ranges. */
  | { readonly kind: 'full' }
  /** 416 with `Content-Range: bytes *\/size`: malformed, or no range overlaps the file. */
  | { readonly kind: 'unsatisfiable' }
  /** 206 for bytes `start`…`end`, both inclusive. */
  | { readonly kind: 'partial'; readonly start: number; readonly end: number };

/** More range-specs than this and the header is not worth parsing: 200 with the whole file. */
export const MAX_RANGE_SPECS = 100;

const INT_RANGE = /^(\d+)-(\d*)$/;
const SUFFIX_RANGE = /^-(\d+)$/;

const FULL: RangeResult = { kind: 'full' };
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' };

/** Interprets a Range field value against a file of `size` bytes. */
export function parseRange(value: string, size: number): RangeResult {
  const equals = value.indexOf('=');
  if (equals < 0) return UNSATISFIABLE;
  // §14.2: a range unit we do not understand means the field is ignored, not refused.
  if (value.slice(0, equals).toLowerCase() !== 'bytes') return FULL;

  const specs = value.slice(equals + 1).split(',');
  if (specs.length > MAX_RANGE_SPECS) return FULL;
  const ranges: Array<[start: number, end: number]> = [];
  let sawSpec = false;
  let wantsAllOfEmpty = false;
  for (const rawSpec of specs) {
    // #rule: optional whitespace around elements, empty elements ignored (§5.6.1).
    const spec = rawSpec.trim();
    if (spec === '') continue;
    sawSpec = true;
    const intRange = INT_RANGE.exec(spec);
    if (intRange) {
      const first = Number(intRange[1]);
      const last = intRange[2] === '' ? Infinity : Number(intRange[2]);
      // §14.1.1: last-pos below first-pos makes the whole ranges-specifier invalid.
      if (last < first) return UNSATISFIABLE;
      if (first < size) ranges.push([first, Math.min(last, size - 1)]);
      continue;
    }
    const suffixRange = SUFFIX_RANGE.exec(spec);
    if (!suffixRange) return UNSATISFIABLE;
    const length = Number(suffixRange[1]);
    if (length === 0) continue;
    // §14.1.3: a suffix longer than the file is the whole file; of an empty file that is nothing,
    // which no Content-Range can express, so an empty file is then answered with a plain 200.
    if (size === 0) wantsAllOfEmpty = true;
    else ranges.push([Math.max(0, size - length), size - 1]);
  }
  if (!sawSpec) return UNSATISFIABLE;
  if (ranges.length === 0) return wantsAllOfEmpty ? FULL : UNSATISFIABLE;

  ranges.sort((a, b) => a[0] - b[0]);
  const start = ranges[0][0];
  let end = ranges[0][1];
  for (let i = 1; i < ranges.length; i++) {
    const [nextStart, nextEnd] = ranges[i];
    if (nextStart > end + 1) return FULL;
    end = Math.max(end, nextEnd);
  }
  return { kind: 'partial', start, end };
}

/** The Content-Range value of a 206. */
export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}

/** The Content-Range value of a 416 (§14.4). */
export function unsatisfiedContentRange(size: number): string {
  return `bytes */${size}`;
}
