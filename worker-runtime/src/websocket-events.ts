/**
 * The `close` event of a GatewayWebSocket, in the shape of the web's CloseEvent (which Node 20 does
 * not have as a global).
 *
 * @example
 * ```ts
 * socket.addEventListener('close', (event: WebSocketCloseEvent) => {
 *   console.log(`closed with ${event.code} ${event.reason}, clean: ${event.wasClean}`);
 * });
 * ```
 */
export class WebSocketCloseEvent extends Event {
  /**
   * The close code: the client's (1000 normal, 1001 going away, …), 1005 when its close frame had
   * none, 1006 when the tunnel ended without a close frame (the client vanished, the stream was
   * reset).
   */
  readonly code: number;
  /** The reason text of the close frame, '' if none. */
  readonly reason: string;
  /** Whether the closing handshake completed (false for 1006). */
  readonly wasClean: boolean;

  constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
    this.wasClean = init.wasClean ?? false;
  }
}

/**
 * The `error` event of a GatewayWebSocket (the web's ErrorEvent shape): a protocol violation by the
 * client (bad frame, invalid UTF-8, a message above `maxPayload`) or a failed tunnel. A `close`
 * event always follows.
 *
 * @example
 * ```ts
 * socket.onerror = (event) => console.warn('websocket error', (event as WebSocketErrorEvent).message);
 * ```
 */
export class WebSocketErrorEvent extends Event {
  readonly message: string;
  readonly error: unknown;

  constructor(type: string, init: { message?: string; error?: unknown } = {}) {
    super(type);
    this.message = init.message ?? '';
    this.error = init.error;
  }
}
