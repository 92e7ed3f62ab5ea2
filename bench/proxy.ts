/**
 * The proxy benchmark (issue #4 item 12): gatewire against the stack users would pick instead,
 * same app, same machine, one run, interleaved.
 *
 *   npx tsc -b proxy worker-runtime && npx tsx bench/proxy.ts
 *     [--rounds 3] [--duration 5] [--connections 64] [--body 13] [--logs both|off|on]
 *     [--stacks gatewire,nginx,node] [--profile DIR] [--alt-proxy OTHER/proxy/dist/main.js]
 *
 * Stacks (each process its own; wrk -t1 shares the same 2 cores):
 * - (a) `gatewire`: proxy/dist/main.js → one TS worker process (worker-runtime/dist/main.js APP
 *   --socket PATH) serving the 13-byte `Hello, World!` fetch app (test/fixtures/apps/bench-hello.ts).
 * - (b) `nginx`: nginx, 1 worker process, → reference-stacks/apps/node-hello.js on a Unix socket with
 *   upstream keep-alive (reference-stacks/configs/nginx-node-unix.conf, paths rewritten into a temp
 *   prefix).
 * - (c) `node`: node-hello.js alone on TCP.
 *
 * For each log setting (`off`: no access log on either proxy; `on`: both write an access log to a
 * file), every stack is started once and warmed up, then wrk -t1 -cN -dDs --latency runs
 * A B C, A B C… for `rounds` rounds. Printed per run and as a table: req/s, p50/p99 latency and
 * CPU µs per request of each process of the stack (utime, stime from /proc/<pid>/stat), then the
 * ratio (a)/(b) with its min–max over rounds.
 *
 * `--body N` serves an N-byte body from every stack instead (the apps are then generated into the
 * temp dir; 13 uses the reference files themselves). `--profile DIR` runs the gatewire proxy with
 * `node --cpu-prof` and leaves the profile in DIR. `--alt-proxy` adds stack (a'): the same as (a)
 * with another build of the proxy (a copy of proxy/dist from before a change, placed where it
 * still resolves its dependencies, e.g. node_modules/.bench-base/dist/main.js), for A/B runs.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { peakRssMiB, resetPeaks } from './report/proc.js';
import { freePort } from './report/ports.js';
import { stopChildren } from './report/children.js';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const REFERENCE = '/work/shared/reference-stacks';
const NODE_HELLO = join(REFERENCE, 'apps/node-hello.js');
const NGINX_CONF = join(REFERENCE, 'configs/nginx-node-unix.conf');
const HELLO_APP = join(ROOT, 'test/fixtures/apps/bench-hello.ts');
const PROXY_MAIN = join(ROOT, 'proxy/dist/main.js');
const WORKER_MAIN = join(ROOT, 'worker-runtime/dist/main.js');

export type StackName = 'gatewire' | 'nginx' | 'node' | 'alt';
export const LABELS: Record<StackName, string> = {
  gatewire: '(a) gatewire proxy → TS worker',
  nginx: '(b) nginx → node:http (unix, keep-alive)',
  node: '(c) bare node:http',
  alt: "(a') gatewire, --alt-proxy build",
};

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

/** A process whose CPU time counts for the stack. */
interface Member {
  readonly role: string;
  readonly pid: number;
}

export interface Stack {
  readonly name: StackName;
  readonly port: number;
  readonly children: ChildProcess[];
  members: Member[];
}

export interface RunResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: string;
  /** role → [user µs/request, system µs/request] */
  cpu: Map<string, [number, number]>;
  /** role → peak RSS during the run, MiB */
  rssMiB: Record<string, number>;
}

// ── /proc ──

/** [utime, stime] of a process, in clock ticks (USER_HZ, 100 on Linux). */
function cpuTicks(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]), Number(fields[12])];
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

// ── wrk ──

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (match === null) return Number.NaN;
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 's' ? n * 1000 : n;
}

