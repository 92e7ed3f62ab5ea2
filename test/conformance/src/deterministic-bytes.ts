/**
 * The byte patterns bodies are checked against, byte for byte.
 *
 * `GET /bytes?n=N` answers byte i = i mod 251 (README "route contract"): 251 is prime, so the
 * pattern never lines up with power-of-two frame or chunk sizes and a dropped, repeated or
 * reordered chunk shows. Uploads use a seeded xorshift stream instead.
 */
export const PATTERN_PERIOD = 251;

export function patternBytes(offset: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let value = offset % PATTERN_PERIOD;
  for (let i = 0; i < length; i++) {
    bytes[i] = value;
    value = value === PATTERN_PERIOD - 1 ? 0 : value + 1;
  }
  return bytes;
}

/** Index of the first byte of `bytes` (which starts at `offset` in the body) off the pattern, or -1. */
export function firstPatternMismatch(bytes: Uint8Array, offset = 0): number {
  let value = offset % PATTERN_PERIOD;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== value) return i;
    value = value === PATTERN_PERIOD - 1 ? 0 : value + 1;
  }
  return -1;
}

/** Pseudo-random bytes from a seed (xorshift32), the same on every run. */
export function seededBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let state = seed >>> 0 || 0x9e3779b9;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes.writeUInt32LE(state, i);
  }
  for (; i < length; i++) bytes[i] = (state >>> ((i & 3) * 8)) & 0xff;
  return bytes;
}

/** Where two byte strings first differ, for a failure message; -1 when equal. */
export function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const length = Math.min(actual.length, expected.length);
  for (let i = 0; i < length; i++) if (actual[i] !== expected[i]) return i;
  return actual.length === expected.length ? -1 : length;
}
