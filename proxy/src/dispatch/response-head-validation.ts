import type { ResponseHead } from '@gatewire/protocol';

/** RFC 9110 §5.6.2 tchar, by code point. */
const TCHAR: readonly boolean[] = (() => {
  const table = new Array<boolean>(128).fill(false);
  for (const char of "!#$%&'*+-.^_`|~") table[char.charCodeAt(0)] = true;
  for (let c = 0x30; c <= 0x39; c++) table[c] = true;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = true;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = true;
  return table;
})();

export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 128 || !TCHAR[code]) return false;
  }
  return true;
}

/**
 * A field value or reason phrase safe to write: no CR, LF, NUL or other control character except
 * HTAB (RFC 9110 §5.5 field-value is VCHAR / obs-text / SP / HTAB), and only ByteString characters.
 */
export function isSafeFieldText(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f || code > 0xff) return false;
  }
  return true;
}

/**
 * Checks a worker's response head before the client sees any of it (SPEC §8.1). Returns null when
 * it is valid, else what is wrong, for the log line (never for the client).
 */
export function validateResponseHead(head: ResponseHead): string | null {
  const status = head.status;
  if (!Number.isInteger(status) || status < 100 || status > 599) return `status ${status} is not in 100…599`;
  if (!isSafeFieldText(head.reason)) return 'the reason phrase contains a control character';
  const headers = head.headers;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];
    if (!isToken(name))
      return `header ${i} has a name that is not an HTTP token: ${JSON.stringify(name.slice(0, 64))}`;
    if (!isSafeFieldText(value))
      return `header ${JSON.stringify(name)} has a value with CR, LF, NUL or another control character`;
  }
  return null;
}
