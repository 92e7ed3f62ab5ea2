/**
 * `npm run bench`: every benchmark side by side with its references, one report (issue #10).
 *
 *   npx tsc -b && npm run bench [-- --quick] [--only http,django] [--rounds N] [--duration S]
 *       [--out FILE.md] [--render RESULTS.json]
 *
 * Groups (ids for --only): `http` (hello world at 1, 64 and 256 connections, a 100 KiB response),
 * `transfer` (1 GiB upload and download), `idle` (10,000 idle keep-alive connections), `mix` (5%
 * of requests hold their process for 200 ms), `django` (a Django page), `websocket` (echo). Each
 * scenario starts its sides once, then runs them A B A B… for the rounds, so that drift of the
 * (shared, noisy) machine cancels out in the per-round ratio. Each side has the same number of app
 * processes. Progress goes to stderr.
 *
 * Writes FILE.md (default docs/benchmarks.md for a full run; for --quick or --only a file in the
 * temporary directory, so smoke runs never overwrite the published page), one SVG chart per group
 * in `benchmarks/` next to it and the raw results as `benchmarks/results.json`. `--render` rebuilds
 * the page and charts from such a JSON file without running anything.
 *
 * References are never installed: a missing one is named with its install command, its side is
 * skipped and the report says so.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as django from './django.js';
import { LABELS as PROXY_LABELS, type RunResult, type StackName, runProxyBench } from './proxy.js';
import { headlines } from './report/markdown.js';
import { freePort } from './report/ports.js';
import { processTree } from './report/proc.js';
import { loadAverage, machineInfo } from './report/machine.js';
import { checkTools, type Availability } from './report/references.js';
import { writeReport } from './report/write.js';
import type { BenchReport, GroupInfo, RunSample, ScenarioResult, SideResult } from './report/types.js';
import { runIdle } from './scenarios/idle.js';
import { runMix } from './scenarios/mix.js';
import { PROXY_MAIN, WORKER_MAIN } from './scenarios/stacks.js';
import { runTransfer } from './scenarios/transfer.js';
import * as websocket from './websocket.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PYTHON = process.env.PYTHON ?? 'python3';

const GROUPS: readonly GroupInfo[] = [
  {
    id: 'http',
    title: 'Hello world and a 100 KiB response',
    description:
      'wrk -t1 against each side, on the same 2 cores as the servers. gatewire: the proxy → 1 TS worker process (test/fixtures/apps/bench-hello.ts); nginx: 1 worker → 1 node:http process (the reference node-hello.js) on a Unix socket with upstream keep-alive; bare node:http: the same node process alone on TCP (no proxy at all: the ceiling of one node process). Access logs off everywhere.',
  },
  {
    id: 'transfer',
    title: 'Streaming a large upload and download',
    description:
      'curl streams 1 GiB (128 MiB with --quick) through each front to an app that counts the bytes without keeping them (upload) or generates them in 64 KiB chunks (download). gatewire: `http.maxBodyBytes: 0`, upstream `buffering: off` (end-to-end flow control both ways); nginx: `client_max_body_size 0; proxy_request_buffering off; proxy_max_temp_file_size 0` (streams both ways, no temporary files). MB/s = 10^6 bytes per second. 1 app process per side.',
  },
  {
    id: 'idle',
    title: 'Idle keep-alive connections',
    description:
      '10,000 connections (2,000 with --quick). Two client processes open them (each from a loopback address of its own), send one request on each and leave them idle; the peak RSS of every process is read after a second of idleness. Each run starts its side afresh (memory an earlier run left in a heap does not count). Primary metric: the front (the gatewire proxy, the nginx worker). 1 app process per side.',
  },
  {
    id: 'mix',
    title: 'Mixed latency: 5% of requests hold their process for 200 ms',
    description:
      'Open-loop load (a fixed request rate over 64 keep-alive connections, latency counted from when each request was due), 5% of requests to `/slow`, which blocks its process for 200 ms (as a synchronous database call or CPU work would). Primary metric: p99 latency of the other 95%. gatewire sends each request to the worker with the fewest requests in flight; nginx uses its default round robin (an `upstream` block without a balancer directive). 4 app processes per side.',
  },
  {
    id: 'django',
    title: 'Django page',
    description:
      'The reference Django hello page (`/`, 13 bytes through the default middleware), wrk -t1 -c64. gatewire: the proxy → gatewire-wsgi, 2 processes with its defaults (1 thread, `--backlog 1`: one request may wait in each process, and the proxy recalls it from a stuck process), and the same with `--backlog 0` (no queue slots: the next request waits in the proxy); nginx + uWSGI: 1 nginx worker → uWSGI over its uwsgi protocol on a Unix socket, 2 processes. Same Python, same Django. RSS of `python ×N` sums the app processes (supervisor or master included).',
  },
  {
    id: 'websocket',
    title: 'WebSocket echo',
    description:
      '64 clients (one load-generator process), each in a closed loop: send a 32-byte text message, wait for the echo. gatewire: the proxy → 1 TS worker echoing through upgradeWebSocket(); nginx: 1 worker (WebSocket proxying as nginx.org documents it) → a bare `ws` server on a Unix socket. 1 app process per side.',
  },
];

interface Settings {
  readonly quick: boolean;
  readonly rounds: number;
  /** Seconds per wrk / WebSocket run. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly transferBytes: number;
  readonly idleConnections: number;
  readonly mixRate: number;
  readonly mixSeconds: number;
  readonly mixProcesses: number;
}

function flag(name: string): string | null {
  const index = process.argv.indexOf(name);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : null;
}

function settingsFromArgs(): Settings {
  const quick = process.argv.includes('--quick');
  const rounds = Number(flag('--rounds') ?? (quick ? 1 : 3));
  const seconds = Number(flag('--duration') ?? (quick ? 1 : 4));
  return {
    quick,
    rounds,
    seconds,
    warmupSeconds: quick ? 2 : 3,
    transferBytes: quick ? 128 * 1048576 : 1024 * 1048576,
    idleConnections: quick ? 2000 : 10_000,
    mixRate: 50,
    mixSeconds: quick ? 4 : 12,
    mixProcesses: 4,
  };
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function side(
  id: string,
  label: string,
  kind: SideResult['kind'],
  processes: string,
  runs: readonly RunSample[],
): SideResult {
  return { id, label, kind, processes, runs };
}

function skipped(
  id: string,
  label: string,
  kind: SideResult['kind'],
  processes: string,
  why: string,
): SideResult {
  return { id, label, kind, processes, runs: [], skipped: why };
}

// ── http: hello world at c1/c64/c256, a 100 KiB response ──

const HTTP_SIDES: Record<'gatewire' | 'nginx' | 'node', { label: string; processes: string }> = {
  gatewire: { label: 'gatewire → TS worker', processes: 'proxy + 1 TS worker' },
  nginx: { label: 'nginx → node:http', processes: 'nginx (1 worker) + 1 node:http' },
  node: { label: 'bare node:http', processes: '1 node:http, no proxy' },
};

function fromWrk(run: RunResult): RunSample {
  return {
    value: run.rps,
    p50Ms: run.p50Ms,
    p99Ms: run.p99Ms,
    rssMiB: run.rssMiB,
    ...(run.errors ? { errors: run.errors } : {}),
  };
}

async function httpScenarios(
  settings: Settings,
  tools: Availability,
  dir: string,
): Promise<ScenarioResult[]> {
  const cases = [
    { id: 'hello-c1', title: 'hello, 1 connection', connections: 1, bodyBytes: 13 },
    { id: 'hello-c64', title: 'hello, 64 connections', connections: 64, bodyBytes: 13 },
    { id: 'hello-c256', title: 'hello, 256 connections', connections: 256, bodyBytes: 13 },
    { id: 'body-100k', title: '100 KiB response, 64 connections', connections: 64, bodyBytes: 102_400 },
  ];
  const out: ScenarioResult[] = [];
  for (const item of cases) {
    const description = `wrk -t1 -c${item.connections} -d${settings.seconds}s --latency, a ${
      item.bodyBytes === 13 ? '13-byte `Hello, World!`' : '102,400-byte'
    } text/plain body.`;
    const base = {
      id: item.id,
      group: 'http',
      title: item.title,
      description,
      metric: { name: 'throughput', unit: 'req/s', better: 'higher' as const },
    };
    if (!tools.wrk) {
      out.push({ ...base, sides: [], error: 'wrk is not installed: `apt-get install wrk`' });
      continue;
    }
    const wanted: StackName[] = ['gatewire'];
    const reasons = new Map<StackName, string>();
    if (tools.nginx && tools.nodeHello) wanted.push('nginx');
    else
      reasons.set(
        'nginx',
        tools.nginx
          ? 'the reference node-hello.js is missing'
          : 'nginx is not installed: `apt-get install nginx`',
      );
    if (tools.nodeHello) wanted.push('node');
    else reasons.set('node', 'the reference node-hello.js is missing');
    log(`${item.title}: ${wanted.join(', ')} (${PROXY_LABELS.gatewire} …)`);
    try {
      const runDir = mkdtempSync(join(dir, `${item.id}-`));
      const results = await runProxyBench(
        { dir: runDir, logs: false, bodyBytes: item.bodyBytes, profileDir: null, altProxy: null },
        wanted,
        settings.rounds,
        settings.seconds,
        item.connections,
        settings.warmupSeconds,
      );
      const sides = (['gatewire', 'nginx', 'node'] as const).map((name) => {
        const info = HTTP_SIDES[name];
        const kind = name === 'gatewire' ? 'gatewire' : 'reference';
        const runs = results.get(name);
        return runs === undefined
          ? skipped(name, info.label, kind, info.processes, reasons.get(name) ?? 'not run')
          : side(name, info.label, kind, info.processes, runs.map(fromWrk));
      });
      out.push({ ...base, sides });
    } catch (error) {
      log(`${item.title} failed: ${String(error)}`);
      out.push({ ...base, sides: [], error: String(error) });
    }
  }
  return out;
}

// ── transfer ──

async function transferScenarios(
  settings: Settings,
  tools: Availability,
  dir: string,
): Promise<ScenarioResult[]> {
  const size =
    settings.transferBytes >= 1 << 30
      ? `${settings.transferBytes / (1 << 30)} GiB`
      : `${settings.transferBytes / (1 << 20)} MiB`;
  const metric = { name: 'throughput', unit: 'MB/s', better: 'higher' as const };
  const make = (direction: 'upload' | 'download', sides: SideResult[], error?: string): ScenarioResult => ({
    id: direction,
    group: 'transfer',
    title: `${size} ${direction}`,
    description:
      direction === 'upload'
        ? `curl -T a ${size} sparse file as a POST; the app answers the byte count it read.`
        : `curl -o /dev/null of ${size} generated by the app in 64 KiB chunks.`,
    metric,
    sides,
    ...(error ? { error } : {}),
  });
  const labels = {
    gatewire: { label: 'gatewire → TS worker', processes: 'proxy + 1 TS worker' },
    nginx: { label: 'nginx → node:http', processes: 'nginx (1 worker) + 1 node:http' },
  };
  if (!tools.curl) return [make('upload', [], 'curl is missing'), make('download', [], 'curl is missing')];
  log(`transfer: ${size} up and down`);
  try {
    const results = await runTransfer({
      dir: mkdtempSync(join(dir, 'transfer-')),
      rounds: settings.rounds,
      bytes: settings.transferBytes,
      withNginx: tools.nginx,
      log,
    });
    return (['upload', 'download'] as const).map((direction) =>
      make(direction, [
        side(
          'gatewire',
          labels.gatewire.label,
          'gatewire',
          labels.gatewire.processes,
          results[direction].get('gatewire')!,
        ),
        tools.nginx
          ? side(
              'nginx',
              labels.nginx.label,
              'reference',
              labels.nginx.processes,
              results[direction].get('nginx')!,
            )
          : skipped(
              'nginx',
              labels.nginx.label,
              'reference',
              labels.nginx.processes,
              'nginx is not installed: `apt-get install nginx`',
            ),
      ]),
    );
  } catch (error) {
    log(`transfer failed: ${String(error)}`);
    return [make('upload', [], String(error)), make('download', [], String(error))];
  }
}

// ── idle connections ──

async function idleScenarios(
  settings: Settings,
  tools: Availability,
  dir: string,
): Promise<ScenarioResult[]> {
  const count = settings.idleConnections;
  const base = {
    id: 'idle',
    group: 'idle',
    title: `${count.toLocaleString('en-US')} idle connections`,
    description: `${count.toLocaleString('en-US')} keep-alive connections, one request answered on each, then idle.`,
    metric: { name: 'peak RSS of the front', unit: 'MiB', better: 'lower' as const },
  };
  const withNginx = tools.nginx && tools.nodeHello;
  log(`idle: ${count} connections`);
  try {
    const results = await runIdle({
      dir: mkdtempSync(join(dir, 'idle-')),
      rounds: settings.rounds,
      connections: count,
      withNginx,
      log,
    });
    return [
      {
        ...base,
        sides: [
          side('gatewire', 'gatewire proxy', 'gatewire', 'proxy + 1 TS worker', results.get('gatewire')!),
          withNginx
            ? side(
                'nginx',
                'nginx worker',
                'reference',
                'nginx (1 worker) + 1 node:http',
                results.get('nginx')!,
              )
            : skipped(
                'nginx',
                'nginx worker',
                'reference',
                'nginx (1 worker) + 1 node:http',
                'nginx or node-hello.js is missing',
              ),
        ],
      },
    ];
  } catch (error) {
    log(`idle failed: ${String(error)}`);
    return [{ ...base, sides: [], error: String(error) }];
  }
}

// ── mixed latency ──

async function mixScenarios(settings: Settings, tools: Availability, dir: string): Promise<ScenarioResult[]> {
  const n = settings.mixProcesses;
  const base = {
    id: 'mix',
    group: 'mix',
    title: `5% slow, ${settings.mixRate} req/s`,
    description: `${settings.mixRate} requests/s for ${settings.mixSeconds} s after a 2 s warm-up, 5% of them blocking their process for 200 ms; p50/p99 are those of the fast requests.`,
    metric: { name: 'p99 of the fast requests', unit: 'ms', better: 'lower' as const },
  };
  log(`mix: ${settings.mixRate} req/s, 5% slow, ${n} processes per side`);
  try {
    const results = await runMix({
      dir: mkdtempSync(join(dir, 'mix-')),
      rounds: settings.rounds,
      processes: n,
      rate: settings.mixRate,
      seconds: settings.mixSeconds,
      withNginx: tools.nginx,
      log,
    });
    return [
      {
        ...base,
        sides: [
          side(
            'gatewire',
            'gatewire (least loaded)',
            'gatewire',
            `proxy + ${n} TS worker processes`,
            results.get('gatewire')!,
          ),
          tools.nginx
            ? side(
                'nginx',
                'nginx (round robin)',
                'reference',
                `nginx (1 worker) + ${n} node:http`,
                results.get('nginx')!,
              )
            : skipped(
                'nginx',
                'nginx (round robin)',
                'reference',
                `nginx (1 worker) + ${n} node:http`,
                'nginx is not installed: `apt-get install nginx`',
              ),
        ],
      },
    ];
  } catch (error) {
    log(`mix failed: ${String(error)}`);
    return [{ ...base, sides: [], error: String(error) }];
  }
}

// ── Django ──

async function djangoScenarios(
  settings: Settings,
  tools: Availability,
  dir: string,
  missing: string[],
): Promise<{ scenarios: ScenarioResult[]; uwsgi: string | null }> {
  const connections = 64;
  const base = {
    id: 'django',
    group: 'django',
    title: 'Django hello, 64 connections',
    description: `wrk -t1 -c${connections} -d${settings.seconds}s --latency on the reference Django hello page.`,
    metric: { name: 'throughput', unit: 'req/s', better: 'higher' as const },
  };
  if (!tools.wrk)
    return {
      scenarios: [{ ...base, sides: [], error: 'wrk is not installed: `apt-get install wrk`' }],
      uwsgi: null,
    };
  const checked = django.checkReferences(new Set(['gatewire', 'uwsgi']));
  const uwsgiProblem = checked.problems.find((problem) => problem.startsWith('uWSGI'));
  const fatal = checked.problems.filter(
    (problem) => problem !== uwsgiProblem && !problem.startsWith('nginx'),
  );
  if (uwsgiProblem)
    missing.push(
      `${uwsgiProblem} (Debian's \`apt-get install uwsgi-core uwsgi-plugin-python3\` embeds Debian's python3 instead); the nginx + uWSGI side is skipped`,
    );
  if (fatal.length) return { scenarios: [{ ...base, sides: [], error: fatal.join('; ') }], uwsgi: null };
  const uwsgiLabel = { label: 'nginx + uWSGI', processes: 'nginx (1 worker) + uWSGI master + 2 processes' };
  const withUwsgi = checked.uwsgi !== null && tools.nginx;
  const view = django.VIEWS.hello;
  const runDir = mkdtempSync(join(dir, 'dj-'));
  chmodSync(runDir, 0o755);
  const variants = [
    // The worker's defaults (1 thread, one queue slot: --backlog 1), then the same without queue slots.
    {
      variant: django.parseVariant('1b1'),
      id: 'gatewire',
      label: 'gatewire, 2 processes × 1 thread (defaults)',
    },
    { variant: django.parseVariant('1'), id: 'gatewire-b0', label: 'gatewire, same, --backlog 0' },
  ];
  const stacks: Array<{ id: string; stack: django.Stack }> = [];
  log(`django: ${variants.map((v) => v.id).join(', ')}${withUwsgi ? ', nginx+uwsgi' : ''}`);
  try {
    for (const { variant, id } of variants)
      stacks.push({ id, stack: await django.startGatewire(runDir, view, variant) });
    if (withUwsgi) stacks.push({ id: 'uwsgi', stack: await django.startUwsgi(runDir, view, checked.uwsgi!) });
    for (const { stack } of stacks) await django.wrk(stack, view.path, connections, settings.warmupSeconds);
    const runs = new Map<string, RunSample[]>(stacks.map(({ id }) => [id, []]));
    for (let round = 1; round <= settings.rounds; round++) {
      for (const { id, stack } of stacks) {
        const m = await django.wrk(stack, view.path, connections, settings.seconds);
        runs.get(id)!.push({
          value: m.rps,
          p50Ms: m.p50Ms,
          p99Ms: m.p99Ms,
          rssMiB: m.rssMiB,
          ...(m.errors ? { errors: m.errors } : {}),
        });
        log(
          `round ${round} django ${id}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms`,
        );
      }
    }
    const sides: SideResult[] = variants.map(({ id, label }) =>
      side(id, label, 'gatewire', 'proxy + gatewire-wsgi supervisor + 2 processes', runs.get(id)!),
    );
    sides.push(
      withUwsgi
        ? side('uwsgi', uwsgiLabel.label, 'reference', uwsgiLabel.processes, runs.get('uwsgi')!)
        : skipped(
            'uwsgi',
            uwsgiLabel.label,
            'reference',
            uwsgiLabel.processes,
            uwsgiProblem ?? 'nginx is not installed: `apt-get install nginx`',
          ),
    );
    return { scenarios: [{ ...base, sides }], uwsgi: checked.uwsgi };
  } catch (error) {
    log(`django failed: ${String(error)}`);
    return { scenarios: [{ ...base, sides: [], error: String(error) }], uwsgi: checked.uwsgi };
  } finally {
    for (const { stack } of stacks) await Promise.all([django.stop(stack.front), django.stop(stack.app)]);
  }
}

// ── WebSocket ──

async function websocketScenarios(
  settings: Settings,
  tools: Availability,
  dir: string,
): Promise<ScenarioResult[]> {
  const connections = 64;
  const size = 32;
  const base = {
    id: 'websocket',
    group: 'websocket',
    title: 'echo, 64 clients',
    description: `${connections} clients × closed-loop ping-pong of ${size}-byte text messages, ${settings.seconds} s per run after ${settings.warmupSeconds} s of warm-up.`,
    metric: { name: 'messages', unit: 'msg/s', better: 'higher' as const },
  };
  const runDir = mkdtempSync(join(dir, 'ws-'));
  const stacks: websocket.Stack[] = [];
  log('websocket: echo');
  try {
    stacks.push(await websocket.startGatewire(runDir, await freePort()));
    if (tools.nginx) stacks.push(await websocket.startNginx(runDir, await freePort()));
    const runs = new Map<string, RunSample[]>(stacks.map((stack) => [stack.name, []]));
    for (let round = 1; round <= settings.rounds; round++) {
      for (const stack of stacks) {
        const r = await websocket.load(
          stack,
          connections,
          settings.warmupSeconds * 1000,
          settings.seconds * 1000,
          size,
        );
        runs.get(stack.name)!.push({ value: r.rate, p50Ms: r.p50Ms, p99Ms: r.p99Ms, rssMiB: r.rssMiB });
        log(
          `round ${round} websocket ${stack.name}: ${r.rate.toFixed(0)} msg/s, p99 ${r.p99Ms.toFixed(2)} ms`,
        );
      }
    }
    return [
      {
        ...base,
        sides: [
          side('gatewire', 'gatewire → TS worker', 'gatewire', 'proxy + 1 TS worker', runs.get('gatewire')!),
          tools.nginx
            ? side('nginx', 'nginx → ws', 'reference', 'nginx (1 worker) + 1 ws server', runs.get('nginx')!)
            : skipped(
                'nginx',
                'nginx → ws',
                'reference',
                'nginx (1 worker) + 1 ws server',
                'nginx is not installed: `apt-get install nginx`',
              ),
        ],
      },
    ];
  } catch (error) {
    log(`websocket failed: ${String(error)}`);
    return [{ ...base, sides: [], error: String(error) }];
  } finally {
    for (const stack of stacks) await websocket.stopStack(stack);
  }
}

/**
 * On any exit (the end, an error, Ctrl-C or SIGTERM through bench/django.ts's handlers) no server
 * of ours may outlive the run: every descendant process is killed.
 */
