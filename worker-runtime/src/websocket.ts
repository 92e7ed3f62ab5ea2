import type { WebSocket as WsSocket } from 'ws';
import type { DuplexOwner, TunnelDuplex } from './websocket-duplex.js';
import { WebSocketCloseEvent, WebSocketErrorEvent } from './websocket-events.js';

/**
 * How binary messages arrive in `MessageEvent.data`: `arraybuffer` (the default here, as in
 * Cloudflare Workers and Bun), `blob` (the browser default), or `nodebuffer` (a Buffer, no copy: a
 * gatewire extension for speed).
 *
 * @example
 * ```ts
 * socket.binaryType = 'nodebuffer';
 * ```
 */
export type WebSocketBinaryType = 'arraybuffer' | 'blob' | 'nodebuffer';

/**
 * What `send()` takes.
 *
 * @example
 * ```ts
 * const data: WebSocketData = new Uint8Array([1, 2, 3]);
 * socket.send(data);
 * ```
 */
export type WebSocketData = string | ArrayBufferLike | ArrayBufferView | Blob;

type Handler = ((this: GatewayWebSocket, event: Event) => unknown) | null;

/**
 * The events of a GatewayWebSocket, by type (as the DOM's WebSocketEventMap).
 *
 * @example
 * ```ts
 * const onClose = (event: GatewayWebSocketEventMap['close']) => console.log(event.code);
 * ```
 */
export interface GatewayWebSocketEventMap {
  open: Event;
  message: MessageEvent;
  close: WebSocketCloseEvent;
  error: WebSocketErrorEvent;
}

const UTF8 = new TextEncoder();
type HandlerType = 'open' | 'message' | 'close' | 'error';

/**
 * The server side of one WebSocket, in the shape of the web's WebSocket: `send`, `close`,
 * `readyState`, `protocol`, `extensions`, `bufferedAmount`, `binaryType`, and `open`, `message`,
 * `close`, `error` events (addEventListener or `onmessage`-style properties; MessageEvent,
 * WebSocketCloseEvent, WebSocketErrorEvent). Made by upgradeWebSocket(); the `ws` library does the
 * framing over the gatewire tunnel.
 *
 * The socket is CONNECTING until the app has returned the 101 and the runtime has sent it; then
 * `open` fires and `send` may be called (calling it earlier throws InvalidStateError, as on the web).
 *
 * @example
 * ```ts
 * const { response, socket } = upgradeWebSocket(request);
 * socket.onopen = () => socket.send('welcome');
 * socket.onmessage = (event) => socket.send(`echo: ${event.data}`);
 * socket.onclose = (event) => console.log('closed', event.code);
 * return response;
 * ```
 */
