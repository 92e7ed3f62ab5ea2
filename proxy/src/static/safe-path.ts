/**
 * Turns the still percent-encoded remainder of a request path into file-name segments that cannot
 * leave the static root lexically. Pure: the symlink half of confinement is file-resolver.ts.
 *
 * The rules, in order:
 * - split on '/' *before* decoding, so an encoded slash (%2F) stays inside its segment, then
 *   refuse it: a decoded segment never names two directory levels;
 * - percent-decode each segment exactly once (so `%252e%252e` is the literal name `%2e%2e`, never
 *   `..`), then decode the bytes as UTF-8;
 * - drop empty segments (`a//b` is `a/b`, as nginx's merge_slashes);
 * - refuse NUL and backslash anywhere, and every segment starting with '.': that covers `.` and `..`
 *   (no dot-segment is ever resolved, so nothing can climb) and dotfiles (`.env`, `.git/`).
 *
 * Refusals are 404 (the client learns nothing about what exists), except input that is not a
 * well-formed path at all (a '%' not followed by two hex digits, raw control or non-byte
 * characters), which is 400.
 */

export type SafePath =
  | { readonly ok: true; readonly segments: readonly string[] }
  | { readonly ok: false; readonly status: 400 | 404; readonly reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes and checks `raw` (percent-encoding intact, with or without a leading '/'). */
export function parseRequestPath(raw: string): SafePath {
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    // The front only accepts visible ASCII in a request-target; anything else here is a bug upstream
    // of us or a hostile caller, and is not worth guessing about.
    if (code <= 0x20 || code >= 0x7f) return refuse(400, `character 0x${code.toString(16)} in path`);
    if (code === 0x5c) return refuse(404, 'backslash in path');
  }
  const segments: string[] = [];
  for (const encoded of raw.split('/')) {
    if (encoded === '') continue;
    const decoded = decodeSegment(encoded);
    if (typeof decoded !== 'string') return decoded;
    if (decoded.includes('/')) return refuse(404, 'encoded slash in path');
    if (decoded.includes('\\')) return refuse(404, 'backslash in path');
    if (decoded.includes('\0')) return refuse(404, 'NUL in path');
    if (decoded === '..') return refuse(404, 'dot-dot segment');
    if (decoded === '.') return refuse(404, 'dot segment');
    if (decoded.startsWith('.')) return refuse(404, 'dotfile');
    segments.push(decoded);
  }
  return { ok: true, segments };
}

/** Whether a file or index name is a single plain segment this module would accept. */
export function isPlainSegment(name: string): boolean {
  return (
    name !== '' &&
    !name.startsWith('.') &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0')
  );
}

function decodeSegment(encoded: string): string | SafePath {
  if (!encoded.includes('%')) return encoded;
  const bytes = Buffer.allocUnsafe(encoded.length);
  let length = 0;
  for (let i = 0; i < encoded.length; i++) {
    const code = encoded.charCodeAt(i);
    if (code !== 0x25) {
      bytes[length++] = code;
      continue;
    }
    const high = hexValue(encoded.charCodeAt(i + 1));
    const low = hexValue(encoded.charCodeAt(i + 2));
    if (high < 0 || low < 0) return refuse(400, 'malformed percent-encoding');
    bytes[length++] = (high << 4) | low;
    i += 2;
  }
  try {
    return utf8.decode(bytes.subarray(0, length));
  } catch {
    // File names are looked up as UTF-8; bytes that are not UTF-8 cannot name a file we serve.
    return refuse(404, 'path is not UTF-8');
  }
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function refuse(status: 400 | 404, reason: string): SafePath {
  return { ok: false, status, reason };
}
