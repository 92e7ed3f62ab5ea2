import type { HeaderPairs } from '@gatewire/protocol';
import { CR, HEX_VALUE, HTAB, LF, QDTEXT, QUOTED_PAIR_CHAR, SP, TCHAR } from './char-classes.js';
import { parseFieldLines } from './field-line-parser.js';
import { HttpParseError } from './http-errors.js';

/** What ChunkedDecoder.next() found. */
export const ChunkEvent = {
  /** Every byte up to the end of the input was consumed; feed more. */
  NEED_MORE: 0,
  /** Body bytes at [dataStart, dataEnd) of the input. */
  DATA: 1,
  /** The last chunk and the trailer section were read; `trailers` holds the fields (or null). */
  END: 2,
} as const;

export type ChunkEventCode = (typeof ChunkEvent)[keyof typeof ChunkEvent];

export interface ChunkedLimits {
  /** 0 = unlimited. */
  readonly maxBodyBytes: number;
  /** Bound of the trailer section, bytes. */
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
}

/** A chunk-size line (size, extensions, CRLF) longer than this is refused: extensions carry nothing we use. */
export const MAX_CHUNK_LINE_BYTES = 4096;
/** Hex digits in a chunk size; 13 would already exceed 2^52. Leading zeros count. */
export const MAX_CHUNK_SIZE_DIGITS = 16;

// States of the chunk-size line (RFC 9112 §7.1):
//   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// We refuse the BWS (whitespace) the grammar tolerates: llhttp refuses it too, no client sends
// chunk extensions at all, and whitespace inside framing is a classic disagreement between parsers.
const SIZE_START = 0;
const SIZE = 1;
const EXT_NAME_START = 3;
const EXT_NAME = 4;
const EXT_VALUE_START = 6;
const EXT_TOKEN = 7;
const EXT_QUOTED = 8;
const EXT_QUOTED_PAIR = 9;
const EXT_AFTER_QUOTED = 10;
const SIZE_LF = 11;
const DATA = 12;
const DATA_CR = 13;
const DATA_LF = 14;
// Trailer section: *( field-line CRLF ) CRLF, collected whole then parsed like a header section.
const TRAILER_LINE_START = 15;
const TRAILER_LINE = 16;
const TRAILER_LINE_LF = 17;
const TRAILER_END_LF = 18;
const DONE = 19;

const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * An incremental, sans-I/O decoder of a chunked request body. Feed it any slicing of the bytes;
 * it reports body data as index ranges of the input (the caller takes views: no copy), and
 * refuses every framing error with an HttpParseError: non-hex or overlong sizes, malformed
 * extensions, a missing CRLF after chunk data, bare CR/LF, invalid trailer fields, and a body
 * over the limit as soon as a chunk size announces it (413, before its data is read).
 */
export class ChunkedDecoder {
  #limits: ChunkedLimits;
  #state = SIZE_START;
  #size = 0;
  #digits = 0;
  #lineBytes = 0;
  #remaining = 0;
  #total = 0;
  #trailerParts: Buffer[] | null = null;
  #trailerBytes = 0;

  /** Set by DATA: the range of the input holding body bytes. */
  dataStart = 0;
  dataEnd = 0;
  /** Set by every call: the index of the first input byte not consumed. */
  offset = 0;
  /** Set by END: the trailer fields, or null when there were none. */
  trailers: HeaderPairs | null = null;

  constructor(limits: ChunkedLimits) {
    this.#limits = limits;
  }

  /** Decoded body bytes so far. */
  get bodyBytes(): number {
    return this.#total;
  }

  get done(): boolean {
    return this.#state === DONE;
  }

  reset(): void {
    this.#state = SIZE_START;
    this.#size = 0;
    this.#digits = 0;
    this.#lineBytes = 0;
    this.#remaining = 0;
    this.#total = 0;
    this.#trailerParts = null;
    this.#trailerBytes = 0;
    this.trailers = null;
  }

