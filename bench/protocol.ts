/**
 * Codec benchmark: the gatewire hot path against its baselines, in one run, A/B interleaved.
 *
 *   npx tsx bench/protocol.ts [--rounds 15] [--quick] [--wall]
 *
 * 1. Environ round trip: FrameEncoder.request + take, then FrameDecoder.push + decodeEnviron
 *    (the whole path a REQUEST takes between proxy and worker), against JSON.stringify +
 *    JSON.parse of the same environ, both as a string round trip and as bytes
 *    (Buffer.from(JSON) and back: what a JSON wire format would need).
 * 2. 64 KiB DATA: FrameEncoder.data + take, the segments copied into a socket-like buffer of 4
 *    frames (~256 KiB, a Unix socket's buffer), FrameDecoder fed from it in 64 KiB chunks (so
 *    frames straddle chunk boundaries), against copying the same wire bytes (each 65546-byte frame
 *    image) into the same buffer and reading it in the same chunks: the cost of moving the bytes,
 *    which no codec avoids. Both sides copy with TypedArray#set, as the kernel copies iovecs.
 *
 * Each round times a batch of A, then a batch of B (alternating which goes first), and keeps the
 * ratio B/A (environ: how many times faster than JSON) or A/B (DATA: overhead over a copy).
 * Printed: median and min–max over the rounds. Targets (issue #2): environ ≥ 3x faster than JSON;
 * DATA within 1.2x of a plain copy.
 */
import { pathToFileURL } from 'node:url';
import { FrameDecoder, FrameEncoder, decodeEnviron, type Environ } from '../protocol/src/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const roundsArg = args.indexOf('--rounds');
const ROUNDS = roundsArg >= 0 ? Number(args[roundsArg + 1]) : quick ? 5 : 15;

