/**
 * Django behind gatewire vs nginx + uWSGI vs nginx + gunicorn (issue #5, item 4): the same Django
 * view, the same Python, the same Django, 2 processes each, side by side in one run.
 *
 *   npx tsc -b proxy && npx tsx bench/django.ts [--rounds 3] [--duration 5] [--connections 64,16]
 *       [--threads 1,2,4] [--views hello,api] [--stacks gatewire,uwsgi,gunicorn] [--baseline DIR]
 *
 * Stacks (each started once, all left running and idle while another is measured):
 * - (a) `gatewire tN`: proxy/dist/main.js + `python3 -m gatewire_wsgi --socket-dir … --processes 2
 *       --threads N` (N from --threads; threads 1 is the configuration compared with the others);
 *       `--threads 1b1` adds `--backlog 1` (`gatewire t1 b1`);
 * - (b) `nginx+uwsgi`: nginx (1 worker) → uwsgi protocol over a Unix socket → uWSGI, 2 processes;
 * - (c) `nginx+gunicorn`: nginx (1 worker) → HTTP/1.0, a connection per request, over a Unix
 *       socket → gunicorn, 2 sync workers.
 * - `baseline tN` (with --baseline DIR): (a) with the gatewire_wsgi package found in DIR (say
 *   `git archive <commit> worker-runtime/python | tar -x -C /tmp/base`, DIR /tmp/base/worker-runtime/python),
 *   to measure a worker change in the same run.
 * Configs: bench/django/ (rendered into a private temporary directory). Views: `hello` is
 * /work/shared/reference-stacks/apps/django_hello (`/`, 13 bytes of text/plain through the
 * default middleware); `api` is examples/django's JSON API (`/api/info/`).
 *
 * Each measurement is `wrk -t1 -cC -dDs --latency` after a 1 s warm-up; per round every (view,
 * connections) pair runs every stack once, in an order rotated from round to round. Printed: req/s,
 * p50/p99 and the stack's CPU per request (utime + stime from /proc of every process of the stack,
 * front = nginx or the gatewire proxy, app = the Python processes), then per gatewire variant the
 * ratio (a)/best of (b), (c) in req/s for each round, median with min–max, and p99 side by side.
 * A missing reference (uwsgi, gunicorn, nginx, wrk, Django) is named with the command that installs it.
 */
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Member, peakRssMiB, processTree, resetPeaks } from './report/proc.js';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CONFIGS = join(ROOT, 'bench/django');
const PROXY_MAIN = join(ROOT, 'proxy/dist/main.js');
const WORKER_PACKAGE = join(ROOT, 'worker-runtime/python');
const HELLO_APP = '/work/shared/reference-stacks/apps/django_hello';
const EXAMPLE_APP = join(ROOT, 'examples/django');
const PYTHON = process.env.PYTHON ?? 'python3';

export interface View {
  name: string;
  appDir: string;
  module: string;
  path: string;
  /** A string the response body must contain. */
  expect: string;
}

export const VIEWS: Record<string, View> = {
  hello: {
    name: 'hello',
    appDir: HELLO_APP,
    module: 'hellosite.wsgi:application',
    path: '/',
    expect: 'Hello, World!',
  },
  api: {
    name: 'api',
    appDir: EXAMPLE_APP,
    module: 'gatewire_demo.wsgi:application',
    path: '/api/info/',
    expect: '"request_id"',
  },
};

// ── arguments ──

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}
const list = (value: string): string[] => value.split(',').filter(Boolean);

// ── processes and CPU accounting ──

/** utime + stime of a process in clock ticks (USER_HZ = 100), or 0 if it is gone. */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

const started: ChildProcess[] = [];

function launch(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; log: string },
): ChildProcess {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  started.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  child.on('exit', () => writeFileSync(options.log, stderr));
  return child;
}

export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

