/**
 * The benchmark's load generator (a process of its own): N WebSocket clients (`ws`), each in a
 * closed loop — send a small text message, wait for its echo, send the next. After a warm-up it
 * measures for D seconds: messages echoed, round-trip percentiles, and the CPU time the server's
 * processes (pids given) and this client spent in that window, read from /proc/<pid>/stat. Prints
 * one JSON line.
 *
 *   node --import tsx bench/websocket/load-client.ts URL CONNECTIONS WARMUP_MS DURATION_MS SIZE PID[,PID…]
 */
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';

const [url, connectionsArg, warmupArg, durationArg, sizeArg, pidsArg] = process.argv.slice(2);
const connections = Number(connectionsArg);
const warmupMs = Number(warmupArg);
const durationMs = Number(durationArg);
const message = 'x'.repeat(Number(sizeArg));
const pids = pidsArg.split(',').map(Number);
const TICK_US = 10_000; // USER_HZ 100

const samples = new Float64Array(8_000_000);
let sampleCount = 0;
let measuring = false;
let messages = 0;
let failures = 0;

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** One closed-loop client: one object, its listeners bound once. */
class Pinger {
  readonly socket: WebSocket;
  #sentAt = 0;

  constructor() {
    this.socket = new WebSocket(url, { perMessageDeflate: false });
    this.socket.on('open', this.#send);
    this.socket.on('message', this.#onMessage);
    this.socket.on('error', () => failures++);
  }

  #send = (): void => {
    this.#sentAt = performance.now();
    this.socket.send(message);
  };

  #onMessage = (): void => {
    if (measuring) {
      messages++;
      if (sampleCount < samples.length) samples[sampleCount++] = performance.now() - this.#sentAt;
    }
    this.#send();
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const pingers = Array.from({ length: connections }, () => new Pinger());
await new Promise((resolve) => setTimeout(resolve, warmupMs));
const before = pids.map(cpuTicks);
const clientBefore = cpuTicks(process.pid);
const started = performance.now();
measuring = true;
await new Promise((resolve) => setTimeout(resolve, durationMs));
measuring = false;
const seconds = (performance.now() - started) / 1000;
const after = pids.map(cpuTicks);
const clientAfter = cpuTicks(process.pid);
const open = pingers.filter((pinger) => pinger.socket.readyState === WebSocket.OPEN).length;
for (const pinger of pingers) pinger.socket.terminate();
const sorted = samples.subarray(0, sampleCount).sort();
process.stdout.write(
  `${JSON.stringify({
    messages,
    seconds,
    rate: messages / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    open,
    failures,
    cpuUsPerMessage: pids.map((_, i) => ((after[i] - before[i]) * TICK_US) / Math.max(1, messages)),
    clientCpuUsPerMessage: ((clientAfter - clientBefore) * TICK_US) / Math.max(1, messages),
  })}\n`,
);
process.exit(0);
