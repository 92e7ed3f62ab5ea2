/**
 * Chaos under load: steady undici traffic through the real proxy to a TS worker supervisor while
 * worker processes are killed (SIGKILL) at random, the supervisor is reloaded (SIGHUP) and scaled
 * (SIGTTIN/SIGTTOU), and a second supervisor's socket set joins and leaves the socket directory.
 * Every request is accounted for, and the run fails if any failure is not explained by the kill
 * of the worker that was running it.
 *
 *   npx tsc -b && npx tsx scripts/chaos.ts [--seconds 60] [--concurrency 12]
 *
 * Attribution (why a failure is "explained"): each request carries its own X-Request-Id (the proxy
 * trusts 127.0.0.1 here, so the id is kept and appears in the proxy's log lines). A failure is
 * explained only if all of these hold:
 *   - the proxy logged `upstream request failed` for that id with code WORKER_DIED (the worker's
 *     connection was lost after the request was written to it: SPEC §11; requests that never
 *     reached a worker are retried elsewhere and must not fail at all);
 *   - the `worker` of that line is a socket `<name>.<pid>.sock` (SPEC §16) whose pid this script
 *     sent SIGKILL;
 *   - the kill was sent before the client got the answer, and the request was sent before the
 *     proxy saw that worker's connection fail (its `worker connection failed` line): a process
 *     takes a moment to die after SIGKILL, and a request written to it in between is on it when it
 *     dies (the proxy cannot know). Times are wall-clock ms, the proxy's log `time` included.
 * Anything else (a 502 with another code, a 503/504, a client error, a wrong body, a failure on a
 * worker no one killed or that was only reloaded/scaled down/removed) is unexplained: exit 1.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { ProxyProcess, writeConfig } from '../test/integration/proxy/helpers/http-proxy.js';
import { ROOT, WorkerHarness } from '../test/integration/worker/support/worker-harness.js';

const CHAOS_APP = join(ROOT, 'test/hostile/apps/chaos-app.ts');
/** A process younger than this dies "quickly" for the supervisor's crash-loop rule (minUptimeMs 10 s). */
const QUICK_MS = 11_000;
const SOCKET = /^(chaos-[ab])\.(\d+)\.sock$/;

export interface ChaosOptions {
  seconds: number;
  /** Concurrent client loops (and pool connections). */
  concurrency: number;
  /** Time between two chaos events, ms: [min, max]. */
  eventEveryMs?: [number, number];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface Unexplained {
  id: string;
  kind: string;
  status: number;
  detail: string;
}

export interface ChaosReport {
  seconds: number;
  requests: number;
  succeeded: number;
  /** Failed because the worker running them was SIGKILLed (502, or a response cut after its head). */
  killedWhileRunning: number;
  unexplained: Unexplained[];
  events: Record<string, number>;
  /** Kills that hit a worker with at least one request in flight (explained failures). */
  killsWithVictims: number;
  p50Ms: number;
  p99Ms: number;
}

interface RequestRecord {
  id: string;
  kind: 'work' | 'echo';
  start: number;
  end: number;
  status: number;
  error: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Wall-clock ms with sub-ms resolution, comparable with the proxy's log `time`. */
const wallNow = () => performance.timeOrigin + performance.now();
const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const [eventMin, eventMax] = options.eventEveryMs ?? [800, 1600];
  const dir = await mkdtemp(join(tmpdir(), 'gatewire-chaos-'));
  const socketDir = join(dir, 'run');
  mkdirSync(socketDir, { mode: 0o770 });
  const supervisorArgs = (name: string, processes: number) => [
    CHAOS_APP,
    '--socket-dir',
    socketDir,
    '--name',
    name,
    '--processes',
    String(processes),
    '--grace',
    '10',
    '--log-format',
    'json',
  ];
  let a: WorkerHarness | null = null;
  let b: WorkerHarness | null = null;
  const retired: WorkerHarness[] = [];
  let proxy: ProxyProcess | null = null;
  let pool: Pool | null = null;
  try {
    a = await WorkerHarness.start(supervisorArgs('chaos-a', 3));
    proxy = new ProxyProcess(
      writeConfig(dir, {
        upstreams: { app: { socketDir } },
        trustedProxies: ['127.0.0.1'],
        log: { level: 'info', access: true },
        upstream: { socketRescanMs: 250, tempDir: dir },
      }),
    );
    const port = await proxy.port();
    const deadlineJoin = Date.now() + 15_000;
    while (proxy.lines.filter((line) => line.msg === 'worker joined').length < 3) {
      if (Date.now() > deadlineJoin) throw new Error('the workers did not join the proxy');
      await sleep(20);
    }
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: options.concurrency });

