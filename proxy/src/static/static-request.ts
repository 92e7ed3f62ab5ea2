import type { FileHandle } from 'node:fs/promises';
import type { HeaderPairs } from '@gatewire/protocol';
import type { AbortReason, Exchange, ExchangeHandler } from '../http/exchange.js';
import { contentTypeFor } from './content-types.js';
import { fileValidators, type FileValidators } from './file-etag.js';
import { closeQuietly, resolveStaticFile } from './file-resolver.js';
import { fieldRepeated, fieldValue } from './header-fields.js';
import { formatHttpDate } from './http-date.js';
import { contentRange, parseRange, unsatisfiedContentRange, type RangeResult } from './http-ranges.js';
import { evaluatePreconditions, rangeStillValid } from './preconditions.js';
import { parseRequestPath } from './safe-path.js';

/** What a StaticRequest needs from its StaticFiles: validated, frozen options. */
export interface StaticConfig {
  readonly root: string;
  readonly index: readonly string[];
  readonly maxAgeSeconds: number | null;
}

/**
 * Bytes read from the file per write. With backpressure honoured, the memory one download holds is
 * about one chunk plus whatever the client socket buffers, whatever the file size.
 */
export const CHUNK_SIZE = 64 * 1024;

type State = 'resolving' | 'streaming' | 'done';

/**
 * One static request: the ExchangeHandler the front talks to, and the state of serving one file.
 * Created by StaticFiles.handle; lives until the response ends or the client leaves.
 */
export class StaticRequest implements ExchangeHandler {
  readonly #exchange: Exchange;
  readonly #config: StaticConfig;
  #state: State = 'resolving';
  #handle: FileHandle | null = null;
  /** Set by onResponseDrain; cleared before each write that might fill the socket. */
  #drained = true;
  #wakeWriter: (() => void) | null = null;
  /** The front said the client is gone: call nothing on the exchange any more. */
  #aborted = false;

  constructor(exchange: Exchange, config: StaticConfig) {
    this.#exchange = exchange;
    this.#config = config;
  }

  start(relativePath: string | null): void {
    const exchange = this.#exchange;
    exchange.handler = this;
    // A request body has no meaning here (RFC 9110 §9.3.1 for GET and HEAD; any other method gets a
    // 405): say so up front instead of starting it, so the front never sends `100 Continue` for a
    // body nobody reads (RFC 9110 §10.1.1 lets a server answer with the final status instead), and
    // drains or closes as it sees fit. Without a body, starting it is what lets the front move on.
    if (exchange.head.bodyLength === 0) exchange.startRequestBody();
    else exchange.discardRequestBody();

    const method = exchange.head.method;
    if (method !== 'GET' && method !== 'HEAD') {
      this.#fail(405, 'method not allowed', [['allow', 'GET, HEAD']]);
      return;
    }
    if (relativePath === null) {
      this.#redirectToSlash();
      return;
    }
    const path = parseRequestPath(relativePath);
    if (!path.ok) {
      this.#fail(path.status, path.status === 400 ? 'bad request path' : 'not found');
      return;
    }
    void this.#serve(path.segments);
  }

  onRequestBody(_chunk: Buffer): void {
    // Dropped: see start().
  }

  onRequestEnd(_trailers: HeaderPairs | null): void {
    // Nothing waits for the body of a GET or HEAD.
  }

  onResponseDrain(): void {
    this.#drained = true;
    this.#wake();
  }

  onAbort(_reason: AbortReason): void {
    this.#aborted = true;
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#release();
    // The streaming loop sees the state on waking and stops; an in-flight read completes first,
    // because FileHandle.close waits for pending operations.
    this.#wake();
  }