export async function wrk(stack: Stack, seconds: number, connections: number): Promise<RunResult> {
  resetPeaks(stack.members);
  const before = stack.members.map((member) => cpuTicks(member.pid));
  const { stdout } = await run(
    'wrk',
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${stack.port}/`],
    { maxBuffer: 1 << 20 },
  );
  const after = stack.members.map((member) => cpuTicks(member.pid));
  const rssMiB = peakRssMiB(stack.members);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  if (!Number.isFinite(rps) || !(requests > 0)) throw new Error(`cannot read wrk output:\n${stdout}`);
  const cpu = new Map<string, [number, number]>();
  stack.members.forEach((member, i) => {
    // One tick is 10 ms = 10,000 µs.
    cpu.set(member.role, [
      ((after[i][0] - before[i][0]) * 10_000) / requests,
      ((after[i][1] - before[i][1]) * 10_000) / requests,
    ]);
  });
  const errors = [/Non-2xx or 3xx responses: \d+/, /Socket errors: .*/]
    .map((pattern) => pattern.exec(stdout)?.[0])
    .filter(Boolean)
    .join('; ');
  return {
    rps,
    p50Ms: toMs(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    p99Ms: toMs(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    requests,
    errors,
    cpu,
    rssMiB,
  };
}

// ── stacks ──

export interface Setup {
  readonly dir: string;
  readonly logs: boolean;
  readonly bodyBytes: number;
  readonly profileDir: string | null;
  /** Another build of proxy/dist/main.js for stack `alt` (A/B of a change). */
  readonly altProxy: string | null;
}

/** Apps serving `bytes` bytes: the reference files for 13, generated copies otherwise. */
function apps(setup: Setup): { worker: string; node: string } {
  if (setup.bodyBytes === 13) return { worker: HELLO_APP, node: NODE_HELLO };
  const worker = join(setup.dir, 'sized-app.mjs');
  writeFileSync(
    worker,
    `const BODY = new Uint8Array(${setup.bodyBytes}).fill(0x61);\n` +
      `export default { fetch() { return new Response(BODY, { headers: { 'content-type': 'text/plain' } }); } };\n`,
  );
  const node = join(setup.dir, 'sized-node.cjs');
  writeFileSync(
    node,
    readFileSync(NODE_HELLO, 'utf8')
      .replace("require('./listen-arg')", `require(${JSON.stringify(join(REFERENCE, 'apps/listen-arg.js'))})`)
      .replace("Buffer.from('Hello, World!')", `Buffer.alloc(${setup.bodyBytes}, 0x61)`),
  );
  return { worker, node };
}

function startNode(args: string[], stdout: 'ignore' | number = 'ignore'): ChildProcess {
  return spawn(process.execPath, args, { stdio: ['ignore', stdout, 'inherit'], cwd: ROOT });
}

async function waitForHttp(port: number, children: ChildProcess[], what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${what}: a process exited early (${child.exitCode ?? child.signalCode})`);
    }
    try {
      await run('curl', ['-sf', '-o', '/dev/null', '--max-time', '2', `http://127.0.0.1:${port}/`]);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${what} did not answer on port ${port}`);
      await new Promise((done) => setTimeout(done, 100));
    }
  }
}

export async function startGatewire(
  setup: Setup,
  port: number,
  name: 'gatewire' | 'alt' = 'gatewire',
): Promise<Stack> {
  const dir = join(setup.dir, name);
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'worker.sock');
  const worker = startNode([WORKER_MAIN, apps(setup).worker, '--socket', socket, '--log-level', 'warn']);
  const config = {
    listen: { host: '127.0.0.1', port },
    upstreams: { default: { sockets: [socket] } },
    log: { level: setup.logs ? 'info' : 'warn', access: setup.logs, format: 'json' },
  };
  const configPath = join(dir, 'gatewire.json');
  writeFileSync(configPath, JSON.stringify(config));
  const out = setup.logs ? openSync(join(dir, 'access.log'), 'a') : 'ignore';
  const profile = setup.profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${setup.profileDir}`];
  // The worker's socket must exist before the proxy starts (a fixed socket is retried anyway).
  const deadline = Date.now() + 20_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline || worker.exitCode !== null) throw new Error('the TS worker did not start');
    await new Promise((done) => setTimeout(done, 50));
  }
  const main = name === 'alt' ? setup.altProxy! : PROXY_MAIN;
  const proxy = startNode([...profile, main, '--config', configPath], out);
  const stack: Stack = { name, port, children: [proxy, worker], members: [] };
  await waitForHttp(port, stack.children, 'gatewire');
  stack.members = [
    { role: 'proxy', pid: proxy.pid! },
    { role: 'worker', pid: worker.pid! },
  ];
  return stack;
}

