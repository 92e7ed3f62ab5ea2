import type { Environ, HeaderPairs } from '@gatewire/protocol';
import { MATERIALIZE, NativeRequest, delegateRemainingMembers } from './native-web-classes.js';
import type { RequestBody } from './request-body.js';

/** What a request reads from its stream (implemented by RequestStream). */
export interface RequestSource {
  readonly environ: Environ;
  /** null when the REQUEST carried END_STREAM (no body). */
  readonly body: RequestBody | null;
  readonly signal: AbortSignal;
}

/** Registered symbol through which upgradeTunnel() reaches the stream behind a request. */
export const REQUEST_SOURCE: unique symbol = Symbol.for('gatewire.worker.requestSource') as never;

const utf8 = new TextDecoder();

// RFC 9110 §9.1 / Fetch "normalize a method": these six are uppercased, others kept as sent.
function normalizeMethod(method: string): string {
  if (method === 'GET' || method === 'POST') return method;
  const upper = method.toUpperCase();
  switch (upper) {
    case 'DELETE':
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'POST':
    case 'PUT':
      return upper;
    default:
      return method;
  }
}

// Anything a URL path cannot hold literally: controls, space, non-ASCII bytes, '#'.
// eslint-disable-next-line no-control-regex -- byte ranges are the point
const NEEDS_ESCAPE = /[\x00-\x20\x7f-\xff#]/;
// A Host value that is a plain authority (no userinfo, path or whitespace).
const PLAIN_HOST = /^[A-Za-z0-9.\-_~:[\]]+$/;

function escapeBytes(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f || code === 0x23) {
      out += `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
    } else out += text[i];
  }
  return out;
}

function hostOf(environ: Environ): string {
  const headers = environ.headers;
  for (let i = 0; i < headers.length; i++) {
    if (headers[i][0] === 'host') {
      const host = headers[i][1];
      if (host !== '' && PLAIN_HOST.test(host)) return host;
      break;
    }
  }
  const name = environ.serverName === '' ? 'localhost' : environ.serverName;
  const port = environ.serverPort;
  const defaultPort = environ.scheme === 'https' ? 443 : 80;
  return port === 0 || port === defaultPort ? name : `${name}:${port}`;
}

/**
 * The request URL, `scheme://host/path?query`, from the environ (SPEC §7.2). Bytes a URL cannot
 * hold are percent-encoded; paths with dot segments or backslashes go through the URL parser so
 * the result equals what `new Request(url).url` would say.
 */
export function requestUrl(environ: Environ): string {
  let path = environ.path;
  if (path === '' || path.charCodeAt(0) !== 0x2f) path = `/${path === '*' ? '' : path}`;
  let query = environ.query;
  if (NEEDS_ESCAPE.test(path)) path = escapeBytes(path);
  if (query !== '' && NEEDS_ESCAPE.test(query)) query = escapeBytes(query);
  const url = `${environ.scheme === 'https' ? 'https' : 'http'}://${hostOf(environ)}${path}${query === '' ? '' : `?${query}`}`;
  if (path.includes('/.') || path.includes('\\') || path.includes('%2e') || path.includes('%2E')) {
    return new URL(url).href;
  }
  return url;
}

/** A Headers object holding the environ's header pairs, in order, duplicates kept. */
export function headersFromPairs(pairs: HeaderPairs): Headers {
  const headers = new Headers();
  for (let i = 0; i < pairs.length; i++) headers.append(pairs[i][0], pairs[i][1]);
  return headers;
}

function decodeText(body: Buffer): string {
  return utf8.decode(body);
}

function parseJson(body: Buffer): unknown {
  return JSON.parse(utf8.decode(body)) as unknown;
}

function toArrayBuffer(body: Buffer): ArrayBuffer {
  if (
    body.byteOffset === 0 &&
    body.byteLength === body.buffer.byteLength &&
    body.buffer instanceof ArrayBuffer
  ) {
    return body.buffer;
  }
  const copy = new ArrayBuffer(body.byteLength);
  new Uint8Array(copy).set(body);
  return copy;
}

function toBytes(body: Buffer): Uint8Array {
  return new Uint8Array(toArrayBuffer(body));
}

/**
 * A web Request built lazily from the environ (`request instanceof Request` holds).
 *
 * undici's Request constructor costs microseconds per request; most apps read only the method,
 * the URL and a header or two. This class answers `method`, `url`, `headers`, `signal`,
 * `bodyUsed` and the body readers `text()`/`json()`/`arrayBuffer()`/`bytes()`/`blob()` itself,
 * reading the body straight from the DATA frames. Anything else (`body`, `clone()`, `formData()`,
 * `cache`, …) first builds the real undici Request, with the same body stream, and delegates to
 * it from then on, so every Request feature works.
 */
export class GatewayRequest {
  #source: RequestSource;
  #url: string | undefined = undefined;
  #headers: Headers | undefined = undefined;
  #real: Request | undefined = undefined;

  constructor(source: RequestSource) {
    this.#source = source;
  }

  get method(): string {
    return normalizeMethod(this.#source.environ.method);
  }

  get url(): string {
    if (this.#real !== undefined) return this.#real.url;
    return (this.#url ??= requestUrl(this.#source.environ));
  }

  get headers(): Headers {
    if (this.#real !== undefined) return this.#real.headers;
    return (this.#headers ??= headersFromPairs(this.#source.environ.headers));
  }

  get signal(): AbortSignal {
    return this.#real !== undefined ? this.#real.signal : this.#source.signal;
  }

  get bodyUsed(): boolean {
    const body = this.#source.body;
    if (body !== null && body.disturbed) return true;
    return this.#real !== undefined ? this.#real.bodyUsed : false;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this[MATERIALIZE]().body;
  }

  text(): Promise<string> {
    return this.#collect().then(decodeText);
  }

  json(): Promise<unknown> {
    return this.#collect().then(parseJson);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#collect().then(toArrayBuffer);
  }

  bytes(): Promise<Uint8Array> {
    return this.#collect().then(toBytes);
  }

  blob(): Promise<Blob> {
    const type = this.headers.get('content-type') ?? '';
    return this.#collect().then((body) => new Blob([body as Uint8Array<ArrayBuffer>], { type }));
  }

  get [Symbol.toStringTag](): string {
    return 'Request';
  }

  /** The stream behind this request (upgradeTunnel() uses it). */
  get [REQUEST_SOURCE](): RequestSource {
    return this.#source;
  }

  /** The real undici Request, built on first need, sharing this request's body stream and signal. */
  [MATERIALIZE](): Request {
    if (this.#real !== undefined) return this.#real;
    const source = this.#source;
    const method = this.method;
    const init: RequestInit & { duplex?: 'half' } = {
      method,
      headers: this.#headers ?? headersFromPairs(source.environ.headers),
      signal: source.signal,
    };
    const body = source.body;
    if (body !== null && method !== 'GET' && method !== 'HEAD' && !body.disturbed) {
      init.body = body.stream();
      init.duplex = 'half';
    }
    this.#real = new NativeRequest(this.url, init);
    this.#headers = undefined;
    return this.#real;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): object {
    return { method: this.method, url: this.url, headers: this.headers, bodyUsed: this.bodyUsed };
  }

  #collect(): Promise<Buffer> {
    if (this.#real !== undefined) {
      return this.#real.arrayBuffer().then((buffer) => Buffer.from(buffer));
    }
    const body = this.#source.body;
    if (body === null) return Promise.resolve(Buffer.alloc(0));
    return body.collect();
  }
}

Object.setPrototypeOf(GatewayRequest.prototype, NativeRequest.prototype);
delegateRemainingMembers(GatewayRequest.prototype, NativeRequest.prototype);