function killDescendants(): void {
  for (const pid of processTree(process.pid)) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function main(): Promise<void> {
  process.on('exit', killDescendants);
  const rendered = flag('--render');
  const only = flag('--only')?.split(',').filter(Boolean) ?? null;
  const settings = settingsFromArgs();
  const defaultOut =
    settings.quick || only !== null
      ? join(tmpdir(), 'gatewire-bench', 'benchmarks.md')
      : join(ROOT, 'docs/benchmarks.md');
  const out = resolve(flag('--out') ?? defaultOut);
  mkdirSync(dirname(out), { recursive: true });
  if (rendered !== null) {
    writeReport(JSON.parse(readFileSync(rendered, 'utf8')) as BenchReport, out);
    log(`wrote ${out} from ${rendered}`);
    return;
  }
  const unknown = (only ?? []).filter((id) => !GROUPS.some((group) => group.id === id));
  if (unknown.length)
    throw new Error(`unknown group(s) ${unknown.join(', ')}; known: ${GROUPS.map((g) => g.id).join(', ')}`);
  for (const file of [PROXY_MAIN, WORKER_MAIN])
    if (!existsSync(file)) throw new Error(`${file} is missing: build first with npx tsc -b`);

  const tools = checkTools();
  for (const line of tools.missing) log(`MISSING: ${line}`);
  if (!tools.curl)
    throw new Error('curl is required (readiness checks, the transfer client): apt-get install curl');
  const missing = [...tools.missing];
  const started = Date.now();
  const loadBefore = loadAverage();
  const groups = GROUPS.filter((group) => only === null || only.includes(group.id));
  // Short names: a Unix socket path (the Python worker's temporary name included) has 107 bytes at most.
  const dir = mkdtempSync(join(tmpdir(), 'gwb-'));
  chmodSync(dir, 0o755);
  const scenarios: ScenarioResult[] = [];
  let uwsgi: string | null = null;
  try {
    const runGroup = async (id: string): Promise<ScenarioResult[]> => {
      if (id === 'http') return httpScenarios(settings, tools, dir);
      if (id === 'transfer') return transferScenarios(settings, tools, dir);
      if (id === 'idle') return idleScenarios(settings, tools, dir);
      if (id === 'mix') return mixScenarios(settings, tools, dir);
      if (id === 'django') {
        const result = await djangoScenarios(settings, tools, dir, missing);
        uwsgi = result.uwsgi;
        return result.scenarios;
      }
      return websocketScenarios(settings, tools, dir);
    };
    for (const group of groups) {
      const groupStarted = Date.now();
      let results = await runGroup(group.id);
      // A start can fail on a loaded, shared machine (a worker slow to come up): one more try.
      if (results.some((scenario) => scenario.error !== undefined)) {
        log(`${group.id}: a scenario failed; running the group once more`);
        results = await runGroup(group.id);
      }
      scenarios.push(...results);
      log(
        `${group.id} done in ${Math.round((Date.now() - groupStarted) / 1000)} s (${Math.round((Date.now() - started) / 1000)} s so far)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const machine = { ...machineInfo(PYTHON, uwsgi, loadBefore), loadAfter: loadAverage() };
  const report: BenchReport = {
    startedAt: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
    durationSeconds: (Date.now() - started) / 1000,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: settings.quick,
    rounds: settings.rounds,
    machine,
    missing: [...new Set(missing)],
    groups,
    scenarios,
  };
  writeReport(report, out);
  log(`wrote ${out} and its charts in ${Math.round(report.durationSeconds)} s`);
  for (const line of headlines(report)) process.stdout.write(`${line}\n`);
}

await main();
// Every stack has been stopped; a straggler (a failed start) must not keep the run alive.
process.exit(0);