  async #serve(segments: readonly string[]): Promise<void> {
    try {
      await this.#serveFile(segments);
    } catch {
      // Unexpected (a read error mid-file, a bug): before the head a 500, after it a cut connection.
      try {
        this.#fail(500, 'internal error');
      } catch {
        // The exchange itself threw (its connection is already gone): nothing is left to tell, and
        // a rejection here would be unhandled. #fail released the file before calling out.
      }
    }
  }

  async #serveFile(segments: readonly string[]): Promise<void> {
    const exchange = this.#exchange;
    const resolution = await resolveStaticFile(
      this.#config.root,
      segments,
      exchange.head.path.endsWith('/'),
      this.#config.index,
    );
    if (resolution.kind === 'file') {
      if (this.#state === 'done') {
        // The client left while the file was being looked up.
        await closeQuietly(resolution.handle);
        return;
      }
      this.#handle = resolution.handle;
    } else if (this.#state === 'done') {
      return;
    }
    switch (resolution.kind) {
      case 'refused':
        this.#fail(resolution.status, statusMessage(resolution.status));
        return;
      case 'directory-without-slash':
        this.#redirectToSlash();
        return;
      case 'file':
        break;
    }

    const size = Number(resolution.stats.size);
    const now = Date.now() / 1000;
    const validators = fileValidators(resolution.stats, now);
    const headers = exchange.head.headers;
    switch (evaluatePreconditions(headers, validators, now)) {
      case 'precondition-failed':
        this.#fail(412, 'precondition failed');
        return;
      case 'not-modified':
        // RFC 9110 §15.4.5: the fields a 200 would have carried that a cache updates, no others.
        this.#finishWithoutBody(304, 'Not Modified', this.#cachingFields(validators));
        return;
      case 'proceed':
        break;
    }

    const fields: HeaderPairs = [
      ['content-type', contentTypeFor(resolution.name)],
      ['accept-ranges', 'bytes'],
      ['last-modified', formatHttpDate(validators.lastModified)],
      ...this.#cachingFields(validators),
    ];
    if (exchange.head.method === 'HEAD') {
      // Range is defined for GET only (RFC 9110 §14.2); HEAD describes the 200 a GET would get.
      fields.push(['content-length', String(size)]);
      this.#finishWithoutBody(200, 'OK', fields);
      return;
    }

    const range = this.#rangeOf(headers, validators, size);
    if (range.kind === 'unsatisfiable') {
      this.#fail(416, 'range not satisfiable', [['content-range', unsatisfiedContentRange(size)]]);
      return;
    }
    if (range.kind === 'partial') {
      const length = range.end - range.start + 1;
      fields.push(
        ['content-length', String(length)],
        ['content-range', contentRange(range.start, range.end, size)],
      );
      exchange.writeResponseHead(206, 'Partial Content', fields);
      await this.#stream(range.start, length);
      return;
    }
    fields.push(['content-length', String(size)]);
    exchange.writeResponseHead(200, 'OK', fields);
    await this.#stream(0, size);
  }

  /** The Range to honour: a repeated Range field, or an If-Range that no longer holds, means none. */
  #rangeOf(headers: HeaderPairs, validators: FileValidators, size: number): RangeResult {
    const range = fieldValue(headers, 'range');
    if (range === null || fieldRepeated(headers, 'range')) return { kind: 'full' };
    const ifRange = fieldValue(headers, 'if-range');
    if (ifRange !== null && !rangeStillValid(ifRange, validators)) return { kind: 'full' };
    return parseRange(range, size);
  }

  #cachingFields(validators: FileValidators): HeaderPairs {
    const fields: HeaderPairs = [['etag', validators.etag]];
    if (this.#config.maxAgeSeconds !== null)
      fields.push(['cache-control', `max-age=${this.#config.maxAgeSeconds}`]);
    return fields;
  }

  /** Sends `length` bytes from `position`, one chunk at a time, waiting for drain when told to. */
  async #stream(position: number, length: number): Promise<void> {
    const handle = this.#handle;
    // The front may report an abort from inside writeResponseHead; then there is nothing to send.
    if (handle === null || this.#aborted) return;
    this.#state = 'streaming';
    let remaining = length;
    while (remaining > 0) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, remaining));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (this.#state !== 'streaming') return;
      if (bytesRead === 0) {
        // The file shrank after fstat; the Content-Length already sent can no longer be honoured.
        this.#fail(500, 'file truncated while sent');
        return;
      }
      position += bytesRead;
      remaining -= bytesRead;
      this.#drained = false;
      // subarray, never the whole buffer, on a short read: allocUnsafe memory must not leak out.
      const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
      if (!this.#exchange.writeResponseBody(chunk) && !this.#drained) {
        await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
      }
      if (this.#state !== 'streaming') return;
    }
    this.#state = 'done';
    this.#release();
    this.#exchange.endResponse(null);
  }

  #finishWithoutBody(status: number, reason: string, fields: HeaderPairs): void {
    this.#state = 'done';
    this.#release();
    this.#exchange.writeResponseHead(status, reason, fields);
    if (!this.#aborted) this.#exchange.endResponse(null);
  }

  #redirectToSlash(): void {
    const head = this.#exchange.head;
    // Leading slashes collapsed: `//evil.example/dir` must not become a scheme-relative Location.
    const location = `/${head.path.replace(/^\/+/, '')}/${head.query === '' ? '' : `?${head.query}`}`;
    this.#finishWithoutBody(301, 'Moved Permanently', [
      ['location', location],
      ['content-length', '0'],
    ]);
  }

  /** Ends the exchange with an error response, or a cut connection once the head is out. */
  #fail(status: number, message: string, fields?: HeaderPairs): void {
    if (this.#state === 'done' || this.#aborted) return;
    this.#state = 'done';
    this.#release();
    this.#exchange.respondError(status, message, fields);
  }

  #release(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    void closeQuietly(handle);
  }

  #wake(): void {
    const wake = this.#wakeWriter;
    this.#wakeWriter = null;
    wake?.();
  }
}

function statusMessage(status: 403 | 404 | 500): string {
  switch (status) {
    case 403:
      return 'forbidden';
    case 404:
      return 'not found';
    case 500:
      return 'internal error';
  }
}
