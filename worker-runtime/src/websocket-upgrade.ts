import { isWorkerError } from './errors.js';
import { GatewayWebSocket } from './websocket.js';
import { TunnelDuplex } from './websocket-duplex.js';
import { WebSocketUpgradeError } from './websocket-error.js';
import { checkHandshake, runHandshake } from './websocket-handshake.js';
import { upgradeTunnel, type StreamTunnel } from './upgrade-tunnel.js';

/** Largest message accepted by default: 16 MiB (Bun's default; `ws` alone would allow 100 MiB). */
const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;
const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
const NO_PROTOCOLS: readonly string[] = [];

/**
 * Options of upgradeWebSocket().
 *
 * @example
 * ```ts
 * upgradeWebSocket(request, { protocols: ['chat.v2', 'chat.v1'], maxPayload: 1 << 20 });
 * ```
 */
export interface UpgradeWebSocketOptions {
  /**
   * Subprotocols the app speaks, in its order of preference: the first one the client offered in
   * `Sec-WebSocket-Protocol` is chosen and becomes `socket.protocol`. None offered or none in
   * common: no subprotocol (the client decides whether to go on).
   */
  protocols?: readonly string[];
  /**
   * Largest message (and frame) the client may send, in bytes; a bigger one closes the socket with
   * 1009. Default 16 MiB.
   */
  maxPayload?: number;
  /** Accept permessage-deflate (RFC 7692) when the client offers it. Default false. */
  perMessageDeflate?: boolean;
  /** After close(), how long to wait for the client's close frame before dropping the tunnel, ms. Default 30000. */
  closeTimeoutMs?: number;
  /** Extra fields for the 101 response (a cookie, …). */
  headers?: HeadersInit;
}

/**
 * What upgradeWebSocket() returns: the 101 to return from fetch, and the socket.
 *
 * @example
 * ```ts
 * const { response, socket }: WebSocketUpgrade = upgradeWebSocket(request);
 * ```
 */
export interface WebSocketUpgrade {
  /** The `101 Switching Protocols` response; return it from fetch. */
  readonly response: Response;
  /** The server side of the WebSocket; `open` fires once `response` has gone out. */
  readonly socket: GatewayWebSocket;
}

/**
 * Whether a request is a WebSocket handshake the gatewire proxy tunnels (`Upgrade: websocket`), to
 * route it before calling upgradeWebSocket().
 *
 * @example
 * ```ts
 * if (!isWebSocketUpgrade(request)) return new Response('WebSocket only', { status: 426 });
 * ```
 */
export function isWebSocketUpgrade(request: Request): boolean {
  const upgrade = request.headers.get('upgrade');
  return (
    upgrade !== null &&
    upgrade
      .toLowerCase()
      .split(',')
      .some((token) => token.trim() === 'websocket')
  );
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new WebSocketUpgradeError(
      'BAD_OPTION',
      `upgradeWebSocket(): ${name} must be a positive integer, got ${value}`,
      500,
    );
  }
  return value;
}

/**
 * Accepts a WebSocket handshake (like `Deno.upgradeWebSocket`): returns the `101` response for
 * fetch to return, and the server side of the socket, a web-style WebSocket. The `ws` library
 * frames the messages over the gatewire upgrade tunnel (SPEC §13), so flow control reaches from the
 * browser to the app and back.
 *
 * Throws WebSocketUpgradeError (with the status to answer, see `toResponse()`) when the request is
 * not a valid WebSocket handshake, and WorkerError TUNNEL_UNAVAILABLE when the request was not made
 * by this runtime.
 *
 * @example
 * ```ts
 * import { upgradeWebSocket } from '@gatewire/worker';
 *
 * export default {
 *   fetch(request: Request) {
 *     const { response, socket } = upgradeWebSocket(request, { protocols: ['echo'] });
 *     socket.onmessage = (event) => socket.send(event.data); // text stays text, bytes stay bytes
 *     return response;
 *   },
 * };
 * ```
 */
export function upgradeWebSocket(request: Request, options: UpgradeWebSocketOptions = {}): WebSocketUpgrade {
  checkHandshake(request);
  const settings = {
    maxPayload: positiveInteger('maxPayload', options.maxPayload, DEFAULT_MAX_PAYLOAD),
    perMessageDeflate: options.perMessageDeflate === true,
    closeTimeoutMs: positiveInteger('closeTimeoutMs', options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS),
  };
  const duplex = new TunnelDuplex();
  const { websocket, headers } = runHandshake(request, duplex, options.protocols ?? NO_PROTOCOLS, settings);
  if (options.headers !== undefined) {
    for (const [name, value] of new Headers(options.headers)) headers.push([name, value]);
  }
  let upgrade: { response: Response; tunnel: unknown };
  try {
    upgrade = upgradeTunnel(request, { headers });
  } catch (error) {
    websocket.removeAllListeners();
    duplex.destroy();
    if (isWorkerError(error) && error.code === 'NOT_AN_UPGRADE') {
      throw new WebSocketUpgradeError('NOT_A_WEBSOCKET', error.message, 426, [
        ['upgrade', 'websocket'],
        ['sec-websocket-version', '13'],
      ]);
    }
    throw error;
  }
  const socket = new GatewayWebSocket(websocket, duplex, request.url);
  duplex.attach(upgrade.tunnel as StreamTunnel, socket);
  return { response: upgrade.response, socket };
}
