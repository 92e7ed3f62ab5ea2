import { ErrorCode, type HeaderPairs } from '@gatewire/protocol';
import { LightResponse, type LightBody } from './light-response.js';
import { isNativeResponse } from './native-web-classes.js';
import type { RequestStream } from './request-stream.js';

const TEXT_PLAIN = 'text/plain;charset=UTF-8';
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// CR, LF and NUL may not appear in a value (SPEC §8.1), nor characters that are not bytes (SPEC §7.1).
const BAD_VALUE = /[\0\r\n\u0100-\uffff]/;
const ERROR_BODY = Buffer.from('Internal Server Error\n');

/** The tunnel side the writer opens (implemented by StreamTunnel). */
export interface OpenableTunnel {
  /** The 101 head went out: writes may flow. */
  opened(): void;
  /** fetch returned another response: the tunnel will never open. */
  fail(reason: unknown): void;
}

function swallow(): void {}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `a ${typeof value}`;
}

/** No body may go out: HEAD, 1xx, 204, 304 (SPEC §8.1). */
function bodyless(stream: RequestStream, status: number): boolean {
  return status === 204 || status === 304 || status < 200 || stream.environ.method === 'HEAD';
}

/** Pairs from a HeadersInit as the app gave it (names lowercased; invalid fields throw as Headers would). */
function pairsFromInit(init: Headers | HeadersInit | undefined, pairs: HeaderPairs): void {
  if (init === undefined || init === null) return;
  if (init instanceof Headers) {
    for (const [name, value] of init) pairs.push([name, value]);
    return;
  }
  if (Array.isArray(init) || typeof (init as unknown as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of init as Iterable<readonly [string, string]>) {
      if (pair.length !== 2) throw new TypeError('Headers: each header must be a [name, value] pair');
      addPair(pairs, String(pair[0]), String(pair[1]));
    }
    return;
  }
  const record = init as Record<string, string>;
  for (const name in record) addPair(pairs, name, String(record[name]));
}

function addPair(pairs: HeaderPairs, name: string, value: string): void {
  if (!TOKEN.test(name)) throw new TypeError(`Headers: invalid header name ${JSON.stringify(name)}`);
  if (BAD_VALUE.test(value)) throw new TypeError(`Headers: invalid value for header ${name}`);
  const trimmed =
    value.length > 0 && (value.charCodeAt(0) <= 0x20 || value.charCodeAt(value.length - 1) <= 0x20)
      ? value.replace(/^[\t ]+|[\t ]+$/g, '')
      : value;
  pairs.push([name.toLowerCase(), trimmed]);
}

function has(pairs: HeaderPairs, name: string): boolean {
  for (let i = 0; i < pairs.length; i++) if (pairs[i][0] === name) return true;
  return false;
}

function chunkBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`a response body chunk must be a Uint8Array, got ${describe(chunk)}`);
}

/**
 * Answers a stream with what the app's fetch handler returned (SPEC §8). Every failure becomes a
 * 500 (before the head) or RESET APP_ERROR (after it), with an error log line.
 */
export function deliverResponse(stream: RequestStream, response: unknown): void {
  if (stream.closed) {
    discardResponse(response);
    return;
  }
  try {
    if (!isNativeResponse(response)) {
      throw new TypeError(`the fetch handler returned ${describe(response)}; expected a Response`);
    }
    const tunnel = LightResponse.tunnelOf(response) as OpenableTunnel | null;
    if (stream.tunnel !== null && tunnel !== stream.tunnel) {
      (stream.tunnel as unknown as OpenableTunnel).fail(
        new DOMException('fetch returned a response other than the tunnel 101', 'AbortError'),
      );
      stream.tunnel = null;
    }
    if (tunnel !== null) {
      if (tunnel !== stream.tunnel) throw new TypeError('the 101 response belongs to another request');
      const pairs: HeaderPairs = [];
      pairsFromInit(LightResponse.headersOf(response as unknown as LightResponse), pairs);
      stream.tunnelOpen = true;
      stream.sendHead(101, pairs, false);
      tunnel.opened();
      return;
    }
    if (LightResponse.isUnread(response)) {
      writeLight(stream, response);
      return;
    }
    const status = response.status;
    const pairs: HeaderPairs = [];
    pairsFromInit(response.headers, pairs);
    const body = response.body;
    if (body === null || bodyless(stream, status)) {
      if (body !== null) body.cancel().catch(swallow);
      stream.sendHead(status, pairs, true);
      return;
    }
    stream.sendHead(status, pairs, false);
    void pumpReadable(stream, body);
  } catch (error) {
    failStream(stream, error);
  }
}

