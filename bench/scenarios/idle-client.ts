/**
 * Idle keep-alive connections for bench/scenarios/idle.ts (a process of its own, with its own fd
 * budget): opens COUNT connections from LOCAL_ADDRESS (a 127.x.y.z of its own, so runs never run
 * out of ephemeral ports to TIME_WAIT), at most 200 connecting at a time, sends one keep-alive GET
 * on each and waits for the `Hello, World!` answer, then prints one JSON line
 * `{"open":N,"failures":F}` and keeps every connection open and idle until SIGTERM.
 *
 *   node --import tsx bench/scenarios/idle-client.ts PORT COUNT LOCAL_ADDRESS
 */
import { connect, type Socket } from 'node:net';

const [portArg, countArg, localAddress] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
const IN_FLIGHT = 200;

const sockets: Socket[] = [];
let answered = 0;
let failures = 0;
let started = 0;
let settled = 0;

function openOne(): void {
  started++;
  let done = false;
  let seen = '';
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  sockets.push(socket);
  const finish = (ok: boolean): void => {
    if (done) return;
    done = true;
    if (ok) answered++;
    else failures++;
    settled++;
    if (started < count) openOne();
    else if (settled === count) report();
  };
  socket.on('connect', () => socket.write(REQUEST));
  socket.on('data', (chunk: Buffer) => {
    seen += chunk.toString('latin1');
    if (seen.includes('Hello, World!')) finish(true);
  });
  socket.on('error', () => finish(false));
  socket.on('close', () => finish(false));
}

function report(): void {
  const open = sockets.filter((socket) => !socket.destroyed).length;
  process.stdout.write(`${JSON.stringify({ open, answered, failures })}\n`);
}

process.on('SIGTERM', () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
});
for (let i = 0; i < Math.min(IN_FLIGHT, count); i++) openOne();
