/**
 * Entity-tags (RFC 9110 §8.8.3): parsing of the lists in If-Match / If-None-Match and the single tag
 * in If-Range, and the two comparison functions of §8.8.3.2.
 */

export interface EntityTag {
  readonly weak: boolean;
  /** The opaque-tag, double quotes included: `"abc"`. */
  readonly opaque: string;
}

/** The parsed value of If-Match / If-None-Match: `*`, a list of tags, or null when malformed. */
export type EntityTagList = '*' | readonly EntityTag[] | null;

/** Parses a whole field value (several field lines already joined with ', '). */
export function parseEntityTagList(value: string): EntityTagList {
  if (value.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  let i = 0;
  for (;;) {
    // #rule (RFC 9110 §5.6.1): recipients accept empty list elements and optional whitespace.
    while (i < value.length && (value[i] === ',' || value[i] === ' ' || value[i] === '\t')) i++;
    if (i === value.length) break;
    const end = entityTagEnd(value, i);
    if (end < 0) return null;
    tags.push(toEntityTag(value.slice(i, end)));
    i = end;
    while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
    if (i < value.length && value[i] !== ',') return null;
  }
  return tags.length > 0 ? tags : null;
}

/** Parses one entity-tag (If-Range's form); null when `value` is not exactly one tag. */
export function parseEntityTag(value: string): EntityTag | null {
  const trimmed = value.trim();
  return entityTagEnd(trimmed, 0) === trimmed.length ? toEntityTag(trimmed) : null;
}

/** RFC 9110 §8.8.3.2 strong comparison: both strong and identical opaque-tags. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** RFC 9110 §8.8.3.2 weak comparison: identical opaque-tags, weakness ignored. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/** Index just past the entity-tag starting at `start`, or -1 if none starts there. */
function entityTagEnd(value: string, start: number): number {
  let i = start;
  if (value.startsWith('W/', i)) i += 2;
  if (value[i] !== '"') return -1;
  for (i++; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x22) return i + 1;
    // etagc = %x21 / %x23-7E / obs-text
    if (code < 0x21 || code === 0x7f || code > 0xff) return -1;
  }
  return -1;
}

function toEntityTag(text: string): EntityTag {
  const weak = text.startsWith('W/');
  return { weak, opaque: weak ? text.slice(2) : text };
}