function writeLight(stream: RequestStream, response: LightResponse): void {
  const status = LightResponse.statusOf(response);
  const body: LightBody = LightResponse.bodyOf(response);
  const pairs: HeaderPairs = [];
  pairsFromInit(LightResponse.headersOf(response), pairs);
  let bytes: Uint8Array | null;
  if (body === null) bytes = null;
  else if (typeof body === 'string') {
    bytes = Buffer.from(body, 'utf8');
    if (!has(pairs, 'content-type')) pairs.push(['content-type', TEXT_PLAIN]);
  } else if (body instanceof Uint8Array) bytes = body;
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
  else {
    // A stream: sent as it is produced, never buffered whole.
    if (bodyless(stream, status)) {
      discardBody(body);
      stream.sendHead(status, pairs, true);
      return;
    }
    stream.sendHead(status, pairs, false);
    if (body instanceof ReadableStream) void pumpReadable(stream, body);
    else void pumpIterable(stream, body);
    return;
  }
  const noBody = bodyless(stream, status);
  if ((bytes !== null || !noBody) && status !== 204 && status !== 304 && !has(pairs, 'content-length')) {
    pairs.push(['content-length', bytes === null ? '0' : String(bytes.length)]);
  }
  if (noBody || bytes === null || bytes.length === 0) {
    stream.sendHead(status, pairs, true);
    return;
  }
  stream.sendHead(status, pairs, false);
  stream.writeData(bytes, true);
}

/** Pumps a ReadableStream body: one chunk at a time, only while the window is open (SPEC §9). */
async function pumpReadable(stream: RequestStream, body: ReadableStream<unknown>): Promise<void> {
  let reader: ReadableStreamDefaultReader<unknown>;
  try {
    reader = body.getReader();
  } catch (error) {
    failStream(stream, error);
    return;
  }
  stream.bodySource = reader;
  try {
    for (;;) {
      if (!stream.writable) {
        await stream.whenWritable();
        if (stream.closed) return;
      }
      const { done, value } = await reader.read();
      if (stream.closed) return;
      if (done) {
        stream.endData();
        return;
      }
      stream.writeData(chunkBytes(value), false);
    }
  } catch (error) {
    failStream(stream, error);
    reader.cancel(error).catch(swallow);
  } finally {
    if (!stream.closed) stream.bodySource = null;
  }
}

/** Cancels an async iterator when the stream is reset. */
class IteratorHandle {
  #iterator: AsyncIterator<unknown>;

  constructor(iterator: AsyncIterator<unknown>) {
    this.#iterator = iterator;
  }

  cancel(): unknown {
    return this.#iterator.return?.();
  }
}

/** Pumps an async iterable body (undici accepts these as bodies too). */
async function pumpIterable(stream: RequestStream, body: AsyncIterable<unknown>): Promise<void> {
  let iterator: AsyncIterator<unknown>;
  try {
    iterator = body[Symbol.asyncIterator]();
  } catch (error) {
    failStream(stream, error);
    return;
  }
  stream.bodySource = new IteratorHandle(iterator);
  try {
    for (;;) {
      if (!stream.writable) {
        await stream.whenWritable();
        if (stream.closed) return;
      }
      const { done, value } = await iterator.next();
      if (stream.closed) return;
      if (done) {
        stream.endData();
        return;
      }
      stream.writeData(chunkBytes(value), false);
    }
  } catch (error) {
    failStream(stream, error);
    Promise.resolve(iterator.return?.()).catch(swallow);
  } finally {
    if (!stream.closed) stream.bodySource = null;
  }
}

function discardBody(body: LightBody): void {
  if (body instanceof ReadableStream) body.cancel().catch(swallow);
  else if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
    try {
      Promise.resolve(body[Symbol.asyncIterator]().return?.()).catch(swallow);
    } catch {
      // nothing to release
    }
  }
}

/** A response for a stream that is already gone: release its body. */
export function discardResponse(response: unknown): void {
  try {
    if (LightResponse.isUnread(response)) discardBody(LightResponse.bodyOf(response));
    else if (isNativeResponse(response) && response.body !== null && !response.bodyUsed) {
      response.body.cancel().catch(swallow);
    }
  } catch {
    // nothing to release
  }
}

/**
 * The app failed (threw, rejected, returned a non-Response, its body stream errored): a 500 if the
 * head is not out yet, else RESET APP_ERROR (SPEC §10); one error line with the request id.
 */
export function failStream(stream: RequestStream, error: unknown): void {
  if (stream.closed) {
    // The stream was cancelled or timed out; an AbortError from the app is the expected echo.
    stream.host.logger.debug(
      { event: 'app-error-after-close', request_id: stream.environ.requestId, err: error },
      'app failed after its stream had ended',
    );
    return;
  }
  stream.host.logger.error(
    {
      event: 'app-error',
      request_id: stream.environ.requestId,
      method: stream.environ.method,
      path: stream.environ.path,
      err: error,
    },
    stream.headSent ? 'app failed while streaming the response body' : 'app threw; answered 500',
  );
  if (stream.headSent) {
    stream.reset(ErrorCode.APP_ERROR, error instanceof Error ? error.message : 'application error');
    return;
  }
  const headers: HeaderPairs = [
    ['content-type', TEXT_PLAIN],
    ['content-length', String(ERROR_BODY.length)],
  ];
  if (stream.environ.method === 'HEAD') {
    stream.sendHead(500, headers, true);
    return;
  }
  stream.sendHead(500, headers, false);
  stream.writeData(ERROR_BODY, true);
}
