/**
 * HTTP front vs bare node:http, same 13-byte hello, same machine, interleaved runs.
 *
 *   npx tsx bench/http-front.ts [--rounds 3] [--duration 5] [--connections 64]
 *
 * (a) HttpFront with an in-process dispatcher answering `Hello, World!` (text/plain, 13 bytes);
 * (b) /work/shared/reference-stacks/apps/node-hello.js (bare node:http).
 * Each server runs in its own process; wrk -t1 -c64 -d5s --latency drives it, A B A B…, and the
 * script prints req/s and p99 per run, then the A/B ratio per round with its min–max. The front
 * must leave headroom for the gatewire hop the full proxy adds (aim: ≥ 1.3x node:http).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Dispatcher, Exchange } from '../proxy/src/http/exchange.js';
import { HttpFront } from '../proxy/src/http/http-front.js';

const run = promisify(execFile);
const NODE_HELLO = '/work/shared/reference-stacks/apps/node-hello.js';
const HELLO = Buffer.from('Hello, World!');

/** The dispatcher of server (a): one object, no closure per request. */
class HelloDispatcher implements Dispatcher {
  dispatch(exchange: Exchange): void {
    exchange.writeResponseHead(200, 'OK', [
      ['content-type', 'text/plain'],
      ['content-length', '13'],
    ]);
    exchange.writeResponseBody(HELLO);
    exchange.endResponse(null);
  }
}

async function serveFront(port: number): Promise<void> {
  const front = new HttpFront({ dispatcher: new HelloDispatcher() });
  await front.listen({ host: '127.0.0.1', port });
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    void front.close({ graceMs: 100 }).then(() => process.exit(0));
  });
}

interface WrkResult {
  rps: number;
  p99Ms: number;
  requests: number;
  /** Server CPU time (user + system) per request, µs: steadier than req/s on a shared machine. */
  cpuUsPerRequest: number;
}

/** utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (match === null) return Number.NaN;
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 's' ? n * 1000 : n;
}

async function wrk(port: number, pid: number, seconds: number, connections: number): Promise<WrkResult> {
  const ticksBefore = cpuTicks(pid);
  const { stdout } = await run('wrk', [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    `http://127.0.0.1:${port}/`,
  ]);
  const ticks = cpuTicks(pid) - ticksBefore;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const p99 = toMs(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '');
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk output:\n${stdout}`);
  if (/Non-2xx|Socket errors/.test(stdout))
    process.stdout.write(`  wrk: ${/(Non-2xx.*|Socket errors.*)/.exec(stdout)?.[1]}\n`);
  return { rps, p99Ms: p99, requests, cpuUsPerRequest: (ticks * 10_000) / requests };
}

async function startServer(kind: 'front' | 'node', port: number): Promise<ChildProcess> {
  const child =
    kind === 'front'
      ? spawn(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve-front', String(port)],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        )
      : spawn(process.execPath, [NODE_HELLO, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Wait until the port answers.
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await run('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
      return child;
    } catch {
      if (Date.now() > deadline) throw new Error(`${kind} server did not start`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const serveAt = process.argv.indexOf('--serve-front');
  if (serveAt >= 0) {
    await serveFront(Number(process.argv[serveAt + 1]));
    return;
  }
  const rounds = arg('--rounds', 3);
  const seconds = arg('--duration', 5);
  const connections = arg('--connections', 64);
  const ports = { front: 18_431, node: 18_432 };
  const results: Record<'front' | 'node', WrkResult[]> = { front: [], node: [] };
  process.stdout.write(
    `wrk -t1 -c${connections} -d${seconds}s, ${rounds} rounds, A = HttpFront, B = node:http\n`,
  );
  for (let round = 1; round <= rounds; round++) {
    for (const kind of ['front', 'node'] as const) {
      const child = await startServer(kind, ports[kind]);
      try {
        await wrk(ports[kind], child.pid!, 1, connections); // warm-up (JIT, connection setup)
        const result = await wrk(ports[kind], child.pid!, seconds, connections);
        results[kind].push(result);
        process.stdout.write(
          `round ${round} ${kind === 'front' ? 'A HttpFront' : 'B node:http'}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, server CPU ${result.cpuUsPerRequest.toFixed(1)} µs/req\n`,
        );
      } finally {
        await stopServer(child);
      }
    }
  }
  const ratios = results.front.map((a, i) => a.rps / results.node[i].rps);
  const cpuRatios = results.front.map((a, i) => results.node[i].cpuUsPerRequest / a.cpuUsPerRequest);
  const median = (values: number[]): number => [...values].sort((x, y) => x - y)[values.length >> 1];
  process.stdout.write(
    `\nHttpFront: median ${median(results.front.map((r) => r.rps)).toFixed(0)} req/s, p99 ${median(results.front.map((r) => r.p99Ms)).toFixed(2)} ms\n` +
      `node:http: median ${median(results.node.map((r) => r.rps)).toFixed(0)} req/s, p99 ${median(results.node.map((r) => r.p99Ms)).toFixed(2)} ms\n` +
      `ratio A/B: median ${median(ratios).toFixed(2)}x (min ${Math.min(...ratios).toFixed(2)}x, max ${Math.max(...ratios).toFixed(2)}x)\n` +
      `CPU per request, B/A: median ${median(cpuRatios).toFixed(2)}x (min ${Math.min(...cpuRatios).toFixed(2)}x, max ${Math.max(...cpuRatios).toFixed(2)}x)\n`,
  );
}

await main();
