import { ErrorCode } from '@gatewire/protocol';
import { WorkerError } from './errors.js';
import { REQUEST_SOURCE, type RequestSource } from './gateway-request.js';
import { LightResponse } from './light-response.js';
import type { RequestStream } from './request-stream.js';

/**
 * The raw byte pipe of an upgraded stream (SPEC §13), from upgradeTunnel().
 *
 * @example
 * ```ts
 * const { response, tunnel } = upgradeTunnel(request);
 * const writer = tunnel.writable.getWriter();
 * void writer.write(new TextEncoder().encode('hello\n')).then(() => writer.close());
 * return response;
 * ```
 */
export interface UpgradeTunnel {
  /** Bytes from the client (DATA from the proxy); ends when the client half-closes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the client; `close()` half-closes, `abort()` resets the stream. Flow-controlled. */
  readonly writable: WritableStream<Uint8Array>;
}

/**
 * Options of upgradeTunnel().
 *
 * @example
 * ```ts
 * upgradeTunnel(request, { headers: { upgrade: 'websocket', connection: 'upgrade', 'sec-websocket-accept': accept } });
 * ```
 */
export interface UpgradeTunnelOptions {
  /** Headers of the 101 response (for WebSocket: `upgrade`, `connection`, `sec-websocket-accept`, …). */
  headers?: HeadersInit;
}

/**
 * Told once that the tunnel's 101 has gone out, or that the tunnel failed (or will never open).
 * Internal: the WebSocket layer (websocket-duplex.ts) observes its tunnel through it.
 */
export interface TunnelObserver {
  tunnelOpened(): void;
  tunnelFailed(reason: unknown): void;
}

/** Requests that are not GatewayRequests (plain-web-objects mode) map to their stream here. */
const plainRequestSources = new WeakMap<object, RequestStream>();

/** Registers the stream behind a plain undici Request (plain-web-objects mode). */
export function registerPlainRequest(request: Request, stream: RequestStream): void {
  plainRequestSources.set(request, stream);
}

function streamOf(request: Request): RequestStream | undefined {
  const source = (request as unknown as { [REQUEST_SOURCE]?: RequestSource })[REQUEST_SOURCE];
  if (source !== undefined) return source as RequestStream;
  return plainRequestSources.get(request);
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError('tunnel writes take Uint8Array chunks');
}

/**
 * One tunnel: its writable is a WritableStream whose sink is this object (no closures). Writes
 * wait until the 101 head is out, then go out within the stream's send window (SPEC §9): the
 * write promise resolves when the proxy has granted room for the whole chunk.
 */
export class StreamTunnel implements UpgradeTunnel {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly response: Response;
  #stream: RequestStream;
  #opened = false;
  #failed = false;
  #failure: unknown = undefined;
  #openWaiter: { resolve(): void; reject(reason: unknown): void } | null = null;
  #controller: WritableStreamDefaultController | null = null;
  #observer: TunnelObserver | null = null;

  constructor(stream: RequestStream, headers: HeadersInit | undefined) {
    this.#stream = stream;
    this.readable =
      stream.body !== null ? stream.body.stream() : new ReadableStream<Uint8Array>({ start: closeAtOnce });
    this.writable = new WritableStream<Uint8Array>(this);
    this.response = LightResponse.tunnelResponse(headers, this) as unknown as Response;
  }

  /** UnderlyingSink.start */
  start(controller: WritableStreamDefaultController): void {
    this.#controller = controller;
  }

  /** UnderlyingSink.write */
  async write(chunk: Uint8Array): Promise<void> {
    await this.#ready();
    const stream = this.#stream;
    if (!stream.writeData(toBytes(chunk), false)) await stream.whenWritable();
    if (stream.closed && !stream.localEnded)
      throw this.#failure ?? new DOMException('the tunnel closed', 'AbortError');
  }

  /**
   * @internal write() without the WritableStream around it (the WebSocket duplex's hot path):
   * null when the chunk went out at once, else a promise that settles as write()'s would.
   */
  send(chunk: Uint8Array): Promise<void> | null {
    const stream = this.#stream;
    if (!this.#opened || this.#failed || !stream.writable) return this.write(chunk);
    if (stream.writeData(chunk, false)) return null;
    return this.#sent();
  }

  /** The rest of a chunk send() could not send at once has gone out. */
  async #sent(): Promise<void> {
    const stream = this.#stream;
    await stream.whenWritable();
    if (stream.closed && !stream.localEnded)
      throw this.#failure ?? new DOMException('the tunnel closed', 'AbortError');
  }

