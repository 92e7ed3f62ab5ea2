/**
 * The benchmark's echo app on gatewire: every message goes back as it came (text as text, bytes as
 * bytes), through the runtime's web-style WebSocket API. bench/websocket/ws-echo-server.mjs is the
 * same echo on a bare `ws` server, behind nginx.
 */
import { upgradeWebSocket } from '@gatewire/worker';

export default {
  fetch(request: Request): Response {
    const { response, socket } = upgradeWebSocket(request);
    socket.binaryType = 'nodebuffer';
    socket.onmessage = (event) => socket.send(event.data as string | Uint8Array);
    return response;
  },
};
