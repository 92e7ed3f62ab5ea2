import type { HeaderPairs } from '@gatewire/protocol';
import { CR, LF, SP, TARGET_CHAR, TCHAR } from './char-classes.js';
import { ChunkEvent, ChunkedDecoder } from './chunked-decoder.js';
import { HttpParseError } from './http-errors.js';
import { type ParsedRequestHead, parseRequestHead, parseRequestLineEnd } from './request-head-parser.js';

/** What RequestParser.execute() found. */
export const ParseEvent = {
  /** All input up to its end was consumed (partial heads are kept inside the parser); feed more. */
  NEED_MORE: 0,
  /** A request head is complete: `head`. The body (if any) follows. */
  HEAD: 1,
  /** A piece of the decoded body: `body`, a view into the input buffer (no copy). */
  BODY: 2,
  /** The request is complete: `trailers` (null without). The next execute() starts the next request. */
  END: 3,
} as const;

export type ParseEventCode = (typeof ParseEvent)[keyof typeof ParseEvent];

export interface RequestParserLimits {
  readonly maxHeaderBytes: number;
  readonly maxTargetBytes: number;
  readonly maxHeaderCount: number;
  /** 0 = unlimited. */
  readonly maxBodyBytes: number;
}

const HEAD = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const MESSAGE_END = 3;

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

// Where the slow path is in a partial head, for the early checks it makes on each new byte.
const IN_METHOD = 0;
const IN_TARGET = 1;
const IN_VERSION = 2;
const IN_FIELDS = 3;

/**
 * A sans-I/O, incremental HTTP/1.1 request parser (RFC 9112, strict). Feed it bytes in any
 * chunking; it returns one event per call and never reads past the request it is on, so the
 * caller decides when the next pipelined request is parsed. Every refusal is thrown as an
 * HttpParseError carrying the status to answer with; after one, the parser must not be used again.
 *
 * Heads are found with one native search for CRLFCRLF and parsed from one latin1 string. A
 * head split across reads is copied into a small growing buffer (bounded by maxHeaderBytes), with
 * early checks on each new byte so that garbage (TLS on a plain port, bare-LF requests, a target
 * over the limit) is refused as soon as it is visible rather than after a timeout.
 */
export class RequestParser {
  #limits: RequestParserLimits;
  #state = HEAD;
  #remaining = 0;
  #chunked: ChunkedDecoder;
  // Slow path for a head spanning reads.
  #acc: Buffer | null = null;
  #accLength = 0;
  #scanned = 0;
  #phase = IN_METHOD;
  #phaseBytes = 0;

  /** Set by HEAD. */
  head: ParsedRequestHead | null = null;
  /** Set by BODY. */
  body: Buffer = EMPTY;
  /** Set by END. */
  trailers: HeaderPairs | null = null;
  /** Set by every call: index of the first input byte not consumed. */
  offset = 0;

  constructor(limits: RequestParserLimits) {
    this.#limits = limits;
    this.#chunked = new ChunkedDecoder(limits);
  }

  /** True while bytes of a head were received but the head is not complete. */
  get headPending(): boolean {
    return this.#state === HEAD && this.#accLength > 0;
  }

  /** True between END (or construction) and the next HEAD. */
  get awaitingHead(): boolean {
    return this.#state === HEAD;
  }

  /** True when every byte of the current request was consumed (its END may still be pending). */
  get messageComplete(): boolean {
    return this.#state === HEAD || this.#state === MESSAGE_END;
  }

  /** Passes the END of a request whose bytes were all consumed (see messageComplete). */
  endMessage(): void {
    if (this.#state === MESSAGE_END) {
      this.#state = HEAD;
      this.trailers = null;
    }
  }