process.on('exit', () => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function waitForBody(
  port: number,
  path: string,
  expect: string,
  what: string,
  logs: string[],
): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      const body = await response.text();
      if (response.status === 200 && body.includes(expect)) return;
      last = `${response.status} ${body.slice(0, 200)}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  const tails = logs
    .filter((log) => existsSync(log))
    .map((log) => `--- ${log}\n${readFileSync(log, 'utf8').slice(-2000)}`)
    .join('\n');
  throw new Error(`${what} did not serve ${path} within 30 s (last answer: ${last})\n${tails}`);
}

// ── stacks ──

export interface Stack {
  name: string;
  port: number;
  /** Root processes: the front (nginx, the gatewire proxy) and the app server (Python). */
  front: ChildProcess;
  app: ChildProcess;
}

function render(file: string, values: Record<string, string>): string {
  let text = readFileSync(join(CONFIGS, file), 'utf8');
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(key, value);
  return text;
}

function pythonEnv(extra: NodeJS.ProcessEnv = {}, workerPackage = WORKER_PACKAGE): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: [workerPackage, process.env.PYTHONPATH].filter(Boolean).join(':'),
    DJANGO_ALLOWED_HOSTS: '127.0.0.1,localhost',
    ...extra,
  };
}

/** A gatewire variant: `T` (threads) or `TbB` (threads and --backlog B), e.g. `1`, `4`, `1b1`. */
export interface Variant {
  threads: number;
  backlog: number;
  label: string;
}

export function parseVariant(text: string): Variant {
  const match = /^(\d+)(?:b(\d+))?$/.exec(text);
  if (match === null)
    throw new Error(`--threads ${text}: expected T or TbB (threads, backlog), e.g. 1, 4, 1b1`);
  const threads = Number(match[1]);
  const backlog = Number(match[2] ?? 0);
  return { threads, backlog, label: backlog ? `t${threads} b${backlog}` : `t${threads}` };
}

export async function startGatewire(
  runDir: string,
  view: View,
  variant: Variant,
  baseline: string | null = null,
): Promise<Stack> {
  const name = `${baseline === null ? 'gatewire' : 'baseline'} ${variant.label}`;
  const dir = join(
    runDir,
    `${baseline === null ? 'gatewire' : 'baseline'}-${view.name}-${variant.label.replace(' ', '')}`,
  );
  const socketDir = join(dir, 'gatewire');
  mkdirSync(socketDir, { recursive: true, mode: 0o750 });
  const port = await freePort();
  const configPath = join(dir, 'gatewire-proxy.json');
  writeFileSync(configPath, render('gatewire-proxy.json', { '@RUN_DIR@': dir, '"@PORT@"': String(port) }));
  const app = launch(
    PYTHON,
    [
      '-m',
      'gatewire_wsgi',
      view.module,
      '--chdir',
      view.appDir,
      '--socket-dir',
      socketDir,
      '--processes',
      '2',
      '--threads',
      String(variant.threads),
      '--backlog', // always: the worker's default is 1 (queue slots, SPEC §6.4); `1` means --backlog 0
      String(variant.backlog),
      '--log-level',
      'warning',
    ],
    { env: pythonEnv({}, baseline ?? WORKER_PACKAGE), log: join(dir, 'worker.log') },
  );
  const front = launch(process.execPath, [PROXY_MAIN, '--config', configPath], {
    log: join(dir, 'proxy.log'),
  });
  try {
    await waitForBody(port, view.path, view.expect, name, [join(dir, 'worker.log'), join(dir, 'proxy.log')]);
    // Both processes must have joined before measuring (the first answer needs only one).
    const deadline = Date.now() + 30_000;
    while (readdirSync(socketDir).filter((file) => file.endsWith('.sock')).length < 2) {
      if (Date.now() > deadline) throw new Error(`${name}: fewer than 2 worker sockets in ${socketDir}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
  } catch (error) {
    await Promise.all([stop(front), stop(app)]); // a failed start leaves nothing running
    throw error;
  }
  await new Promise((ok) => setTimeout(ok, 500)); // the proxy's directory watch
  return { name, port, front, app };
}

