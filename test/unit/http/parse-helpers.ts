import type { HeaderPairs } from '@gatewire/protocol';
import type { RequestHead } from '../../../proxy/src/http/exchange.js';
import { HttpParseError } from '../../../proxy/src/http/http-errors.js';
import { DEFAULT_HTTP_FRONT_OPTIONS } from '../../../proxy/src/http/http-front-options.js';
import {
  ParseEvent,
  RequestParser,
  type RequestParserLimits,
} from '../../../proxy/src/http/request-parser.js';

export interface ParsedMessage {
  head: RequestHead;
  /** The decoded body, latin1. */
  body: string;
  trailers: HeaderPairs | null;
}

export interface ParseOutcome {
  messages: ParsedMessage[];
  error: HttpParseError | null;
  /** A request whose head (or body) was not complete when the input ended. */
  incomplete: boolean;
}

export const LIMITS: RequestParserLimits = DEFAULT_HTTP_FRONT_OPTIONS;

export function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** Splits `input` at the given sizes (cycled); 'bytewise' = one byte per chunk; undefined = one chunk. */
export function split(input: Buffer, sizes?: readonly number[] | 'bytewise'): Buffer[] {
  if (sizes === undefined) return [input];
  const pattern = sizes === 'bytewise' ? [1] : sizes;
  const chunks: Buffer[] = [];
  let pos = 0;
  let i = 0;
  while (pos < input.length) {
    const size = Math.max(1, pattern[i++ % pattern.length]);
    // Copies, so the parser cannot rely on one chunk following another in memory.
    chunks.push(Buffer.from(input.subarray(pos, pos + size)));
    pos += size;
  }
  return chunks;
}

/** Feeds chunks to a fresh parser, collecting every complete request; stops at the first refusal. */
export function parseChunks(chunks: readonly Buffer[], limits: RequestParserLimits = LIMITS): ParseOutcome {
  const parser = new RequestParser(limits);
  const messages: ParsedMessage[] = [];
  let head: RequestHead | null = null;
  let body: Buffer[] = [];
  try {
    for (const chunk of chunks) {
      let pos = 0;
      // Bounded: each event consumes bytes, except END which completes a request.
      for (let guard = 0; guard < 100_000; guard++) {
        const event = parser.execute(chunk, pos);
        if (parser.offset < pos || parser.offset > chunk.length) throw new Error('offset out of range');
        pos = parser.offset;
        if (event === ParseEvent.NEED_MORE) {
          if (pos !== chunk.length) throw new Error('NEED_MORE before the end of the input');
          break;
        }
        if (event === ParseEvent.HEAD) {
          head = parser.head;
          body = [];
        } else if (event === ParseEvent.BODY) {
          body.push(Buffer.from(parser.body));
        } else if (event === ParseEvent.END) {
          messages.push({
            head: head!,
            body: Buffer.concat(body).toString('latin1'),
            trailers: parser.trailers,
          });
          head = null;
        }
      }
    }
    // A request without a body ends without more input.
    if (head !== null) {
      const event = parser.execute(Buffer.alloc(0), 0);
      if (event === ParseEvent.END) {
        messages.push({ head, body: Buffer.concat(body).toString('latin1'), trailers: parser.trailers });
        head = null;
      }
    }
  } catch (error) {
    if (error instanceof HttpParseError) return { messages, error, incomplete: false };
    throw error;
  }
  return { messages, error: null, incomplete: head !== null || parser.headPending };
}

export function parse(
  text: string | Buffer,
  sizes?: readonly number[] | 'bytewise',
  limits?: RequestParserLimits,
): ParseOutcome {
  return parseChunks(split(typeof text === 'string' ? bytes(text) : text, sizes), limits);
}

/** A comparable summary of an outcome (heads as plain objects). */
export function summary(outcome: ParseOutcome): unknown {
  return {
    error: outcome.error === null ? null : outcome.error.code,
    incomplete: outcome.incomplete,
    messages: outcome.messages.map((m) => ({ head: { ...m.head }, body: m.body, trailers: m.trailers })),
  };
}
