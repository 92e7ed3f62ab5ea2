// The benchmark's echo app behind nginx: a bare `ws` server on a Unix socket, answering every
// message as it came through ws's own web-style API (as bench/websocket/echo-app.ts does on
// gatewire).   node bench/websocket/ws-echo-server.mjs /path/to/echo.sock
import { chmodSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const path = process.argv[2];
rmSync(path, { force: true });
const server = createServer((request, response) => {
  response.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n');
});
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
wss.on('connection', (socket) => {
  socket.binaryType = 'nodebuffer';
  socket.onmessage = (event) => socket.send(event.data);
});
server.listen(path, () => {
  chmodSync(path, 0o666); // nginx workers run as nobody
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => process.exit(0));