export async function startUwsgi(runDir: string, view: View, uwsgi: string): Promise<Stack> {
  const dir = join(runDir, `uwsgi-${view.name}`);
  mkdirSync(join(dir, 'nginx-uwsgi'), { recursive: true });
  chmodSync(dir, 0o755);
  const port = await freePort();
  const values = {
    '@RUN_DIR@': dir,
    '@PORT@': String(port),
    '@APP_DIR@': view.appDir,
    '@MODULE@': view.module,
  };
  writeFileSync(join(dir, 'uwsgi.ini'), render('uwsgi.ini', values));
  writeFileSync(
    join(dir, 'nginx.conf'),
    render('nginx-uwsgi.conf', { ...values, '@PARAMS@': join(CONFIGS, 'uwsgi_params') }),
  );
  const app = launch(uwsgi, ['--ini', join(dir, 'uwsgi.ini')], {
    env: pythonEnv(),
    log: join(dir, 'uwsgi.log'),
  });
  const front = launch('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { log: join(dir, 'nginx.log') });
  await waitForBody(port, view.path, view.expect, 'nginx+uwsgi', [
    join(dir, 'uwsgi.log'),
    join(dir, 'nginx-uwsgi.error.log'),
  ]);
  return { name: 'nginx+uwsgi', port, front, app };
}

export async function startGunicorn(runDir: string, view: View): Promise<Stack> {
  const dir = join(runDir, `gunicorn-${view.name}`);
  mkdirSync(join(dir, 'nginx-gunicorn'), { recursive: true });
  chmodSync(dir, 0o755);
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    render('nginx-gunicorn.conf', { '@RUN_DIR@': dir, '@PORT@': String(port) }),
  );
  const app = launch(
    PYTHON,
    ['-m', 'gunicorn', '-c', join(CONFIGS, 'gunicorn.conf.py'), '--chdir', view.appDir, view.module],
    { env: pythonEnv({ BENCH_RUN_DIR: dir }), log: join(dir, 'gunicorn.log') },
  );
  const front = launch('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { log: join(dir, 'nginx.log') });
  await waitForBody(port, view.path, view.expect, 'nginx+gunicorn', [
    join(dir, 'gunicorn.log'),
    join(dir, 'nginx-gunicorn.error.log'),
  ]);
  return { name: 'nginx+gunicorn', port, front, app };
}

// ── references: present, same Python, same Django ──

export interface References {
  uwsgi: string | null;
  problems: string[];
}

export function checkReferences(wanted: Set<string>): References {
  const problems: string[] = [];
  const python = (code: string): string | null => {
    const result = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', env: pythonEnv() });
    return result.status === 0 ? result.stdout.trim() : null;
  };
  const django = python('import django; print(django.get_version())');
  if (django === null)
    problems.push(`${PYTHON} cannot import Django: pip install -r worker-runtime/python/requirements.txt`);
  if (python('import gatewire_wsgi, msgpack') === null)
    problems.push(
      `${PYTHON} cannot import gatewire_wsgi/msgpack: pip install -r worker-runtime/python/requirements.txt`,
    );
  if (spawnSync('wrk', ['--version']).error) problems.push('wrk is not installed: apt-get install wrk');
  if ((wanted.has('uwsgi') || wanted.has('gunicorn')) && spawnSync('nginx', ['-v']).error)
    problems.push('nginx is not installed: apt-get install nginx');
  if (wanted.has('gatewire') && !existsSync(PROXY_MAIN))
    problems.push(`${PROXY_MAIN} is missing: build it with npx tsc -b proxy`);
  // uWSGI from PyPI installs its binary next to the Python that built it (and embeds that Python).
  let uwsgi: string | null = null;
  if (wanted.has('uwsgi')) {
    const scripts = python('import sysconfig; print(sysconfig.get_path("scripts"))');
    const candidate = scripts === null ? '' : join(scripts, 'uwsgi');
    if (candidate && existsSync(candidate)) uwsgi = candidate;
    else
      problems.push(
        `uWSGI is not installed for ${PYTHON}: ${PYTHON} -m pip install -r bench/django/requirements.txt (uwsgi==2.0.31)`,
      );
  }
  if (wanted.has('gunicorn') && python('import gunicorn') === null)
    problems.push(
      `gunicorn is not installed for ${PYTHON}: ${PYTHON} -m pip install -r bench/django/requirements.txt (gunicorn==27.0.1)`,
    );
  return { uwsgi, problems };
}

export function versions(uwsgi: string | null): string {
  const out = [`node ${process.version}`];
  const python = spawnSync(
    PYTHON,
    ['-c', 'import sys, django; print(sys.version.split()[0], django.get_version())'],
    {
      encoding: 'utf8',
    },
  ).stdout.trim();
  const [py, django] = python.split(' ');
  out.push(`Python ${py}`, `Django ${django}`);
  if (uwsgi) out.push(`uWSGI ${execFileSync(uwsgi, ['--version'], { encoding: 'utf8' }).trim()}`);
  const gunicorn = spawnSync(PYTHON, ['-c', 'import gunicorn; print(gunicorn.__version__)'], {
    encoding: 'utf8',
  });
  if (gunicorn.status === 0) out.push(`gunicorn ${gunicorn.stdout.trim()}`);
  const nginx = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (!nginx.error) out.push(nginx.stderr.trim().replace('nginx version: ', ''));
  return out.join(', ');
}

// ── wrk ──

export interface Measurement {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: string;
  frontUs: number;
  appUs: number;
  /** Peak RSS during the run, MiB: `proxy` or `nginx` (master and worker), and the Python processes. */
  rssMiB: Record<string, number>;
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (match === null) return Number.NaN;
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 's' ? n * 1000 : n;
}

export async function wrk(
  stack: Stack,
  path: string,
  connections: number,
  seconds: number,
): Promise<Measurement> {
  const front = processTree(stack.front.pid!);
  const app = processTree(stack.app.pid!);
  const frontRole = stack.name.startsWith('nginx') ? 'nginx' : 'proxy';
  const members: Member[] = [
    ...front.map((pid) => ({ role: frontRole, pid })),
    ...app.map((pid) => ({ role: `python ×${app.length}`, pid })),
  ];
  resetPeaks(members);
  const sum = (pids: number[]): number => pids.reduce((total, pid) => total + cpuTicks(pid), 0);
  const frontBefore = sum(front);
  const appBefore = sum(app);
  const { stdout } = await run('wrk', [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    `http://127.0.0.1:${stack.port}${path}`,
  ]);
  const rssMiB = peakRssMiB(members);
  const frontTicks = sum(front) - frontBefore;
  const appTicks = sum(app) - appBefore;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  if (!Number.isFinite(rps) || !requests) throw new Error(`cannot read wrk output:\n${stdout}`);
  const errors = [/Non-2xx or 3xx responses: \d+/.exec(stdout)?.[0], /Socket errors:.*/.exec(stdout)?.[0]]
    .filter(Boolean)
    .join('; ');
  return {
    rps,
    p50Ms: toMs(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    p99Ms: toMs(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    requests,
    errors,
    frontUs: (frontTicks * 10_000) / requests,
    appUs: (appTicks * 10_000) / requests,
    rssMiB,
  };
}

// ── report ──

const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const range = (values: number[], digits: number, unit = ''): string =>
  `${median(values).toFixed(digits)}${unit} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
const pad = (text: string, width: number): string => text.padEnd(width);

function report(title: string, results: Map<string, Measurement[]>): string {
  const lines = [`\n### ${title}\n`];
  lines.push(
    '| stack | req/s median (min–max) | p50 ms | p99 ms median (min–max) | CPU µs/req: front + app = total |',
  );
  lines.push('|---|---|---|---|---|');
  for (const [name, runs] of results) {
    const front = median(runs.map((r) => r.frontUs));
    const app = median(runs.map((r) => r.appUs));
    lines.push(
      `| ${pad(name, 14)} | ${range(
        runs.map((r) => r.rps),
        0,
      )} | ${median(runs.map((r) => r.p50Ms)).toFixed(2)} | ${range(
        runs.map((r) => r.p99Ms),
        2,
      )} | ${front.toFixed(0)} + ${app.toFixed(0)} = ${median(runs.map((r) => r.frontUs + r.appUs)).toFixed(0)} |`,
    );
  }
  const references = ['nginx+uwsgi', 'nginx+gunicorn'].filter((name) => results.has(name));
  if (references.length) {
    lines.push('');
    for (const [name, runs] of results) {
      if (!name.startsWith('gatewire')) continue;
      const ratios = runs.map(
        (run, round) => run.rps / Math.max(...references.map((ref) => results.get(ref)![round].rps)),
      );
      const p99Best = runs.map((run, round) => {
        const best = references.reduce((a, b) =>
          results.get(a)![round].rps >= results.get(b)![round].rps ? a : b,
        );
        return `${run.p99Ms.toFixed(1)} vs ${results.get(best)![round].p99Ms.toFixed(1)}`;
      });
      const cpu = runs.map((run, round) => {
        const best = Math.min(
          ...references.map((ref) => results.get(ref)![round].frontUs + results.get(ref)![round].appUs),
        );
        return best / (run.frontUs + run.appUs);
      });
      lines.push(
        `- ${name} / best of (${references.join(', ')}) in req/s: ${range(ratios, 2, 'x')}; per round ${ratios
          .map((r) => r.toFixed(2))
          .join(
            ', ',
          )}; p99 ms per round (a vs best): ${p99Best.join(', ')}; CPU per request, best reference / (a): ${range(cpu, 2, 'x')}`,
      );
    }
  }
  return lines.join('\n');
}

// ── main ──

async function main(): Promise<void> {
  const rounds = Number(arg('--rounds', '3'));
  const seconds = Number(arg('--duration', '5'));
  const connectionsList = list(arg('--connections', '64,16')).map(Number);
  const variants = list(arg('--threads', '1,2,4')).map(parseVariant);
  const views = list(arg('--views', 'hello')).map((name) => {
    const view = VIEWS[name];
    if (!view) throw new Error(`unknown view ${name}; known: ${Object.keys(VIEWS).join(', ')}`);
    return view;
  });
  const wanted = new Set(list(arg('--stacks', 'gatewire,uwsgi,gunicorn')));
  // Another gatewire_wsgi package (e.g. `git archive` of an older commit): a "baseline" stack to A/B.
  const baseline = arg('--baseline', '') || null;

  const references = checkReferences(wanted);
  if (references.problems.length) {
    process.stderr.write(
      `bench/django.ts cannot run:\n${references.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    process.exit(2);
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  process.stdout.write(
    `# Django: gatewire vs nginx+uWSGI vs nginx+gunicorn\n\n` +
      `${versions(references.uwsgi)}; 2 processes per stack; wrk -t1 -c{${connectionsList.join(',')}} -d${seconds}s, ` +
      `${rounds} rounds, stacks interleaved (order rotated per round); ${
        (await import('node:os')).cpus().length
      } cores, load average before: ${load}\n`,
  );

  const runDir = mkdtempSync(join(tmpdir(), 'gatewire-bench-django-'));
  chmodSync(runDir, 0o755);
  try {
    for (const view of views) {
      const stacks: Stack[] = [];
      try {
        if (wanted.has('gatewire'))
          for (const variant of variants) stacks.push(await startGatewire(runDir, view, variant));
        if (baseline !== null) stacks.push(await startGatewire(runDir, view, variants[0], resolve(baseline)));
        if (wanted.has('uwsgi')) stacks.push(await startUwsgi(runDir, view, references.uwsgi!));
        if (wanted.has('gunicorn')) stacks.push(await startGunicorn(runDir, view));
        const results = new Map<number, Map<string, Measurement[]>>(
          connectionsList.map((c) => [c, new Map(stacks.map((s) => [s.name, []]))]),
        );
        for (let round = 0; round < rounds; round++) {
          for (const connections of connectionsList) {
            const order = stacks.map((_, i) => stacks[(i + round) % stacks.length]);
            for (const stack of order) {
              await wrk(stack, view.path, connections, 1); // warm-up
              const m = await wrk(stack, view.path, connections, seconds);
              results.get(connections)!.get(stack.name)!.push(m);
              process.stdout.write(
                `round ${round + 1} ${view.name} c${connections} ${pad(stack.name, 14)} ${m.rps.toFixed(0).padStart(6)} req/s  ` +
                  `p50 ${m.p50Ms.toFixed(2)} p99 ${m.p99Ms.toFixed(2)} ms  CPU ${m.frontUs.toFixed(0)} + ${m.appUs.toFixed(0)} µs/req` +
                  `${m.errors ? `  (${m.errors})` : ''}\n`,
              );
            }
          }
        }
        for (const connections of connectionsList)
          process.stdout.write(
            report(
              `view ${view.name} (${view.path}), wrk -t1 -c${connections} -d${seconds}s, ${rounds} rounds`,
              results.get(connections)!,
            ) + '\n',
          );
      } finally {
        for (const stack of stacks) await Promise.all([stop(stack.front), stop(stack.app)]);
      }
    }
    const after = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    process.stdout.write(`\nload average after: ${after}\n`);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
