import { LightResponse } from './light-response.js';
import {
  MATERIALIZE,
  NativeRequest,
  NativeResponse,
  isNativeRequest,
  nativeFetch,
} from './native-web-classes.js';

function unwrap<T>(input: T): T {
  if (typeof input === 'object' && input !== null && MATERIALIZE in input) {
    return (input as unknown as { [MATERIALIZE](): T })[MATERIALIZE]();
  }
  return input;
}

/**
 * The global Request while fast web objects are installed: undici's Request, except that it
 * accepts a lightweight request as input (`new Request(request, init)`), and `instanceof` holds
 * for lightweight requests too.
 */
class Request extends NativeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(unwrap(input), init);
  }

  static override [Symbol.hasInstance](this: unknown, value: unknown): boolean {
    if (this !== Request) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isNativeRequest(value);
  }
}

function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  return nativeFetch(unwrap(input), init);
}

let installed = false;

/**
 * Makes `Response` the LightResponse and lets `Request`/`fetch` take lightweight requests
 * (call before the app is loaded; idempotent). Only the worker process does this, as
 * @hono/node-server does under Node.
 */
export function installWebGlobals(): void {
  if (installed) return;
  installed = true;
  globalThis.Response = LightResponse as unknown as typeof globalThis.Response;
  globalThis.Request = Request as unknown as typeof globalThis.Request;
  globalThis.fetch = fetch;
}

/** Restores the platform's Request, Response and fetch. */
export function uninstallWebGlobals(): void {
  if (!installed) return;
  installed = false;
  globalThis.Response = NativeResponse;
  globalThis.Request = NativeRequest;
  globalThis.fetch = nativeFetch;
}
