import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { WebSocketUpgradeError } from './websocket-error.js';

/** RFC 6455 §4.1: 16 random bytes, base64. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;

/** What the handshake produced: the socket `ws` set up, and the header pairs of the 101. */
export interface Handshake {
  readonly websocket: WebSocket;
  readonly headers: Array<[string, string]>;
}

/** The settings that pick a WebSocketServer (one per distinct combination, kept for the process). */
export interface HandshakeSettings {
  readonly maxPayload: number;
  readonly perMessageDeflate: boolean;
  readonly closeTimeoutMs: number;
}

/**
 * The request as `ws`'s handleUpgrade reads it (method, url, headers: an IncomingMessage's shape),
 * and the slots its callbacks fill. One per upgrade; the server's listeners are module functions
 * that write here, so no closure is made per upgrade.
 */
class HandshakeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** The app's subprotocols, in its order of preference. */
  readonly supported: readonly string[];
  responseHeaders: string[] | null = null;
  websocket: WebSocket | null = null;
  clientError: Error | null = null;

  constructor(method: string, url: string, headers: Record<string, string>, supported: readonly string[]) {
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.supported = supported;
  }
}

/** RFC 6455 §4.2.2: the app's first subprotocol (in its own order) that the client offered. */
function selectProtocol(offered: Set<string>, request: HandshakeRequest): string | false {
  for (const protocol of request.supported) if (offered.has(protocol)) return protocol;
  return false;
}

function captureHeaders(headers: string[], request: HandshakeRequest): void {
  request.responseHeaders = headers;
}

function captureClientError(error: Error, _socket: Duplex, request: HandshakeRequest): void {
  request.clientError = error;
}

function captureWebSocket(websocket: WebSocket, request: HandshakeRequest): void {
  request.websocket = websocket;
}

const servers = new Map<string, WebSocketServer>();

function serverFor(settings: HandshakeSettings): WebSocketServer {
  const key = `${settings.maxPayload}/${settings.perMessageDeflate}/${settings.closeTimeoutMs}`;
  let server = servers.get(key);
  if (server === undefined) {
    server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: settings.maxPayload,
      perMessageDeflate: settings.perMessageDeflate,
      handleProtocols: selectProtocol as unknown as (
        protocols: Set<string>,
        request: IncomingMessage,
      ) => string | false,
      // Not in @types/ws yet: how long close() waits for the client's close frame.
      ...({ closeTimeout: settings.closeTimeoutMs } as object),
    });
    server.on('headers', captureHeaders as unknown as (headers: string[], request: IncomingMessage) => void);
    server.on(
      'wsClientError',
      captureClientError as unknown as (error: Error, socket: Duplex, request: IncomingMessage) => void,
    );
    servers.set(key, server);
  }
  return server;
}

/** Request headers as node's IncomingMessage has them: lowercase names, repeated fields joined by ', '. */
function headerRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, value] of headers) record[name] = value;
  return record;
}

function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/**
 * Checks the client's opening handshake (RFC 6455 §4.2.1), throwing WebSocketUpgradeError with the
 * answer the RFC asks for.
 */
export function checkHandshake(request: Request): void {
  const headers = request.headers;
  if (!hasToken(headers.get('upgrade'), 'websocket')) {
    throw new WebSocketUpgradeError(
      'NOT_A_WEBSOCKET',
      `${request.method} ${new URL(request.url).pathname} is not a WebSocket handshake (no "Upgrade: websocket")`,
      426,
      [
        ['upgrade', 'websocket'],
        ['sec-websocket-version', '13'],
      ],
    );
  }
  if (request.method !== 'GET') {
    throw new WebSocketUpgradeError(
      'BAD_HANDSHAKE',
      `a WebSocket handshake must be a GET, not ${request.method}`,
      405,
      [['allow', 'GET']],
    );
  }
  const key = headers.get('sec-websocket-key');
  if (key === null || !KEY.test(key)) {
    throw new WebSocketUpgradeError('BAD_HANDSHAKE', 'missing or invalid Sec-WebSocket-Key header');
  }
  const version = headers.get('sec-websocket-version');
  if (version !== '13' && version !== '8') {
    throw new WebSocketUpgradeError(
      'BAD_HANDSHAKE',
      'missing or unsupported Sec-WebSocket-Version header (13 is spoken)',
      426,
      [['sec-websocket-version', '13']],
    );
  }
}

/**
 * Runs `ws`'s server handshake over `duplex` for a request checkHandshake() accepted: `ws` checks
 * the fields, computes Sec-WebSocket-Accept, negotiates the subprotocol and permessage-deflate, and
 * sets up its WebSocket on the duplex. The header lines it would have written as the 101 come back
 * as pairs, for the RESPONSE frame gatewire sends instead (the duplex drops ws's own text).
 */
export function runHandshake(
  request: Request,
  duplex: Duplex,
  supported: readonly string[],
  settings: HandshakeSettings,
): Handshake {
  const url = new URL(request.url);
  const handshake = new HandshakeRequest(
    request.method,
    url.pathname + url.search,
    headerRecord(request.headers),
    supported,
  );
  serverFor(settings).handleUpgrade(
    handshake as unknown as IncomingMessage,
    duplex,
    Buffer.alloc(0),
    captureWebSocket as unknown as (websocket: WebSocket, request: IncomingMessage) => void,
  );
  const websocket = handshake.websocket;
  const lines = handshake.responseHeaders;
  if (websocket === null || lines === null) {
    const reason = handshake.clientError?.message ?? 'the handshake was refused';
    throw new WebSocketUpgradeError('BAD_HANDSHAKE', reason);
  }
  const pairs: Array<[string, string]> = [];
  // lines[0] is the status line; the rest are "Name: value".
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon > 0) pairs.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return { websocket, headers: pairs };
}
