import type { HeaderPairs } from '@gatewire/protocol';

/**
 * The combined value of every `name` field line (names are lowercase in a RequestHead), joined with
 * ', ' as RFC 9110 §5.3 allows for list-based fields; null when the field is absent. For a
 * singleton field sent twice this yields a value the field's own parser will refuse, which is the
 * point: the recipient then ignores it instead of picking one line.
 */
export function fieldValue(headers: HeaderPairs, name: string): string | null {
  let value: string | null = null;
  for (const [fieldName, fieldLineValue] of headers) {
    if (fieldName !== name) continue;
    value = value === null ? fieldLineValue : `${value}, ${fieldLineValue}`;
  }
  return value;
}

/** Whether `name` appears more than once. */
export function fieldRepeated(headers: HeaderPairs, name: string): boolean {
  let seen = false;
  for (const [fieldName] of headers) {
    if (fieldName !== name) continue;
    if (seen) return true;
    seen = true;
  }
  return false;
}