  /** Body bytes of the current request still expected (Content-Length framing), -1 for chunked, 0 when done. */
  get remainingBodyBytes(): number {
    if (this.#state === BODY_LENGTH) return this.#remaining;
    if (this.#state === BODY_CHUNKED) return -1;
    return 0;
  }

  /** Parses from buf[pos] on, until one event. */
  execute(buf: Buffer, pos: number): ParseEventCode {
    switch (this.#state) {
      case HEAD:
        return this.#acc === null ? this.#headFast(buf, pos) : this.#headSlow(buf, pos);
      case BODY_LENGTH: {
        const available = buf.length - pos;
        if (available <= 0) {
          this.offset = pos;
          return ParseEvent.NEED_MORE;
        }
        const take = available < this.#remaining ? available : this.#remaining;
        this.body = pos === 0 && take === buf.length ? buf : buf.subarray(pos, pos + take);
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = MESSAGE_END;
        this.offset = pos + take;
        return ParseEvent.BODY;
      }
      case BODY_CHUNKED: {
        const event = this.#chunked.next(buf, pos);
        this.offset = this.#chunked.offset;
        if (event === ChunkEvent.DATA) {
          const start = this.#chunked.dataStart;
          const end = this.#chunked.dataEnd;
          this.body = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
          return ParseEvent.BODY;
        }
        if (event === ChunkEvent.END) {
          this.#state = HEAD;
          this.trailers = this.#chunked.trailers;
          this.#chunked.reset();
          return ParseEvent.END;
        }
        return ParseEvent.NEED_MORE;
      }
      default:
        this.#state = HEAD;
        this.trailers = null;
        this.offset = pos;
        return ParseEvent.END;
    }
  }

  #headFast(buf: Buffer, pos: number): ParseEventCode {
    const end = buf.length;
    // RFC 9112 §2.2: ignore empty lines before a request line (clients may send CRLF after a body).
    while (pos + 1 < end && buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
    if (pos === end) {
      this.offset = pos;
      return ParseEvent.NEED_MORE;
    }
    const found = buf.indexOf(CRLFCRLF, pos);
    if (found < 0) return this.#headSlow(buf, pos);
    const headEnd = found + 4;
    if (headEnd - pos > this.#limits.maxHeaderBytes)
      this.#tooLarge(buf.subarray(pos, headEnd), headEnd - pos);
    this.#completeHead(buf.toString('latin1', pos, headEnd));
    this.offset = headEnd;
    return ParseEvent.HEAD;
  }

  #headSlow(buf: Buffer, pos: number): ParseEventCode {
    const end = buf.length;
    const limit = this.#limits.maxHeaderBytes;
    let accLength = this.#accLength;
    if (accLength === 0) {
      while (pos + 1 < end && buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
      if (pos === end) {
        this.offset = pos;
        return ParseEvent.NEED_MORE;
      }
    }
    // Take at most what can still belong to a head within the limit (+1 to see it overflow).
    const take = Math.min(end - pos, limit + 1 - accLength);
    let acc = this.#acc;
    if (acc === null || acc.length < accLength + take) {
      const grown = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(1024, (accLength + take) * 2)));
      if (acc !== null) acc.copy(grown, 0, 0, accLength);
      acc = grown;
      this.#acc = acc;
    }
    buf.copy(acc, accLength, pos, pos + take);
    const before = accLength;
    accLength += take;
    this.#accLength = accLength;
    // A lone leading CR (start of an empty line) followed by LF in this read: skip that line too.
    if (before === 1 && acc[0] === CR && acc[1] === LF) {
      this.#resetAcc();
      return this.#headFast(buf, pos + 1);
    }
    const searchFrom = Math.max(0, before - 3);
    const found = acc.subarray(0, accLength).indexOf(CRLFCRLF, searchFrom);
    if (found >= 0) {
      const headEnd = found + 4;
      if (headEnd > limit) this.#tooLarge(acc, headEnd);
      const head = acc.toString('latin1', 0, headEnd);
      this.offset = pos + (headEnd - before);
      this.#resetAcc();
      this.#completeHead(head);
      return ParseEvent.HEAD;
    }
    this.#earlyChecks(acc, accLength);
    if (accLength > limit) this.#tooLarge(acc, accLength);
    this.offset = pos + take;
    return ParseEvent.NEED_MORE;
  }

  /** Checks the bytes of a partial head not seen yet, so malformed input is refused at once. */
  #earlyChecks(acc: Buffer, length: number): void {
    let phase = this.#phase;
    let phaseBytes = this.#phaseBytes;
    for (let i = this.#scanned; i < length; i++) {
      const c = acc[i];
      if (c === LF && (i === 0 || acc[i - 1] !== CR))
        throw new HttpParseError('BARE_LF', 'LF not preceded by CR');
      if (i > 0 && acc[i - 1] === CR && c !== LF)
        throw new HttpParseError('BARE_CR', 'CR not followed by LF');
      if (phase === IN_METHOD) {
        // A lone CR first may start an empty line before the request line: the next byte decides.
        if (c === CR && i === 0) continue;
        if (c === SP) {
          phase = IN_TARGET;
          phaseBytes = 0;
        } else if (TCHAR[c] !== 1) {
          if (c === CR && i > 0)
            throw new HttpParseError('INVALID_REQUEST_LINE', 'request line without a target');
          throw new HttpParseError('INVALID_METHOD', 'method is not a token');
        }
      } else if (phase === IN_TARGET) {
        // Same order as the full parse: the first bad byte, or the first byte over the limit.
        if (c === SP || c === CR) phase = IN_VERSION;
        else if (TARGET_CHAR[c] !== 1)
          throw new HttpParseError('INVALID_TARGET', 'invalid character in target');
        else if (++phaseBytes > this.#limits.maxTargetBytes)
          throw new HttpParseError('TARGET_TOO_LONG', `target over ${this.#limits.maxTargetBytes} bytes`);
      } else if (phase === IN_VERSION && c === LF) {
        phase = IN_FIELDS;
      }
    }
    this.#scanned = length;
    this.#phase = phase;
    this.#phaseBytes = phaseBytes;
  }

  /** A head over maxHeaderBytes: 414 when the request line holds a target over its own limit, else 431. */
  #tooLarge(acc: Buffer, length: number): never {
    const lineEnd = acc.indexOf(LF);
    if (lineEnd < 0 || lineEnd >= length) {
      this.#earlyChecks(acc, length);
      throw new HttpParseError('HEADER_TOO_LARGE', `request line over ${this.#limits.maxHeaderBytes} bytes`);
    }
    parseRequestLineEnd(acc.toString('latin1', 0, lineEnd + 1), this.#limits.maxTargetBytes);
    throw new HttpParseError('HEADER_TOO_LARGE', `head over ${this.#limits.maxHeaderBytes} bytes`);
  }

  #resetAcc(): void {
    this.#acc = null;
    this.#accLength = 0;
    this.#scanned = 0;
    this.#phase = IN_METHOD;
    this.#phaseBytes = 0;
  }

  #completeHead(s: string): void {
    const head = parseRequestHead(s, this.#limits);
    this.head = head;
    const length = head.bodyLength;
    if (length === null) {
      this.#state = BODY_CHUNKED;
    } else if (length > 0) {
      this.#state = BODY_LENGTH;
      this.#remaining = length;
    } else {
      this.#state = MESSAGE_END;
    }
  }
}
