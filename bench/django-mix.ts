/**
 * Django with a few slow requests: what a request waits behind a slow one, per stack (SPEC §6.4,
 * the `queue` feature: gatewire-wsgi --backlog and the proxy's recall of stalled queued requests).
 *
 *   npx tsc -b proxy && npx tsx bench/django-mix.ts [--rounds 3] [--duration 10] [--connections 16]
 *       [--slow-fraction 0.05] [--slow-ms 200] [--variants b0,b1,b1-nosteal,b2] [--uwsgi]
 *
 * Every stack serves bench/django/slowmix.py (the reference django_hello view; `/slow` first sleeps
 * --slow-ms) from 2 processes with 1 thread each:
 * - `gatewire bB`: proxy/dist/main.js → python3 -m gatewire_wsgi --processes 2 --threads 1
 *   --backlog B, the proxy at its default upstream.queueStallMs (20);
 * - `gatewire bB-nosteal`: the same with queueStallMs 3600000: queue slots are always used and
 *   nothing is recalled (the behaviour of --backlog before the queue feature);
 * - `nginx+uwsgi` (--uwsgi): bench/django/uwsgi.ini and nginx-uwsgi.conf, as bench/django.ts.
 * The load is closed-loop, in this process: --connections keep-alive connections, each sending its
 * next request when the previous answer arrived; a seeded random --slow-fraction of them go to
 * /slow. Stacks are interleaved per round. Printed per stack: req/s, and p50/p99 latency of the
 * fast and of the slow requests, median over rounds with min–max.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CONFIGS = join(ROOT, 'bench/django');
const PROXY_MAIN = join(ROOT, 'proxy/dist/main.js');
const PYTHON = process.env.PYTHON ?? 'python3';

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const rounds = Number(arg('--rounds', '3'));
const seconds = Number(arg('--duration', '10'));
const connections = Number(arg('--connections', '16'));
const slowFraction = Number(arg('--slow-fraction', '0.05'));
const slowMs = Number(arg('--slow-ms', '200'));
const variants = arg('--variants', 'b0,b1,b1-nosteal,b2').split(',');
const withUwsgi = process.argv.includes('--uwsgi');

interface Stack {
  name: string;
  port: number;
  children: ChildProcess[];
}

const children: ChildProcess[] = [];

function launch(command: string, args: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  const keep = (text: string) => {
    stderr = (stderr + text).slice(-50_000);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  child.on('exit', () => writeFileSync(log, stderr));
  return child;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function waitForHello(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      if (response.status === 200 && (await response.text()).includes('Hello')) return;
    } catch {
      // not yet
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  throw new Error(`${what} did not answer on port ${port}`);
}

const pythonEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PYTHONPATH: [join(ROOT, 'worker-runtime/python'), process.env.PYTHONPATH].filter(Boolean).join(':'),
  SLOWMIX_MS: String(slowMs),
});

async function startGatewire(runDir: string, variant: string): Promise<Stack> {
  const match = /^b(\d+)(-nosteal)?$/.exec(variant);
  if (match === null) throw new Error(`--variants ${variant}: expected bB or bB-nosteal`);
  const dir = join(runDir, `gatewire-${variant}`);
  const socketDir = join(dir, 'sockets');
  mkdirSync(socketDir, { recursive: true, mode: 0o750 });
  const port = await freePort();
  const config = join(dir, 'proxy.json');
  writeFileSync(
    config,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      upstream: match[2] ? { queueStallMs: 3_600_000 } : {},
      upstreams: { django: { socketDir } },
      admin: false,
      log: { level: 'warn', access: false },
    }),
  );
  const app = launch(
    PYTHON,
    ['-m', 'gatewire_wsgi', 'slowmix:application', '--chdir', CONFIGS, '--socket-dir', socketDir].concat([
      '--processes',
      '2',
      '--threads',
      '1',
      '--backlog',
      match[1],
      '--log-level',
      'warning',
    ]),
    pythonEnv(),
    join(dir, 'worker.log'),
  );
  const deadline = Date.now() + 30_000;
  while (readdirSync(socketDir).filter((file) => file.endsWith('.sock')).length < 2) {
    if (Date.now() > deadline) throw new Error(`gatewire ${variant}: no 2 worker sockets`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  const front = launch(
    process.execPath,
    [PROXY_MAIN, '--config', config],
    process.env,
    join(dir, 'proxy.log'),
  );
  await waitForHello(port, `gatewire ${variant}`);
  return { name: `gatewire ${variant}`, port, children: [front, app] };
}

async function startUwsgi(runDir: string): Promise<Stack> {
  const dir = join(runDir, 'uwsgi');
  mkdirSync(join(dir, 'nginx-uwsgi'), { recursive: true });
  chmodSync(dir, 0o755);
  const port = await freePort();
  const render = (file: string, values: Record<string, string>) => {
    let text = readFileSync(join(CONFIGS, file), 'utf8');
    for (const [key, value] of Object.entries(values)) text = text.replaceAll(key, value);
    return text;
  };
  const values = {
    '@RUN_DIR@': dir,
    '@PORT@': String(port),
    '@APP_DIR@': CONFIGS,
    '@MODULE@': 'slowmix:application',
  };
  writeFileSync(join(dir, 'uwsgi.ini'), render('uwsgi.ini', values));
  writeFileSync(
    join(dir, 'nginx.conf'),
    render('nginx-uwsgi.conf', { ...values, '@PARAMS@': join(CONFIGS, 'uwsgi_params') }),
  );
  const app = launch('uwsgi', ['--ini', join(dir, 'uwsgi.ini')], pythonEnv(), join(dir, 'uwsgi.log'));
  const front = launch(
    'nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf')],
    process.env,
    join(dir, 'nginx.log'),
  );
  await waitForHello(port, 'nginx+uwsgi');
  return { name: 'nginx+uwsgi', port, children: [front, app] };
}

/** xorshift32: the same request mix for every stack and round. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

interface Sample {
  requests: number;
  fast: number[];
  slow: number[];
}

async function measure(stack: Stack, round: number): Promise<Sample> {
  const pool = new Pool(`http://127.0.0.1:${stack.port}`, { connections, pipelining: 1 });
  const sample: Sample = { requests: 0, fast: [], slow: [] };
  const random = seeded(0x9e3779b9 ^ round);
  let measuring = false;
  let errors = 0;
  let stopped = false;
  const client = async () => {
    while (!stopped) {
      const slow = random() < slowFraction;
      const start = performance.now();
      const response = await pool.request({ path: slow ? '/slow' : '/', method: 'GET' });
      await response.body.text();
      if (response.statusCode !== 200) {
        errors++;
        if (errors === 1) console.error(`${stack.name}: status ${response.statusCode}`);
      }
      if (!measuring || stopped) continue;
      sample.requests++;
      (slow ? sample.slow : sample.fast).push(performance.now() - start);
    }
  };
  const running = Array.from({ length: connections }, client);
  await new Promise((ok) => setTimeout(ok, 1000)); // warm-up
  measuring = true;
  await new Promise((ok) => setTimeout(ok, seconds * 1000));
  stopped = true;
  await Promise.all(running);
  await pool.close();
  if (errors > 0) throw new Error(`${stack.name}: ${errors} answers were not 200 (logs in ${runDir})`);
  return sample;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const median = (values: number[]) => percentile(values, 50);
const spread = (values: number[], digits = 1) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;

const runDir = mkdtempSync(join(tmpdir(), 'gatewire-django-mix-'));
let failed: unknown = null;

async function main(): Promise<void> {
  chmodSync(runDir, 0o755); // nginx's worker (an unprivileged user) reaches the uWSGI socket inside
  const stacks: Stack[] = [];
  try {
    for (const variant of variants) stacks.push(await startGatewire(runDir, variant));
    if (withUwsgi) stacks.push(await startUwsgi(runDir));
    console.log(
      `closed loop, ${connections} connections, ${seconds} s per run, ${rounds} rounds interleaved; ` +
        `${(slowFraction * 100).toFixed(1)} % of requests to /slow (${slowMs} ms); 2 processes x 1 thread per stack`,
    );
    const results = new Map<string, Array<Record<string, number>>>();
    for (let round = 0; round < rounds; round++) {
      const order = stacks.map((_, i) => stacks[(i + round) % stacks.length]);
      for (const stack of order) {
        const sample = await measure(stack, round);
        const row = {
          rps: sample.requests / seconds,
          fast50: percentile(sample.fast, 50),
          fast90: percentile(sample.fast, 90),
          fast99: percentile(sample.fast, 99),
          // Fast requests that waited behind a slow one (or otherwise): the head-of-line share.
          late: (100 * sample.fast.filter((ms) => ms >= 50).length) / Math.max(1, sample.fast.length),
          slow50: percentile(sample.slow, 50),
          slow99: percentile(sample.slow, 99),
        };
        console.log(
          `  round ${round + 1} ${stack.name}: ${row.rps.toFixed(0)} req/s, fast p50 ${row.fast50.toFixed(1)} p90 ${row.fast90.toFixed(1)} p99 ${row.fast99.toFixed(1)} ms, ${row.late.toFixed(2)} % ≥ 50 ms, slow p50 ${row.slow50.toFixed(1)} p99 ${row.slow99.toFixed(1)} ms (${sample.slow.length} slow)`,
        );
        results.set(stack.name, [...(results.get(stack.name) ?? []), row]);
      }
    }
    console.log(
      '\n| stack | req/s | fast p50 ms | fast p90 ms | fast p99 ms | fast ≥ 50 ms (%) | slow p50 ms | slow p99 ms |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [name, rows] of results) {
      const column = (key: string, digits = 1) =>
        spread(
          rows.map((row) => row[key]),
          digits,
        );
      console.log(
        `| ${name} | ${column('rps', 0)} | ${column('fast50')} | ${column('fast90')} | ${column('fast99')} | ${column('late', 2)} | ${column('slow50')} | ${column('slow99')} |`,
      );
    }
  } catch (error) {
    failed = error;
    throw error;
  } finally {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await new Promise((ok) => setTimeout(ok, 1500));
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (failed === null) rmSync(runDir, { recursive: true, force: true });
    else console.error(`logs kept in ${runDir}`);
  }
}

await main();
