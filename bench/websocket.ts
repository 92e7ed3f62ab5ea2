/**
 * WebSocket benchmark (issue #9): messages per second echoed through gatewire against the same
 * echo behind nginx's WebSocket proxying, same machine, one run, interleaved.
 *
 *   npx tsc -b proxy worker-runtime && npx tsx bench/websocket.ts
 *     [--rounds 3] [--duration 5] [--warmup 1] [--connections 64] [--size 32]
 *
 * Stacks (each process its own, sharing the machine's cores with the load generator):
 * - (a) `gatewire`: proxy/dist/main.js → one TS worker process (worker-runtime/dist/main.js
 *   bench/websocket/echo-app.ts --socket PATH) echoing through upgradeWebSocket()'s web-style socket.
 * - (b) `nginx`: nginx (1 worker process, WebSocket proxying as nginx.org documents it,
 *   bench/websocket/nginx.conf) → bench/websocket/ws-echo-server.mjs, a bare `ws` server echoing
 *   through ws's own web-style API, on a Unix socket.
 *
 * The load generator (bench/websocket/load-client.ts, its own process) opens N sockets, each in a
 * closed loop: send an S-byte text message, wait for the echo, send the next. Each run warms up, then
 * measures D seconds; runs go A B, A B… for R rounds. Printed per run and as a summary: messages/s,
 * p50/p99 round trip, CPU µs per message of each server process (utime + stime from /proc), and the
 * (a)/(b) ratio of messages/s and of total server CPU per message, median with min–max over rounds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { peakRssMiB, resetPeaks } from './report/proc.js';
import { freePort } from './report/ports.js';
import { stopChildren } from './report/children.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PROXY_MAIN = join(ROOT, 'proxy/dist/main.js');
const WORKER_MAIN = join(ROOT, 'worker-runtime/dist/main.js');
const ECHO_APP = join(ROOT, 'bench/websocket/echo-app.ts');
const WS_ECHO = join(ROOT, 'bench/websocket/ws-echo-server.mjs');
const NGINX_CONF = join(ROOT, 'bench/websocket/nginx.conf');
const LOAD_CLIENT = join(ROOT, 'bench/websocket/load-client.ts');

export type StackName = 'gatewire' | 'nginx';
export const LABELS: Record<StackName, string> = {
  gatewire: '(a) gatewire proxy → TS worker (upgradeWebSocket)',
  nginx: '(b) nginx → ws server (unix)',
};

interface Member {
  role: string;
  pid: number;
}

export interface Stack {
  name: StackName;
  port: number;
  children: ChildProcess[];
  members: Member[];
}

export interface RunResult {
  messages: number;
  seconds: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  open: number;
  failures: number;
  cpuUsPerMessage: number[];
  clientCpuUsPerMessage: number;
  /** role → peak RSS during the warm-up and the measured window, MiB (set by load()). */
  rssMiB: Record<string, number>;
}

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

