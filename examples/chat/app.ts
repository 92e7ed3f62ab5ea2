/**
 * A small chat room on gatewire WebSockets: `GET /` serves the page (index.html), `GET /ws` upgrades
 * with upgradeWebSocket() and joins the room. Every message goes to every socket of the room.
 *
 * The room lives in this worker process: with several worker processes (or hosts), people on
 * different processes do not see each other. A real deployment publishes through a shared bus
 * (Redis pub/sub, Postgres LISTEN/NOTIFY, NATS…) and has each process deliver to its own sockets.
 *
 *   npx tsc -b worker-runtime proxy
 *   node worker-runtime/dist/main.js examples/chat/app.ts --socket-dir /tmp/gatewire-chat --processes 1
 *   node proxy/dist/main.js --socket-dir /tmp/gatewire-chat --port 8080    # then open http://127.0.0.1:8080/
 */
import { readFileSync } from 'node:fs';
import { upgradeWebSocket, WebSocketUpgradeError, type GatewayWebSocket } from '@gatewire/worker';

const PAGE = readFileSync(new URL('./index.html', import.meta.url), 'utf8');
/** Longest message accepted from a client, in bytes (larger ones close the socket with 1009). */
const MAX_MESSAGE = 4096;
/** A client that has this much unsent (it does not read) is dropped rather than buffered for. */
const MAX_BACKLOG = 1024 * 1024;

/** Everyone in the room, in this process, with their names. */
const room = new Map<GatewayWebSocket, string>();
let guests = 0;

type ChatEvent =
  | { type: 'welcome'; you: string; online: string[]; pid: number }
  | { type: 'join' | 'leave'; name: string; online: number }
  | { type: 'message'; name: string; text: string; at: string };

function broadcast(event: ChatEvent): void {
  const data = JSON.stringify(event);
  for (const [socket] of room) {
    if (socket.readyState !== socket.OPEN) continue;
    if (socket.bufferedAmount > MAX_BACKLOG) socket.close(4008, 'too slow');
    else socket.send(data);
  }
}

function nameFrom(url: URL): string {
  const wanted = (url.searchParams.get('name') ?? '')
    .replace(/[^\p{L}\p{N} _.-]/gu, '')
    .trim()
    .slice(0, 24);
  return wanted === '' ? `guest-${++guests}` : wanted;
}

function join(socket: GatewayWebSocket, name: string): void {
  socket.onopen = () => {
    room.set(socket, name);
    socket.send(JSON.stringify({ type: 'welcome', you: name, online: [...room.values()], pid: process.pid }));
    broadcast({ type: 'join', name, online: room.size });
  };
  socket.onmessage = (event) => {
    if (typeof event.data !== 'string') {
      socket.close(4003, 'text messages only');
      return;
    }
    const text = event.data.trim();
    if (text !== '') broadcast({ type: 'message', name, text, at: new Date().toISOString() });
  };
  socket.onclose = () => {
    if (room.delete(socket)) broadcast({ type: 'leave', name, online: room.size });
  };
}

export default {
  fetch(request: Request): Response {
    const url = new URL(request.url);
    if (url.pathname === '/') {
      return new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } });
    }
    if (url.pathname !== '/ws') return new Response('not found\n', { status: 404 });
    try {
      const { response, socket } = upgradeWebSocket(request, { maxPayload: MAX_MESSAGE });
      join(socket, nameFrom(url));
      return response;
    } catch (error) {
      // A plain GET on /ws, or a broken handshake: 426 or 400, as RFC 6455 asks.
      if (error instanceof WebSocketUpgradeError) return error.toResponse();
      throw error;
    }
  },
};
