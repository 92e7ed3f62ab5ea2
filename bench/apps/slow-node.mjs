// The mixed-latency benchmark's app on node:http (behind nginx): /slow holds the process for
// 200 ms (a blocking sleep), anything else answers `Hello, World!` at once. Same as
// bench/apps/slow-app.ts on gatewire.   node bench/apps/slow-node.mjs /path/to.sock
import { createServer } from 'node:http';
import { chmodSync, unlinkSync } from 'node:fs';

const SLEEP_MS = 200;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const HELLO = Buffer.from('Hello, World!');
const SLOW = Buffer.from('slow');
const path = process.argv[2];

const server = createServer((req, res) => {
  if (req.url.endsWith('/slow')) {
    Atomics.wait(sleeper, 0, 0, SLEEP_MS);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SLOW.length }).end(SLOW);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length }).end(HELLO);
});

try {
  unlinkSync(path);
} catch {
  // not there
}
server.listen(path, () => chmodSync(path, 0o666)); // nginx workers run as nobody
process.on('SIGTERM', () => process.exit(0));
