/**
 * Idle keep-alive connections against the real proxy (test/hostile's stack: proxy process, one
 * recording TS worker): opens N connections (default 10,000; `--count N`), sends one request on
 * each, leaves them idle, and prints the proxy's RSS before and after, per connection.
 *
 *   npx tsc -b && npx tsx scripts/idle-connections.ts [--count 10000]
 *
 * Needs an fd limit above N for this process and the proxy (ulimit -n; both inherit it).
 */
import { connect, type Socket } from 'node:net';
import { HostileStack } from '../test/hostile/hostile-stack.js';

const countFlag = process.argv.indexOf('--count');
const count = countFlag > 0 ? Number(process.argv[countFlag + 1]) : 10_000;
const BATCH = 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  let received = '';
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('data', (text: string) => {
      received += text;
      if (received.includes('\r\n\r\nok ')) resolve();
    });
    socket.once('connect', () => socket.write('GET /hello HTTP/1.1\r\nHost: idle.test\r\n\r\n'));
  });
  socket.removeAllListeners('data');
  socket.on('error', () => {});
  return socket;
}

const stack = await HostileStack.start({
  config: { http: { keepAliveTimeoutMs: 600_000 }, log: { level: 'info', access: false } },
});
const sockets: Socket[] = [];
try {
  await sleep(500);
  const before = stack.proxyRss();
  const started = performance.now();
  for (let i = 0; i < count; i += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, count - i) }, () => open(stack.port)),
    );
    sockets.push(...batch);
  }
  const openMs = performance.now() - started;
  await sleep(2000);
  const held = stack.proxyRss();
  const closed = sockets.filter((socket) => socket.destroyed).length;
  console.log(
    `idle keep-alive: ${count} connections (opened and used once in ${(openMs / 1000).toFixed(1)} s), ${closed} closed by the proxy; ` +
      `proxy RSS ${mib(before)} → ${mib(held)} MiB, ${((held - before) / count / 1024).toFixed(1)} KiB per connection`,
  );
  if (closed > 0) process.exitCode = 1;
} finally {
  for (const socket of sockets) socket.destroy();
  await stack.stop();
}
