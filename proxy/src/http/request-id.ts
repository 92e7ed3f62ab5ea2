import { randomBytes } from 'node:crypto';

/**
 * Request ids: a per-process random prefix and a counter, `3f9a2c1b-1z`. Unique within the
 * process and, with 32 random bits, very unlikely to collide across processes in one log; one
 * string concatenation per request, no random bytes per request.
 */
const PREFIX = `${randomBytes(4).toString('hex')}-`;
let counter = 0;

export function nextRequestId(): string {
  counter = counter === Number.MAX_SAFE_INTEGER ? 1 : counter + 1;
  return PREFIX + counter.toString(36);
}