export async function startNginx(setup: Setup, port: number): Promise<Stack> {
  const prefix = join(setup.dir, 'nginx');
  mkdirSync(join(prefix, 'conf'), { recursive: true });
  // nginx workers run as `nobody` when the master is root: the socket's directory must be searchable.
  chmodSync(setup.dir, 0o755);
  chmodSync(prefix, 0o755);
  const socket = join(prefix, 'node-hello.sock');
  let conf = readFileSync(NGINX_CONF, 'utf8')
    .replaceAll('/tmp/anchors-perf/node-hello.sock', socket)
    .replaceAll('/tmp/anchors-perf/nginx', prefix)
    .replace('127.0.0.1:8080', `127.0.0.1:${port}`);
  if (setup.logs) conf = conf.replace('access_log off;', `access_log ${join(prefix, 'access.log')};`);
  writeFileSync(join(prefix, 'conf/nginx.conf'), conf);
  const app = startNode([apps(setup).node, socket]);
  const deadline = Date.now() + 20_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline || app.exitCode !== null) throw new Error('node-hello did not start');
    await new Promise((done) => setTimeout(done, 50));
  }
  const nginx = spawn(
    'nginx',
    ['-p', `${prefix}/`, '-c', 'conf/nginx.conf', '-e', join(prefix, 'error.log')],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const stack: Stack = { name: 'nginx', port, children: [nginx, app], members: [] };
  await waitForHttp(port, stack.children, 'nginx');
  const workers = childPids(nginx.pid!);
  if (workers.length !== 1) throw new Error(`expected one nginx worker, found ${workers.length}`);
  stack.members = [
    { role: 'nginx', pid: workers[0] },
    { role: 'node-hello', pid: app.pid! },
  ];
  return stack;
}

export async function startBareNode(setup: Setup, port: number): Promise<Stack> {
  const app = startNode([apps(setup).node, String(port)]);
  const stack: Stack = { name: 'node', port, children: [app], members: [] };
  await waitForHttp(port, stack.children, 'node');
  stack.members = [{ role: 'node', pid: app.pid! }];
  return stack;
}

export function stopStack(stack: Stack): Promise<void> {
  return stopChildren(stack.children);
}

// ── report ──

const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const range = (values: number[], digits: number): string =>
  `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

function report(title: string, stacks: StackName[], results: Map<StackName, RunResult[]>): void {
  console.log(`\n### ${title}\n`);
  console.log(
    '| stack | req/s median (min–max) | p50 ms | p99 ms median (min–max) | CPU µs/request, median user + sys per process | total CPU µs/req |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const name of stacks) {
    const runs = results.get(name)!;
    const rps = runs.map((r) => r.rps);
    const roles = [...runs[0].cpu.keys()];
    const perProcess = roles
      .map((role) => {
        const user = median(runs.map((r) => r.cpu.get(role)![0]));
        const sys = median(runs.map((r) => r.cpu.get(role)![1]));
        return `${role} ${user.toFixed(1)} + ${sys.toFixed(1)}`;
      })
      .join('; ');
    const total = median(runs.map((r) => [...r.cpu.values()].reduce((sum, [u, s]) => sum + u + s, 0)));
    console.log(
      `| ${LABELS[name]} | ${Math.round(median(rps))} (${range(rps, 0)}) | ${median(runs.map((r) => r.p50Ms)).toFixed(2)} | ${median(runs.map((r) => r.p99Ms)).toFixed(2)} (${range(
        runs.map((r) => r.p99Ms),
        2,
      )}) | ${perProcess} | ${total.toFixed(1)} |`,
    );
  }
  const ratio = (a: StackName, b: StackName): string | null => {
    if (!results.has(a) || !results.has(b)) return null;
    const values = results.get(a)!.map((r, i) => r.rps / results.get(b)![i].rps);
    return `${median(values).toFixed(2)}x (min–max ${range(values, 2)})`;
  };
  const ab = ratio('gatewire', 'nginx');
  const ac = ratio('gatewire', 'node');
  const bc = ratio('nginx', 'node');
  const alt = ratio('gatewire', 'alt');
  console.log('');
  if (alt !== null) console.log(`(a)/(a') this build / --alt-proxy build: ${alt}`);
  if (ab !== null) console.log(`(a)/(b) gatewire / nginx→node: ${ab}`);
  if (ac !== null) console.log(`(a)/(c) gatewire / bare node: ${ac}`);
  if (bc !== null) console.log(`(b)/(c) nginx→node / bare node: ${bc}`);
}