  /** UnderlyingSink.close: half-close our direction (END_STREAM). */
  async close(): Promise<void> {
    await this.#ready();
    this.#stream.endData();
  }

  /** UnderlyingSink.abort: reset the stream. */
  abort(reason: unknown): void {
    this.#stream.reset(
      ErrorCode.CANCEL,
      reason instanceof Error ? reason.message : 'tunnel aborted by the app',
      reason,
    );
  }

  /** @internal The one observer of opening and failure (told at once of what already happened). */
  observe(observer: TunnelObserver): void {
    this.#observer = observer;
    if (this.#failed) observer.tunnelFailed(this.#failure);
    else if (this.#opened) observer.tunnelOpened();
  }

  /** The 101 went out. */
  opened(): void {
    this.#opened = true;
    const waiter = this.#openWaiter;
    this.#openWaiter = null;
    waiter?.resolve();
    this.#observer?.tunnelOpened();
  }

  /** The stream ended abnormally, or the tunnel will never open. */
  fail(reason: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#failure = reason;
    const waiter = this.#openWaiter;
    this.#openWaiter = null;
    waiter?.reject(reason);
    try {
      this.#controller?.error(reason);
    } catch {
      // already closed
    }
    this.#observer?.tunnelFailed(reason);
  }

  async #ready(): Promise<void> {
    if (this.#failed) throw this.#failure;
    const stream = this.#stream;
    if (!this.#opened) {
      await new Promise<void>((resolve, reject) => {
        this.#openWaiter = { resolve, reject };
      });
    }
    if (!stream.writable) await stream.whenWritable();
    if (this.#failed) throw this.#failure;
  }
}

function closeAtOnce(controller: ReadableStreamDefaultController<Uint8Array>): void {
  controller.close();
}

/**
 * Turns an upgrade request (SPEC §13: the environ's `upgrade` is set, e.g. a WebSocket handshake)
 * into a raw byte tunnel. Return `response` (a 101) from fetch; then `tunnel.readable` carries the
 * client's bytes and `tunnel.writable` takes bytes for the client, both flow-controlled.
 *
 * Throws WorkerError NOT_AN_UPGRADE when the request is not an upgrade request, and
 * TUNNEL_UNAVAILABLE when it was not served by this runtime or already has a tunnel.
 *
 * @example
 * ```ts
 * import { upgradeTunnel } from '@gatewire/worker';
 * export default {
 *   fetch(request: Request) {
 *     const { response, tunnel } = upgradeTunnel(request, { headers: { upgrade: 'echo' } });
 *     void tunnel.readable.pipeTo(tunnel.writable); // echo every byte back
 *     return response;
 *   },
 * };
 * ```
 */
export function upgradeTunnel(
  request: Request,
  options: UpgradeTunnelOptions = {},
): { response: Response; tunnel: UpgradeTunnel } {
  const stream = streamOf(request);
  if (stream === undefined) {
    throw new WorkerError(
      'TUNNEL_UNAVAILABLE',
      'upgradeTunnel() needs the request object the gatewire worker passed to fetch; this Request was made elsewhere',
    );
  }
  if (stream.environ.upgrade === '') {
    throw new WorkerError(
      'NOT_AN_UPGRADE',
      `upgradeTunnel(): ${stream.environ.method} ${stream.environ.path} is not an upgrade request ` +
        '(its environ has no "upgrade"; the proxy sets it for a request with Connection: upgrade and an Upgrade header, SPEC §13)',
    );
  }
  if (stream.tunnel !== null || stream.headSent || stream.closed) {
    throw new WorkerError(
      'TUNNEL_UNAVAILABLE',
      stream.closed
        ? 'upgradeTunnel(): the stream has already ended'
        : 'upgradeTunnel(): this request already has a tunnel or a response',
    );
  }
  const tunnel = new StreamTunnel(stream, options.headers);
  stream.tunnel = tunnel;
  return { response: tunnel.response, tunnel };
}
