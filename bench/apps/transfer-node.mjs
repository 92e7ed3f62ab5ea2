// The transfer benchmark's app on node:http (behind nginx): POST /upload counts the body's bytes
// as they stream in and answers the count; GET /download?bytes=N streams N bytes of `a` in 64 KiB
// chunks with backpressure. Same as bench/apps/transfer-app.ts on gatewire.
//   node bench/apps/transfer-node.mjs /path/to.sock
import { createServer } from 'node:http';
import { chmodSync, unlinkSync } from 'node:fs';

const CHUNK = Buffer.alloc(65536, 0x61);
const path = process.argv[2];

const server = createServer((req, res) => {
  if (req.method === 'POST' || req.method === 'PUT') {
    let bytes = 0;
    req.on('data', (chunk) => (bytes += chunk.length));
    req.on('end', () => {
      const body = String(bytes);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
    });
    return;
  }
  const total = Number(new URL(req.url, 'http://x').searchParams.get('bytes') || 0);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let sent = 0;
  const write = () => {
    while (sent < total) {
      const size = Math.min(CHUNK.length, total - sent);
      sent += size;
      if (!res.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) {
        res.once('drain', write);
        return;
      }
    }
    res.end();
  };
  write();
});

try {
  unlinkSync(path);
} catch {
  // not there
}
server.listen(path, () => chmodSync(path, 0o666)); // nginx workers run as nobody
process.on('SIGTERM', () => process.exit(0));