/** A browser GET behind a load balancer: 12 headers, one non-ASCII byte in the referer. */
export const BENCH_ENVIRON: Environ = {
  method: 'GET',
  target: '/products/42/reviews?page=2&sort=newest',
  path: '/products/42/reviews',
  query: 'page=2&sort=newest',
  httpVersion: 'HTTP/1.1',
  headers: [
    ['host', 'shop.example.com'],
    [
      'user-agent',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    ],
    ['accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
    ['accept-language', 'en-US,en;q=0.9,de;q=0.8'],
    ['accept-encoding', 'gzip, deflate, br, zstd'],
    ['connection', 'keep-alive'],
    [
      'cookie',
      'sessionid=8f14e45fceea167a5a36dedd4bea2543; csrftoken=Zx8VdP1sQ0aLrT7wYkM2nB4cE6gH9jJ; theme=dark',
    ],
    ['cache-control', 'max-age=0'],
    ['upgrade-insecure-requests', '1'],
    ['x-forwarded-for', '203.0.113.195, 70.41.3.18'],
    ['x-request-id', '01HZX3K5V8Q2R7T9W4Y6B1C3D5'],
    ['referer', 'https://shop.example.com/products/42?ref=caf\xe9'],
  ],
  scheme: 'https',
  clientAddr: '203.0.113.195',
  clientPort: 51234,
  serverAddr: '10.0.0.5',
  serverPort: 8080,
  serverName: 'shop.example.com',
  requestId: '01HZX3K5V8Q2R7T9W4Y6B1C3D5',
  bodyLength: 0,
  scriptName: '',
  upgrade: '',
};

interface Stats {
  median: number;
  min: number;
  max: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

function fmt(s: Stats, digits = 2, unit = ''): string {
  return `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/**
 * Nanoseconds per iteration of `fn` over `iterations` calls, in CPU time of this process (user +
 * system) rather than wall time: on a shared machine, time spent descheduled is not the code's.
 * `--wall` measures wall time instead.
 */
const wall = args.includes('--wall');
function time(fn: (iterations: number) => void, iterations: number): number {
  if (wall) {
    const start = process.hrtime.bigint();
    fn(iterations);
    return Number(process.hrtime.bigint() - start) / iterations;
  }
  const start = process.cpuUsage();
  fn(iterations);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / iterations;
}

let sink = 0;

// --- 1. environ round trip -------------------------------------------------------------------

function gatewireEnviron(): (iterations: number) => void {
  const encoder = new FrameEncoder();
  let decoded: Environ | undefined;
  const decoder = new FrameDecoder(
    {
      onFrame(_type, _flags, _streamId, payload) {
        decoded = decodeEnviron(payload);
      },
      onData() {},
    },
    { expectPreface: false },
  );
  let streamId = 1;
  return (iterations) => {
    for (let i = 0; i < iterations; i++) {
      encoder.request(streamId++, BENCH_ENVIRON, true);
      const segments = encoder.take();
      for (let s = 0; s < segments.length; s++) decoder.push(segments[s]);
      sink += decoded!.headers.length;
    }
  };
}

function jsonString(iterations: number): void {
  for (let i = 0; i < iterations; i++) {
    const text = JSON.stringify(BENCH_ENVIRON);
    const env = JSON.parse(text) as Environ;
    sink += env.headers.length;
  }
}

function jsonBytes(iterations: number): void {
  for (let i = 0; i < iterations; i++) {
    const bytes = Buffer.from(JSON.stringify(BENCH_ENVIRON), 'utf8');
    const env = JSON.parse(bytes.toString('utf8')) as Environ;
    sink += env.headers.length;
  }
}

// --- 2. 64 KiB DATA --------------------------------------------------------------------------

const DATA_SIZE = 64 * 1024;
const SOCKET_CHUNK = 64 * 1024;
const FRAMES_PER_BATCH = 4;
const payload = Buffer.alloc(DATA_SIZE, 0x61);
/** The "socket": what one side writes and the other side reads, in SOCKET_CHUNK pieces. */
const socketBuffer = Buffer.allocUnsafe(FRAMES_PER_BATCH * (DATA_SIZE + 64));

function gatewireData(): (iterations: number) => void {
  const encoder = new FrameEncoder();
  let received = 0;
  const decoder = new FrameDecoder(
    {
      onFrame() {},
      onData(_streamId, _flags, chunk) {
        received += chunk.length;
      },
    },
    { expectPreface: false },
  );
  return (iterations) => {
    for (let i = 0; i < iterations; i += FRAMES_PER_BATCH) {
      let written = 0;
      for (let f = 0; f < FRAMES_PER_BATCH; f++) {
        encoder.data(1, payload, false);
        const segments = encoder.take();
        // Like the kernel's copy of writev's iovecs: one typed-array copy per segment.
        for (let s = 0; s < segments.length; s++) {
          socketBuffer.set(segments[s], written);
          written += segments[s].length;
        }
      }
      for (let offset = 0; offset < written; offset += SOCKET_CHUNK)
        decoder.push(socketBuffer.subarray(offset, Math.min(offset + SOCKET_CHUNK, written)));
    }
    sink += received;
  };
}

/** The same wire bytes, one 65546-byte frame image copied per frame: what moving them costs at least. */
const frameImage = (() => {
  const encoder = new FrameEncoder();
  encoder.data(1, payload, false);
  return encoder.takeBuffer();
})();

function plainCopy(iterations: number): void {
  let received = 0;
  for (let i = 0; i < iterations; i += FRAMES_PER_BATCH) {
    let written = 0;
    for (let f = 0; f < FRAMES_PER_BATCH; f++) {
      socketBuffer.set(frameImage, written);
      written += frameImage.length;
    }
    for (let offset = 0; offset < written; offset += SOCKET_CHUNK)
      received += socketBuffer.subarray(offset, Math.min(offset + SOCKET_CHUNK, written)).length;
  }
  sink += received;
}

// --- runner ----------------------------------------------------------------------------------

interface Comparison {
  name: string;
  a: (iterations: number) => void;
  b: (iterations: number) => void;
  iterations: number;
}

function compare({ a, b, iterations }: Comparison): { a: number[]; b: number[] } {
  // Warm up both sides so that neither is measured while the JIT is still compiling it.
  for (let i = 0; i < 3; i++) {
    a(iterations);
    b(iterations);
  }
  const aTimes: number[] = [];
  const bTimes: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      aTimes.push(time(a, iterations));
      bTimes.push(time(b, iterations));
    } else {
      bTimes.push(time(b, iterations));
      aTimes.push(time(a, iterations));
    }
  }
  return { a: aTimes, b: bTimes };
}

function main(): void {
  const scale = quick ? 0.3 : 1;
  const environIterations = Math.round(25_000 * scale);
  const dataIterations = Math.round(4096 * scale);
  console.log(
    `gatewire protocol benchmark: node ${process.version}, ${ROUNDS} rounds, A/B interleaved, ${wall ? 'wall' : 'CPU'} time`,
  );
  const wire = new FrameEncoder();
  wire.request(1, BENCH_ENVIRON, true);
  console.log(
    `environ: ${BENCH_ENVIRON.headers.length} headers, ${wire.takeBuffer().length - 10} bytes msgpack, ` +
      `${Buffer.byteLength(JSON.stringify(BENCH_ENVIRON))} bytes JSON`,
  );

  const gw = gatewireEnviron();
  const vsString = compare({ name: 'string', a: gw, b: jsonString, iterations: environIterations });
  const vsBytes = compare({ name: 'bytes', a: gw, b: jsonBytes, iterations: environIterations });
  const ratio = (num: number[], den: number[]) => num.map((value, i) => value / den[i]);
  const gwAll = [...vsString.a, ...vsBytes.a];
  console.log(`  gatewire encode+decode         ${fmt(stats(gwAll), 0, ' ns')}`);
  console.log(`  JSON string round trip         ${fmt(stats(vsString.b), 0, ' ns')}`);
  console.log(`  JSON bytes round trip          ${fmt(stats(vsBytes.b), 0, ' ns')}`);
  console.log(`  speed-up vs JSON string        ${fmt(stats(ratio(vsString.b, vsString.a)), 2, 'x')}`);
  console.log(
    `  speed-up vs JSON bytes         ${fmt(stats(ratio(vsBytes.b, vsBytes.a)), 2, 'x')}   target ≥ 3x`,
  );

  const data = compare({ name: 'data', a: gatewireData(), b: plainCopy, iterations: dataIterations });
  const perMiB = (ns: number) => (ns * 16) / 1000; // ns per 64 KiB frame → µs per MiB
  console.log(`64 KiB DATA frames, decoder fed ${SOCKET_CHUNK / 1024} KiB chunks:`);
  console.log(`  gatewire encode+decode         ${fmt(stats(data.a.map(perMiB)), 1, ' µs/MiB')}`);
  console.log(`  plain copy                     ${fmt(stats(data.b.map(perMiB)), 1, ' µs/MiB')}`);
  console.log(
    `  overhead vs copy               ${fmt(stats(ratio(data.a, data.b)), 3, 'x')}   target ≤ 1.2x`,
  );
  if (sink === 0.5) console.log(sink);
}

// Run when executed, not when imported (profiling scripts reuse BENCH_ENVIRON).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