    // ── traffic ──
    const records: RequestRecord[] = [];
    const t0 = performance.now();
    const endAt = t0 + options.seconds * 1000;
    let counter = 0;
    const echoBody = Buffer.alloc(2048, 0x63);
    const client = pool;
    async function loop(): Promise<void> {
      while (performance.now() < endAt) {
        const id = `chaos-${++counter}`;
        const kind: RequestRecord['kind'] = Math.random() < 0.2 ? 'echo' : 'work';
        const ms = between(0, 30);
        const record: RequestRecord = { id, kind, start: wallNow(), end: 0, status: 0, error: null };
        records.push(record);
        try {
          const response = await client.request(
            kind === 'echo'
              ? { path: '/echo', method: 'POST', headers: { 'x-request-id': id }, body: echoBody }
              : { path: `/work?ms=${ms}`, method: 'GET', headers: { 'x-request-id': id } },
          );
          record.status = response.statusCode;
          const body = Buffer.from(await response.body.arrayBuffer());
          if (record.status === 200) {
            const expected = kind === 'echo' ? echoBody : Buffer.from(`done ${ms}`);
            if (!body.equals(expected)) record.error = `wrong body (${body.length} bytes)`;
          }
        } catch (error) {
          record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
        record.end = wallNow();
      }
    }
    const loops = Array.from({ length: options.concurrency }, () => loop());

    // ── chaos ──
    const kills = new Map<number, number>(); // pid → when SIGKILL was sent
    const events: Record<string, number> = {
      'kill -9': 0,
      'SIGHUP reload': 0,
      'SIGTTIN (+1 process)': 0,
      'SIGTTOU (-1 process)': 0,
      'second supervisor added': 0,
      'second supervisor removed': 0,
    };
    const quickStreak: Record<string, number> = { 'chaos-a': 0, 'chaos-b': 0 };
    let aProcesses = 3;
    let lastReload = 0;
    const killOne = (): boolean => {
      const now = Date.now();
      const candidates: Array<{ name: string; pid: number; quick: boolean }> = [];
      for (const file of readdirSync(socketDir)) {
        const match = SOCKET.exec(file);
        if (match === null) continue;
        let born: number;
        try {
          born = statSync(join(socketDir, file)).mtimeMs;
        } catch {
          continue;
        }
        const pid = Number(match[2]);
        if (kills.has(pid)) continue;
        const quick = now - born < QUICK_MS;
        // The supervisor gives up after 5 quick deaths in a row: never cause more than 3.
        if (quick && quickStreak[match[1]] >= 3) continue;
        candidates.push({ name: match[1], pid, quick });
      }
      if (candidates.length === 0) return false;
      const old = candidates.filter((candidate) => !candidate.quick);
      const pick = (old.length > 0 ? old : candidates)[
        between(0, (old.length > 0 ? old : candidates).length - 1)
      ];
      try {
        kills.set(pick.pid, wallNow());
        process.kill(pick.pid, 'SIGKILL');
      } catch {
        kills.delete(pick.pid);
        return false;
      }
      quickStreak[pick.name] = pick.quick ? quickStreak[pick.name] + 1 : 0;
      log(`kill -9 ${pick.pid} (${pick.name}${pick.quick ? ', young' : ''})`);
      return true;
    };
    const chaosEndAt = endAt - 500;
    while (performance.now() < chaosEndAt) {
      await sleep(between(eventMin, eventMax));
      if (performance.now() >= chaosEndAt) break;
      const roll = Math.random();
      if (roll < 0.4) {
        if (killOne()) events['kill -9']++;
      } else if (roll < 0.52) {
        if (performance.now() - lastReload > 4000) {
          a.signal('SIGHUP');
          lastReload = performance.now();
          events['SIGHUP reload']++;
          log('SIGHUP chaos-a');
        }
      } else if (roll < 0.66) {
        if (aProcesses < 5) {
          a.signal('SIGTTIN');
          aProcesses++;
          events['SIGTTIN (+1 process)']++;
          log(`SIGTTIN chaos-a → ${aProcesses}`);
        }
      } else if (roll < 0.8) {
        if (aProcesses > 2) {
          a.signal('SIGTTOU');
          aProcesses--;
          events['SIGTTOU (-1 process)']++;
          log(`SIGTTOU chaos-a → ${aProcesses}`);
        }
      } else if (b === null) {
        b = await WorkerHarness.start(supervisorArgs('chaos-b', 2));
        quickStreak['chaos-b'] = 0;
        events['second supervisor added']++;
        log('chaos-b started');
      } else {
        const leaving: WorkerHarness = b;
        b = null;
        leaving.signal('SIGTERM'); // graceful: its processes drain (SPEC §11), their sockets go first
        retired.push(leaving);
        events['second supervisor removed']++;
        log('chaos-b stopping (SIGTERM)');
      }
    }
    await Promise.all(loops);
    const seconds = (performance.now() - t0) / 1000;
    await sleep(500); // the last access-log and failure lines

    // ── accounting ──
    const failures = new Map<string, Record<string, unknown>>();
    for (const line of proxy.lines)
      if (line.msg === 'upstream request failed' && typeof line.requestId === 'string')
        failures.set(line.requestId, line);
    // When the proxy saw each killed worker's connection fail (its first line about it after the kill).
    const deathSeen = new Map<number, number>();
    for (const line of proxy.lines) {
      if (line.msg !== 'worker connection failed' && line.msg !== 'worker connection closed') continue;
      const pid = Number(/\.(\d+)\.sock$/.exec(String(line.worker ?? ''))?.[1] ?? NaN);
      const killedAt = kills.get(pid);
      const time = Number(line.time);
      if (killedAt !== undefined && time >= killedAt - 1 && !deathSeen.has(pid)) deathSeen.set(pid, time);
    }
    const unexplained: Unexplained[] = [];
    const victims = new Set<number>();
    let succeeded = 0;
    let killedWhileRunning = 0;
    const latencies: number[] = [];
    for (const record of records) {
      if (record.status === 200 && record.error === null) {
        succeeded++;
        latencies.push(record.end - record.start);
        continue;
      }
      const failure = failures.get(record.id);
      const pid = Number(/\.(\d+)\.sock$/.exec(String(failure?.worker ?? ''))?.[1] ?? NaN);
      const killedAt = kills.get(pid);
      const explained =
        failure !== undefined &&
        failure.code === 'WORKER_DIED' &&
        killedAt !== undefined &&
        killedAt <= record.end &&
        record.start <= (deathSeen.get(pid) ?? killedAt) + 1 &&
        (record.status === 502 || (record.status === 200 && record.error !== null));
      if (explained) {
        killedWhileRunning++;
        victims.add(pid);
      } else {
        unexplained.push({
          id: record.id,
          kind: record.kind,
          status: record.status,
          detail:
            `${record.error ?? ''} ${failure ? `${String(failure.code)} on ${String(failure.worker)}: ${String(failure.detail)}` : 'no failure line'}`.trim() +
            (killedAt !== undefined
              ? ` (pid ${pid} killed ${Math.round(killedAt - record.start)} ms after the request started, its death seen ${Math.round((deathSeen.get(pid) ?? NaN) - record.start)} ms after)`
              : ''),
        });
      }
    }
    latencies.sort((x, y) => x - y);
    return {
      seconds,
      requests: records.length,
      succeeded,
      killedWhileRunning,
      unexplained,
      events,
      killsWithVictims: victims.size,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  } finally {
    await pool?.destroy();
    await proxy?.stop();
    await Promise.all([a, b, ...retired].map((harness) => harness?.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatReport(report: ChaosReport): string {
  const events = Object.entries(report.events)
    .map(([name, count]) => `${count} ${name}`)
    .join(', ');
  const lines = [
    `chaos: ${report.seconds.toFixed(1)} s, ${report.requests} requests (${Math.round(report.requests / report.seconds)} req/s)`,
    `  succeeded:                          ${report.succeeded}`,
    `  failed, worker SIGKILLed running it: ${report.killedWhileRunning} (on ${report.killsWithVictims} of ${report.events['kill -9']} killed processes)`,
    `  unexplained failures:               ${report.unexplained.length}`,
    `  events: ${events}`,
    `  latency of successes: p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms`,
  ];
  for (const failure of report.unexplained.slice(0, 20))
    lines.push(`  UNEXPLAINED ${failure.id} ${failure.kind} status ${failure.status}: ${failure.detail}`);
  return lines.join('\n');
}

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const verbose = process.argv.includes('--verbose');
  const report = await runChaos({
    seconds: flag('--seconds', 60),
    concurrency: flag('--concurrency', 12),
    log: verbose ? (line) => console.log(line) : undefined,
  });
  console.log(formatReport(report));
  const failed = report.unexplained.length > 0 || report.succeeded === 0;
  process.exit(failed ? 1 : 0);
}