/**
 * Starts `stacks`, warms each up (`warmupSeconds` of wrk), then runs wrk on each in turn for
 * `rounds` rounds (A B C, A B C…), stops them and returns every run by stack. Progress on stderr.
 */
export async function runProxyBench(
  setup: Setup,
  stacks: StackName[],
  rounds: number,
  seconds: number,
  connections: number,
  warmupSeconds = 2,
): Promise<Map<StackName, RunResult[]>> {
  const starters = {
    gatewire: startGatewire,
    nginx: startNginx,
    node: startBareNode,
    alt: (s: Setup, port: number) => startGatewire(s, port, 'alt'),
  };
  const running: Stack[] = [];
  const results = new Map<StackName, RunResult[]>(stacks.map((name) => [name, []]));
  try {
    for (const name of stacks) running.push(await starters[name](setup, await freePort()));
    for (const stack of running) await wrk(stack, warmupSeconds, connections); // warm-up: JIT, connections
    for (let round = 1; round <= rounds; round++) {
      for (const stack of running) {
        const result = await wrk(stack, seconds, connections);
        results.get(stack.name)!.push(result);
        const cpu = [...result.cpu]
          .map(([role, [u, s]]) => `${role} ${u.toFixed(1)}+${s.toFixed(1)}`)
          .join(', ');
        process.stderr.write(
          `  round ${round} ${stack.name}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, CPU µs/req ${cpu}${result.errors ? `  [${result.errors}]` : ''}\n`,
        );
      }
    }
  } finally {
    for (const stack of running) await stopStack(stack);
  }
  return results;
}

async function main(): Promise<void> {
  const rounds = Number(flag('--rounds', '3'));
  const seconds = Number(flag('--duration', '5'));
  const connections = Number(flag('--connections', '64'));
  const bodyBytes = Number(flag('--body', '13'));
  const logs = flag('--logs', 'both');
  const stacks = flag('--stacks', 'gatewire,nginx,node').split(',') as StackName[];
  const profile = flag('--profile', '');
  const altProxy = flag('--alt-proxy', '');
  if (altProxy !== '' && !stacks.includes('alt')) stacks.unshift('alt');
  for (const file of [PROXY_MAIN, WORKER_MAIN])
    if (!existsSync(file)) throw new Error(`${file} is missing: run npx tsc -b proxy worker-runtime`);
  const settings = logs === 'both' ? [false, true] : [logs === 'on'];
  const { stdout: cpuModel } = await run('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]);
  console.log(
    `wrk -t1 -c${connections} -d${seconds}s --latency, ${bodyBytes}-byte body, ${rounds} rounds interleaved (a b c a b c …); node ${process.version}; ${cpuModel.trim()}; load before: ${readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ')}`,
  );
  for (const logsOn of settings) {
    const dir = mkdtempSync(join(tmpdir(), 'gatewire-bench-proxy-'));
    try {
      process.stderr.write(`access logs ${logsOn ? 'on (to a file)' : 'off'}:\n`);
      const results = await runProxyBench(
        {
          dir,
          logs: logsOn,
          bodyBytes,
          profileDir: profile === '' ? null : resolve(profile),
          altProxy: altProxy === '' ? null : resolve(altProxy),
        },
        stacks,
        rounds,
        seconds,
        connections,
      );
      report(
        logsOn
          ? 'access logs on, written to a file (gatewire: pino JSON lines; nginx: combined format)'
          : 'access logs off',
        stacks,
        results,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
