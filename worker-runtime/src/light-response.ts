import {
  MATERIALIZE,
  NativeResponse,
  delegateRemainingMembers,
  isNativeResponse,
} from './native-web-classes.js';

/** A body the writer sends without a ReadableStream, or streams directly. */
export type LightBody =
  string | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string> | null;

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const TEXT_PLAIN = 'text/plain;charset=UTF-8';
const JSON_TYPE = 'application/json';

let constructingTunnel = false;

function isAsyncIterable(value: object): value is AsyncIterable<Uint8Array | string> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

/**
 * The global Response while the runtime serves with fast web objects (as @hono/node-server does):
 * it records `body` and `init` and builds the real undici Response only when something needs it.
 *
 * undici's Response constructor wraps every body in a ReadableStream, which costs more than the
 * rest of a small request put together. The runtime reads a LightResponse's status, headers and
 * body (string, Uint8Array, ArrayBuffer, ReadableStream, async iterable) directly. `instanceof
 * Response` holds for LightResponses and undici's Responses alike; every member works, the
 * uncommon ones through the real Response built on first use.
 */
export class LightResponse {
  #status: number;
  #statusText: string;
  #headersInit: HeadersInit | undefined;
  #headers: Headers | undefined = undefined;
  #body: LightBody;
  #real: Response | undefined = undefined;
  #tunnel: object | null = null;

  constructor(body?: BodyInit | LightBody | null, init?: ResponseInit) {
    let status = 200;
    let statusText = '';
    let headersInit: HeadersInit | undefined;
    if (init !== undefined && init !== null) {
      if (init.status !== undefined) status = init.status;
      if (init.statusText !== undefined) statusText = init.statusText;
      headersInit = init.headers;
    }
    this.#status = status;
    this.#statusText = statusText;
    this.#headersInit = headersInit;
    this.#body = null;
    if (constructingTunnel) return;
    const fast =
      body === undefined ||
      body === null ||
      typeof body === 'string' ||
      body instanceof Uint8Array ||
      body instanceof ArrayBuffer ||
      body instanceof ReadableStream ||
      (typeof body === 'object' &&
        !(body instanceof Blob) &&
        !(body instanceof URLSearchParams) &&
        !(body instanceof FormData) &&
        isAsyncIterable(body));
    if (!fast || statusText !== '' || !Number.isInteger(status) || status < 200 || status > 599) {
      // Uncommon shapes, and every invalid one: undici builds (or rejects) it exactly as the platform would.
      this.#real = new NativeResponse(body as BodyInit, init);
      return;
    }
    if (body !== undefined && body !== null) {
      if (NULL_BODY_STATUS.has(status)) {
        throw new TypeError(`Response constructor: Invalid response status code ${status}`);
      }
      this.#body = body as LightBody;
    }
  }

  /** Response.json(data, init) without a ReadableStream. */
  static json(data: unknown, init?: ResponseInit): Response {
    const body = JSON.stringify(data);
    if (body === undefined) throw new TypeError('Response.json: the data is not JSON-serializable');
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', JSON_TYPE);
    return new LightResponse(body, { ...init, headers }) as unknown as Response;
  }

  static redirect(url: string | URL, status?: number): Response {
    return NativeResponse.redirect(url, status);
  }

  static error(): Response {
    return NativeResponse.error();
  }

  /** Both LightResponses and undici's Responses are Responses; subclasses keep the ordinary check. */
  static [Symbol.hasInstance](this: unknown, value: unknown): boolean {
    if (this !== LightResponse) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isNativeResponse(value);
  }

  get status(): number {
    return this.#real !== undefined && this.#tunnel === null ? this.#real.status : this.#status;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get statusText(): string {
    return this.#real !== undefined ? this.#real.statusText : this.#statusText;
  }

  get headers(): Headers {
    if (this.#real !== undefined) return this.#real.headers;
    if (this.#headers === undefined) {
      const headers = new Headers(this.#headersInit);
      if (typeof this.#body === 'string' && !headers.has('content-type'))
        headers.set('content-type', TEXT_PLAIN);
      this.#headers = headers;
    }
    return this.#headers;
  }

  get type(): ResponseType {
    return this.#real !== undefined ? this.#real.type : 'default';
  }

  get url(): string {
    return this.#real !== undefined ? this.#real.url : '';
  }

  get redirected(): boolean {
    return this.#real !== undefined ? this.#real.redirected : false;
  }

  get [Symbol.toStringTag](): string {
    return 'Response';
  }

  /** The real undici Response, built on first need; from then on every member reads it. */
  [MATERIALIZE](): Response {
    if (this.#real !== undefined) return this.#real;
    const init: ResponseInit = { status: this.#tunnel !== null ? 200 : this.#status, headers: this.headers };
    if (this.#statusText !== '') init.statusText = this.#statusText;
    this.#real = new NativeResponse(this.#body as BodyInit | null, init);
    this.#headers = undefined;
    this.#body = null;
    return this.#real;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): object {
    return { status: this.status, statusText: this.statusText, headers: this.headers };
  }

  // ── runtime side ──

  /** The 101 response of an upgrade tunnel (status 101 cannot be built through the public constructor). */
  static tunnelResponse(headers: HeadersInit | undefined, tunnel: object): LightResponse {
    constructingTunnel = true;
    try {
      const response = new LightResponse(null, { headers });
      response.#status = 101;
      response.#tunnel = tunnel;
      return response;
    } finally {
      constructingTunnel = false;
    }
  }

  /** The tunnel a 101 response belongs to, or null. */
  static tunnelOf(response: unknown): object | null {
    return response instanceof Object && #tunnel in response ? (response as LightResponse).#tunnel : null;
  }

  /** Whether `response` is a LightResponse whose parts can still be read directly (not materialized). */
  static isUnread(response: unknown): response is LightResponse {
    return response instanceof Object && #real in response && (response as LightResponse).#real === undefined;
  }

  /** The body as given (only for isUnread responses). */
  static bodyOf(response: LightResponse): LightBody {
    return response.#body;
  }

  /** The headers: a Headers object if one exists yet, else the init as given (only for isUnread responses). */
  static headersOf(response: LightResponse): Headers | HeadersInit | undefined {
    return response.#headers ?? response.#headersInit;
  }

  /** The declared status (only for isUnread responses). */
  static statusOf(response: LightResponse): number {
    return response.#status;
  }
}

Object.setPrototypeOf(LightResponse.prototype, NativeResponse.prototype);
delegateRemainingMembers(LightResponse.prototype, NativeResponse.prototype);
