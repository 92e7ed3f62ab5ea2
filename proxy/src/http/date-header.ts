/**
 * The `Date` field line, formatted once a second at most (RFC 9110 §6.6.1: an origin server with a
 * clock MUST send Date). Formatting a date costs more than the rest of a small response head, so
 * every response within the same second shares one string, as in nginx and node:http.
 */
let cached: string | null = null;

function invalidate(): void {
  cached = null;
}

/** `Date: <IMF-fixdate>\r\n` for the current second. */
export function dateFieldLine(): string {
  if (cached === null) {
    const now = Date.now();
    cached = `Date: ${new Date(now).toUTCString()}\r\n`;
    // Invalidate at the next second boundary; unref so a cached date never keeps a process alive.
    setTimeout(invalidate, 1000 - (now % 1000)).unref();
  }
  return cached;
}