  /** Decodes from buf[pos] on, until one event. */
  next(buf: Buffer, pos: number): ChunkEventCode {
    const end = buf.length;
    let state = this.#state;
    while (pos < end) {
      if (state === DATA) {
        const take = Math.min(this.#remaining, end - pos);
        this.dataStart = pos;
        this.dataEnd = pos + take;
        this.#remaining -= take;
        if (this.#remaining === 0) state = DATA_CR;
        this.#state = state;
        this.offset = pos + take;
        return ChunkEvent.DATA;
      }
      if (state >= TRAILER_LINE_START) {
        if (state === DONE) break;
        this.#state = state;
        return this.#trailerSection(buf, pos);
      }
      const c = buf[pos++];
      if (state < SIZE_LF && ++this.#lineBytes > MAX_CHUNK_LINE_BYTES)
        throw new HttpParseError('CHUNK_LINE_TOO_LONG', `chunk-size line over ${MAX_CHUNK_LINE_BYTES} bytes`);
      switch (state) {
        case SIZE_START:
        case SIZE: {
          const v = HEX_VALUE[c];
          if (v !== 0xff) {
            if (++this.#digits > MAX_CHUNK_SIZE_DIGITS)
              throw new HttpParseError('CHUNK_SIZE_TOO_LONG', 'chunk size has too many digits');
            this.#size = this.#size * 16 + v;
            state = SIZE;
          } else if (state === SIZE_START) {
            throw new HttpParseError('INVALID_CHUNK_SIZE', 'chunk size is not hexadecimal');
          } else if (c === CR) {
            state = SIZE_LF;
          } else if (c === SEMICOLON) {
            state = EXT_NAME_START;
          } else if (c === SP || c === HTAB) {
            throw new HttpParseError('INVALID_CHUNK_EXTENSION', 'whitespace in chunk-size line');
          } else {
            throw new HttpParseError(c === LF ? 'BARE_LF' : 'INVALID_CHUNK_SIZE', 'invalid chunk-size line');
          }
          break;
        }
        case EXT_NAME_START:
          if (TCHAR[c] === 1) state = EXT_NAME;
          else extensionError(c);
          break;
        case EXT_NAME:
          if (TCHAR[c] === 1) break;
          if (c === CR) state = SIZE_LF;
          else if (c === EQUALS) state = EXT_VALUE_START;
          else if (c === SEMICOLON) state = EXT_NAME_START;
          else extensionError(c);
          break;
        case EXT_VALUE_START:
          if (TCHAR[c] === 1) state = EXT_TOKEN;
          else if (c === DQUOTE) state = EXT_QUOTED;
          else extensionError(c);
          break;
        case EXT_TOKEN:
          if (TCHAR[c] === 1) break;
          if (c === CR) state = SIZE_LF;
          else if (c === SEMICOLON) state = EXT_NAME_START;
          else extensionError(c);
          break;
        case EXT_QUOTED:
          if (c === DQUOTE) state = EXT_AFTER_QUOTED;
          else if (c === BACKSLASH) state = EXT_QUOTED_PAIR;
          else if (QDTEXT[c] !== 1) extensionError(c);
          break;
        case EXT_QUOTED_PAIR:
          if (QUOTED_PAIR_CHAR[c] !== 1) extensionError(c);
          state = EXT_QUOTED;
          break;
        case EXT_AFTER_QUOTED:
          if (c === CR) state = SIZE_LF;
          else if (c === SEMICOLON) state = EXT_NAME_START;
          else extensionError(c);
          break;
        case SIZE_LF: {
          if (c !== LF) throw new HttpParseError('BARE_CR', 'CR not followed by LF in chunk-size line');
          const size = this.#size;
          const max = this.#limits.maxBodyBytes;
          if (max > 0 && this.#total + size > max)
            throw new HttpParseError('BODY_TOO_LARGE', `chunked body over the ${max}-byte limit`);
          if (this.#total + size > Number.MAX_SAFE_INTEGER)
            throw new HttpParseError('CHUNK_SIZE_TOO_LONG', 'chunked body size overflows');
          this.#total += size;
          this.#size = 0;
          this.#digits = 0;
          this.#lineBytes = 0;
          if (size === 0) {
            state = TRAILER_LINE_START;
          } else {
            this.#remaining = size;
            state = DATA;
          }
          break;
        }
        case DATA_CR:
          if (c !== CR) throw new HttpParseError('MISSING_CHUNK_CRLF', 'chunk data not followed by CRLF');
          state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== LF) throw new HttpParseError('MISSING_CHUNK_CRLF', 'chunk data not followed by CRLF');
          state = SIZE_START;
          break;
      }
    }
    this.#state = state;
    this.offset = pos;
    return ChunkEvent.NEED_MORE;
  }

  /**
   * Scans trailer bytes for the empty line that ends the section, checking line endings on the way
   * (fields themselves are checked once the section is whole). The common `0\r\n\r\n` costs two
   * byte comparisons and no allocation.
   */
  #trailerSection(buf: Buffer, start: number): ChunkEventCode {
    const end = buf.length;
    let state = this.#state;
    let pos = start;
    while (pos < end && state !== DONE) {
      const c = buf[pos++];
      switch (state) {
        case TRAILER_LINE_START:
          if (c === CR) state = TRAILER_END_LF;
          else if (c === LF) throw new HttpParseError('BARE_LF', 'LF not preceded by CR in trailers');
          else state = TRAILER_LINE;
          break;
        case TRAILER_LINE:
          if (c === CR) state = TRAILER_LINE_LF;
          else if (c === LF) throw new HttpParseError('BARE_LF', 'LF not preceded by CR in trailers');
          break;
        case TRAILER_LINE_LF:
          if (c !== LF) throw new HttpParseError('BARE_CR', 'CR not followed by LF in trailers');
          state = TRAILER_LINE_START;
          break;
        case TRAILER_END_LF:
          if (c !== LF) throw new HttpParseError('BARE_CR', 'CR not followed by LF in trailers');
          state = DONE;
          break;
      }
    }
    const used = pos - start;
    this.#trailerBytes += used;
    if (this.#trailerBytes > this.#limits.maxHeaderBytes)
      throw new HttpParseError(
        'TRAILERS_TOO_LARGE',
        `trailer section over ${this.#limits.maxHeaderBytes} bytes`,
      );
    this.#state = state;
    this.offset = pos;
    if (state !== DONE) {
      (this.#trailerParts ??= []).push(Buffer.from(buf.subarray(start, pos)));
      return ChunkEvent.NEED_MORE;
    }
    if (this.#trailerBytes === 2) {
      this.trailers = null;
      return ChunkEvent.END;
    }
    const parts = this.#trailerParts;
    let section: string;
    if (parts === null) {
      section = buf.toString('latin1', start, pos);
    } else {
      parts.push(buf.subarray(start, pos));
      section = Buffer.concat(parts).toString('latin1');
      this.#trailerParts = null;
    }
    const trailers: HeaderPairs = [];
    parseFieldLines(section, 0, trailers, this.#limits.maxHeaderCount, true);
    this.trailers = trailers;
    return ChunkEvent.END;
  }
}

function extensionError(c: number): never {
  if (c === LF) throw new HttpParseError('BARE_LF', 'LF not preceded by CR in chunk-size line');
  throw new HttpParseError('INVALID_CHUNK_EXTENSION', 'malformed chunk extension');
}
