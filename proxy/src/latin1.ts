/**
 * Node's direct Buffer bindings for ISO-8859-1 (`latin1Slice`, `latin1Write`), which skip the
 * argument normalisation and encoding lookup of `toString` / `write`: for header-sized strings
 * that overhead costs about as much as the copy itself. Falls back to the public methods where the
 * bindings are missing. (The protocol codec uses the same bindings, msgpack-reader.ts.)
 */
interface DirectLatin1 {
  latin1Slice?(start: number, end: number): string;
  latin1Write?(value: string, offset: number, length: number): number;
}

const PROTO = Buffer.prototype as DirectLatin1;

/** The bytes `buf[start, end)` as a ByteString (one character per byte). */
export const latin1Slice: (buf: Buffer, start: number, end: number) => string =
  typeof PROTO.latin1Slice === 'function'
    ? (buf, start, end) => (buf as DirectLatin1).latin1Slice!(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end);

/** Writes a ByteString at `offset` (each character one byte); returns the bytes written. */
export const latin1Write: (buf: Buffer, value: string, offset: number) => number =
  typeof PROTO.latin1Write === 'function'
    ? (buf, value, offset) => (buf as DirectLatin1).latin1Write!(value, offset, value.length)
    : (buf, value, offset) => buf.write(value, offset, 'latin1');