function startNode(args: string[]): ChildProcess {
  return spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function waitForFile(path: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!existsSync(path)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what} did not start`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Waits until a WebSocket opens and echoes on `port`. */
async function waitForEcho(port: number, children: ChildProcess[], what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${what}: a process exited early (${child.exitCode ?? child.signalCode})`);
    }
    const ok = await new Promise<boolean>((done) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
      const timer = setTimeout(() => {
        socket.terminate();
        done(false);
      }, 2000);
      socket.on('open', () => socket.send('ping'));
      socket.on('message', () => {
        clearTimeout(timer);
        socket.close();
        done(true);
      });
      socket.on('error', () => {
        clearTimeout(timer);
        done(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not echo on port ${port}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

export async function startGatewire(dir: string, port: number): Promise<Stack> {
  const home = join(dir, 'gatewire');
  mkdirSync(home, { recursive: true });
  const socket = join(home, 'worker.sock');
  const worker = startNode([WORKER_MAIN, ECHO_APP, '--socket', socket, '--log-level', 'warn']);
  await waitForFile(socket, worker, 'the TS worker');
  const configPath = join(home, 'gatewire.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      upstreams: { default: { sockets: [socket] } },
      log: { level: 'warn', access: false, format: 'json' },
    }),
  );
  const proxy = startNode([PROXY_MAIN, '--config', configPath]);
  const stack: Stack = { name: 'gatewire', port, children: [proxy, worker], members: [] };
  await waitForEcho(port, stack.children, 'gatewire');
  stack.members = [
    { role: 'proxy', pid: proxy.pid! },
    { role: 'worker', pid: worker.pid! },
  ];
  return stack;
}

export async function startNginx(dir: string, port: number): Promise<Stack> {
  const prefix = join(dir, 'nginx');
  mkdirSync(join(prefix, 'conf'), { recursive: true });
  // nginx workers run as `nobody` when the master is root: the socket's directories must be searchable.
  chmodSync(dir, 0o755);
  chmodSync(prefix, 0o755);
  const socket = join(prefix, 'echo.sock');
  const conf = readFileSync(NGINX_CONF, 'utf8')
    .replaceAll('@PREFIX@', prefix)
    .replaceAll('@SOCKET@', socket)
    .replaceAll('@PORT@', String(port));
  writeFileSync(join(prefix, 'conf/nginx.conf'), conf);
  const app = startNode([WS_ECHO, socket]);
  await waitForFile(socket, app, 'the ws echo server');
  const nginx = spawn(
    'nginx',
    ['-p', `${prefix}/`, '-c', 'conf/nginx.conf', '-e', join(prefix, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const stack: Stack = { name: 'nginx', port, children: [nginx, app], members: [] };
  await waitForEcho(port, stack.children, 'nginx');
  const workers = childPids(nginx.pid!);
  if (workers.length !== 1) throw new Error(`expected one nginx worker, found ${workers.length}`);
  stack.members = [
    { role: 'nginx', pid: workers[0] },
    { role: 'ws-server', pid: app.pid! },
  ];
  return stack;
}

export function stopStack(stack: Stack): Promise<void> {
  return stopChildren(stack.children, 5000);
}

/** One run: the load client against `stack` (warm-up, then the measured window). */
export async function load(
  stack: Stack,
  connections: number,
  warmupMs: number,
  durationMs: number,
  size: number,
): Promise<RunResult> {
  resetPeaks(stack.members);
  const client = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      LOAD_CLIENT,
      `ws://127.0.0.1:${stack.port}/echo`,
      String(connections),
      String(warmupMs),
      String(durationMs),
      String(size),
      stack.members.map((member) => member.pid).join(','),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  client.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
  const [code] = (await once(client, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`load client exited with ${code}: ${out}`);
  const result = JSON.parse(out.trim().split('\n').pop()!) as RunResult;
  result.rssMiB = peakRssMiB(stack.members);
  if (result.open !== connections || result.failures > 0)
    throw new Error(`${stack.name}: ${result.open}/${connections} sockets open, ${result.failures} failures`);
  return result;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const fmt = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function describeRun(stack: Stack, result: RunResult): string {
  const cpu = stack.members
    .map((member, i) => `${member.role} ${fmt(result.cpuUsPerMessage[i], 1)}`)
    .join(', ');
  const total = result.cpuUsPerMessage.reduce((sum, value) => sum + value, 0);
  return (
    `${fmt(result.rate)} msg/s, p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms, ` +
    `CPU µs/msg: ${cpu} (total ${fmt(total, 1)}; load client ${fmt(result.clientCpuUsPerMessage, 1)})`
  );
}

async function main(): Promise<void> {
  const rounds = Number(flag('--rounds', '3'));
  const durationMs = Number(flag('--duration', '5')) * 1000;
  const warmupMs = Number(flag('--warmup', '1')) * 1000;
  const connections = Number(flag('--connections', '64'));
  const size = Number(flag('--size', '32'));
  for (const path of [PROXY_MAIN, WORKER_MAIN]) {
    if (!existsSync(path))
      throw new Error(`${path} is missing: run \`npx tsc -b proxy worker-runtime\` first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'gw-wsbench-'));
  const stacks: Stack[] = [];
  const results: Record<StackName, RunResult[]> = { gatewire: [], nginx: [] };
  try {
    stacks.push(await startGatewire(dir, await freePort()));
    stacks.push(await startNginx(dir, await freePort()));
    console.log(
      `WebSocket echo, ${connections} clients × closed-loop ping-pong of ${size}-byte text messages, ` +
        `${rounds} rounds × ${durationMs / 1000} s per stack (after ${warmupMs / 1000} s warm-up), interleaved`,
    );
    for (let round = 1; round <= rounds; round++) {
      for (const stack of stacks) {
        const result = await load(stack, connections, warmupMs, durationMs, size);
        results[stack.name].push(result);
        console.log(`round ${round} ${LABELS[stack.name]}: ${describeRun(stack, result)}`);
      }
    }
  } finally {
    for (const stack of stacks) await stopStack(stack);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nsummary (median over rounds)');
  for (const stack of stacks) {
    const runs = results[stack.name];
    const cpu = stack.members
      .map((member, i) => `${member.role} ${fmt(median(runs.map((run) => run.cpuUsPerMessage[i])), 1)}`)
      .join(', ');
    console.log(
      `${LABELS[stack.name]}: ${fmt(median(runs.map((run) => run.rate)))} msg/s, ` +
        `p99 ${fmt(median(runs.map((run) => run.p99Ms)), 2)} ms, CPU µs/msg ${cpu}`,
    );
  }
  const rateRatios = results.gatewire.map((run, i) => run.rate / results.nginx[i].rate);
  const total = (run: RunResult): number => run.cpuUsPerMessage.reduce((sum, value) => sum + value, 0);
  const cpuRatios = results.gatewire.map((run, i) => total(run) / total(results.nginx[i]));
  const range = (values: number[]): string =>
    `${fmt(median(values), 2)}x (min ${fmt(Math.min(...values), 2)}, max ${fmt(Math.max(...values), 2)})`;
  console.log(`(a)/(b) messages/s: ${range(rateRatios)}`);
  console.log(`(a)/(b) server CPU per message: ${range(cpuRatios)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
