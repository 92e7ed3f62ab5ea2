/**
 * Why upgradeWebSocket() refused a request (STYLE #4: a stable `code` per failure kind; never
 * renamed or reused).
 *
 * @example
 * ```ts
 * if (error instanceof WebSocketUpgradeError && error.code === WebSocketUpgradeErrorCode.NOT_A_WEBSOCKET) {
 *   return new Response('this URL speaks WebSocket', { status: 426 });
 * }
 * ```
 */
export const WebSocketUpgradeErrorCode = {
  /** The request does not ask for a WebSocket (no `Upgrade: websocket`, or not an upgrade the proxy tunnels). */
  NOT_A_WEBSOCKET: 'NOT_A_WEBSOCKET',
  /** The handshake is invalid (RFC 6455 §4.2.1: method, `Sec-WebSocket-Key`, `Sec-WebSocket-Version`, subprotocol or extension syntax). */
  BAD_HANDSHAKE: 'BAD_HANDSHAKE',
  /** An option of upgradeWebSocket() is out of range. */
  BAD_OPTION: 'BAD_OPTION',
} as const;

/**
 * The name of a WebSocketUpgradeError code.
 *
 * @example
 * ```ts
 * const code: WebSocketUpgradeErrorCodeName = 'BAD_HANDSHAKE';
 * ```
 */
export type WebSocketUpgradeErrorCodeName = keyof typeof WebSocketUpgradeErrorCode;

/**
 * Thrown by upgradeWebSocket() for a request it cannot upgrade. `status` and `headers` are the HTTP
 * answer RFC 6455 asks for (426 with `Sec-WebSocket-Version: 13` for a plain request, 400 for a
 * broken handshake); `toResponse()` builds it.
 *
 * @example
 * ```ts
 * try {
 *   const { response, socket } = upgradeWebSocket(request);
 *   socket.onmessage = (event) => socket.send(event.data);
 *   return response;
 * } catch (error) {
 *   if (error instanceof WebSocketUpgradeError) return error.toResponse();
 *   throw error;
 * }
 * ```
 */
export class WebSocketUpgradeError extends Error {
  readonly code: WebSocketUpgradeErrorCodeName;
  /** The HTTP status to answer with. */
  readonly status: number;
  /** Header fields for that answer. */
  readonly headers: ReadonlyArray<readonly [string, string]>;

  constructor(
    code: WebSocketUpgradeErrorCodeName,
    message: string,
    status = 400,
    headers: ReadonlyArray<readonly [string, string]> = [],
  ) {
    super(message);
    this.name = 'WebSocketUpgradeError';
    this.code = code;
    this.status = status;
    this.headers = headers;
  }

  /** The answer to send instead of a 101: `status`, `headers` and the message as text. */
  toResponse(): Response {
    const headers = new Headers(this.headers as Array<[string, string]>);
    headers.set('content-type', 'text/plain; charset=utf-8');
    return new Response(`${this.message}\n`, { status: this.status, headers });
  }
}
