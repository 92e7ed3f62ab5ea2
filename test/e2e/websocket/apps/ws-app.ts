/**
 * WebSocket test app: one route per behaviour the end-to-end tests exercise.
 *
 * - `/echo`: echoes every message (text stays text, bytes stay bytes); subprotocols `echo.v2`, `echo.v1`.
 * - `/small`: echo with maxPayload 1 MiB.
 * - `/deflate`: echo with permessage-deflate.
 * - `/pid`: sends this process's pid on open, then echoes.
 * - everywhere: the text message `pid?` is answered with `pid <this process's pid>`.
 * - `/watch`: echoes, and records every close event it sees; `GET /closes` lists them.
 * - `/refuse`: answers 403 instead of upgrading.
 * - `/count`: plain GET, the number of open sockets in this process.
 * - `/flood?mb=N`: on open, sends N binary messages of 1 MiB at once; `GET /buffered` is that
 *   socket's bufferedAmount (what waits for the client's credit).
 */
import { upgradeWebSocket, WebSocketUpgradeError, type GatewayWebSocket } from '@gatewire/worker';

const open = new Set<GatewayWebSocket>();
const MIB = Buffer.alloc(1024 * 1024, 0x5a);
let flooding: GatewayWebSocket | null = null;
const closes: Array<{ path: string; code: number; wasClean: boolean; tag: string }> = [];

function echo(socket: GatewayWebSocket): void {
  socket.binaryType = 'nodebuffer';
  socket.onmessage = (event) => {
    if (event.data === 'pid?') socket.send(`pid ${process.pid}`);
    else socket.send(event.data as string | Uint8Array);
  };
}

export default {
  fetch(request: Request): Response {
    const url = new URL(request.url);
    if (url.pathname === '/count') return new Response(String(open.size));
    if (url.pathname === '/closes') return Response.json(closes);
    if (url.pathname === '/buffered') return new Response(String(flooding?.bufferedAmount ?? -1));
    if (url.pathname === '/refuse') return new Response('no websocket for you\n', { status: 403 });
    try {
      const { response, socket } = upgradeWebSocket(request, {
        protocols: ['echo.v2', 'echo.v1'],
        maxPayload: url.pathname === '/small' ? 1024 * 1024 : 32 * 1024 * 1024,
        perMessageDeflate: url.pathname === '/deflate',
      });
      open.add(socket);
      const tag = url.searchParams.get('tag') ?? '';
      socket.addEventListener('close', (event) => {
        open.delete(socket);
        closes.push({ path: url.pathname, code: event.code, wasClean: event.wasClean, tag });
      });
      echo(socket);
      if (url.pathname === '/pid') socket.onopen = () => socket.send(`pid ${process.pid}`);
      if (url.pathname === '/flood') {
        flooding = socket;
        const count = Number(url.searchParams.get('mb') ?? '1');
        socket.onopen = () => {
          for (let i = 0; i < count; i++) socket.send(MIB);
        };
      }
      return response;
    } catch (error) {
      if (error instanceof WebSocketUpgradeError) return error.toResponse();
      throw error;
    }
  },
};