export class GatewayWebSocket extends EventTarget implements DuplexOwner {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  /** The request URL, with `ws:` or `wss:` for its scheme. */
  readonly url: string;
  #ws: WsSocket;
  #duplex: TunnelDuplex;
  #origin: string;
  #binaryType: WebSocketBinaryType = 'arraybuffer';
  #closeRequested = false;
  #closed = false;
  #handlers: Record<HandlerType, Handler> = { open: null, message: null, close: null, error: null };
  #handlerListening: Record<HandlerType, boolean> = {
    open: false,
    message: false,
    close: false,
    error: false,
  };

  /** @internal upgradeWebSocket() makes these. */
  constructor(ws: WsSocket, duplex: TunnelDuplex, url: string) {
    super();
    this.#ws = ws;
    this.#duplex = duplex;
    const parsed = new URL(url);
    parsed.protocol = parsed.protocol === 'https:' ? 'wss:' : 'ws:';
    this.url = parsed.href;
    this.#origin = parsed.origin;
    (ws as unknown as { binaryType: string }).binaryType = 'arraybuffer';
    ws.on('message', this.#onMessage);
    ws.on('close', this.#onClose);
    ws.on('error', this.#onError);
  }

  /** 0 CONNECTING (until the 101 is out), 1 OPEN, 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    if (this.#closed) return 3;
    if (!this.#duplex.opened) return this.#closeRequested ? 2 : 0;
    return this.#ws.readyState;
  }

  /** The negotiated subprotocol ('' if none). */
  get protocol(): string {
    return this.#ws.protocol;
  }

  /** The negotiated extensions (`permessage-deflate`, or ''). */
  get extensions(): string {
    return this.#ws.extensions;
  }

  /** Bytes queued by send() and not yet handed to the tunnel (they wait for the client's credit). */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  get binaryType(): WebSocketBinaryType {
    return this.#binaryType;
  }

  set binaryType(type: WebSocketBinaryType) {
    if (type !== 'arraybuffer' && type !== 'blob' && type !== 'nodebuffer') return; // ignored, as on the web
    this.#binaryType = type;
    (this.#ws as unknown as { binaryType: string }).binaryType = type;
  }

  get onopen(): Handler {
    return this.#handlers.open;
  }
  set onopen(handler: Handler) {
    this.#setHandler('open', handler);
  }
  get onmessage(): ((this: GatewayWebSocket, event: MessageEvent) => unknown) | null {
    return this.#handlers.message;
  }
  set onmessage(handler: ((this: GatewayWebSocket, event: MessageEvent) => unknown) | null) {
    this.#setHandler('message', handler as Handler);
  }
  get onclose(): ((this: GatewayWebSocket, event: WebSocketCloseEvent) => unknown) | null {
    return this.#handlers.close;
  }
  set onclose(handler: ((this: GatewayWebSocket, event: WebSocketCloseEvent) => unknown) | null) {
    this.#setHandler('close', handler as Handler);
  }
  get onerror(): ((this: GatewayWebSocket, event: WebSocketErrorEvent) => unknown) | null {
    return this.#handlers.error;
  }
  set onerror(handler: ((this: GatewayWebSocket, event: WebSocketErrorEvent) => unknown) | null) {
    this.#setHandler('error', handler as Handler);
  }

  /**
   * Sends a message: a string as a text message, bytes (ArrayBuffer, a view, a Blob) as a binary
   * one. Throws InvalidStateError while CONNECTING; after close() the data is discarded (and counted
   * in bufferedAmount), as on the web.
   */
  send(data: WebSocketData): void {
    if (this.readyState === 0) {
      throw new DOMException(
        'WebSocket is not open yet: wait for the open event (the 101 goes out when fetch returns)',
        'InvalidStateError',
      );
    }
    this.#ws.send(data as Parameters<WsSocket['send']>[0]);
  }

  /**
   * Starts the closing handshake: a close frame with `code` (1000, or 3000…4999) and `reason` (at
   * most 123 bytes of UTF-8). `close` fires when the client has answered and closed (or after the
   * close timeout).
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
      throw new DOMException(`close code must be 1000 or 3000…4999, got ${code}`, 'InvalidAccessError');
    }
    if (reason !== undefined && UTF8.encode(reason).length > 123) {
      throw new DOMException('close reason is longer than 123 bytes of UTF-8', 'SyntaxError');
    }
    if (this.#closeRequested || this.#closed) return;
    this.#closeRequested = true;
    this.#ws.close(code, reason);
  }

  // Typed listeners (as lib.dom.d.ts types the web's WebSocket).
  override addEventListener<K extends keyof GatewayWebSocketEventMap>(
    type: K,
    listener: ((this: GatewayWebSocket, event: GatewayWebSocketEventMap[K]) => unknown) | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: unknown,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<K extends keyof GatewayWebSocketEventMap>(
    type: K,
    listener: ((this: GatewayWebSocket, event: GatewayWebSocketEventMap[K]) => unknown) | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: unknown,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  // ── DuplexOwner ──

  duplexOpened(): void {
    if (this.#closed) return;
    this.dispatchEvent(new Event('open'));
  }

  // ── from ws ──

  #onMessage = (data: Buffer | ArrayBuffer | Blob, isBinary: boolean): void => {
    this.dispatchEvent(
      new MessageEvent('message', {
        data: isBinary ? data : (data as Buffer).toString('utf8'),
        origin: this.#origin,
      }),
    );
  };

  #onClose = (code: number, reason: Buffer): void => {
    this.#closed = true;
    this.dispatchEvent(
      new WebSocketCloseEvent('close', { code, reason: reason.toString('utf8'), wasClean: code !== 1006 }),
    );
  };

  #onError = (error: Error): void => {
    this.dispatchEvent(new WebSocketErrorEvent('error', { message: error.message, error }));
  };

  #setHandler(type: HandlerType, handler: Handler): void {
    this.#handlers[type] = typeof handler === 'function' ? handler : null;
    if (!this.#handlerListening[type]) {
      this.#handlerListening[type] = true;
      this.addEventListener(type, this.#callHandler);
    }
  }

  #callHandler = (event: Event): void => {
    const handler = this.#handlers[event.type as HandlerType];
    if (handler !== null) handler.call(this, event);
  };
}
