/**
 * A real stack for the observability tests: the proxy process (proxy/dist/main.js, JSON logs,
 * its admin listener on an ephemeral loopback port) in front of real workers over a socket
 * directory: the TS worker supervisor running apps/obs-app.ts, or the Python gatewire_wsgi
 * master running apps/obs_wsgi.py. Requests go through raw node:net sockets (so response bytes are
 * counted as received), /metrics and /status.json through undici. `stop()` ends every process it
 * started, by pid.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { request } from 'undici';
import { ProxyProcess, writeConfig } from '../../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../../integration/worker/support/temp-dir.js';
import { ROOT, WorkerHarness } from '../../integration/worker/support/worker-harness.js';

export const TS_APP = join(ROOT, 'test/e2e/observability/apps/obs-app.ts');
const PYTHON_APPS = join(ROOT, 'test/e2e/observability/apps');
const PYTHON = process.env.PYTHON ?? 'python3';

export interface ObsStackOptions {
  worker: 'ts' | 'python';
  processes?: number;
  /** More TS worker flags (`--concurrency 1`). */
  workerArgs?: string[];
  /** Proxy config sections merged over the defaults. */
  config?: Record<string, unknown>;
}

/** A raw HTTP/1.1 exchange: everything the proxy sent until it closed the connection. */
export interface RawReply {
  readonly status: number;
  readonly bytes: number;
  readonly head: string;
  readonly body: string;
}

/** The Python worker master, its log lines (stderr, JSON) and its process group. */
class PythonWorker {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>> = [];
  readonly exited: Promise<void>;

  constructor(socketDir: string, processes: number) {
    const probe = spawnSync(PYTHON, ['-c', 'import msgpack'], { encoding: 'utf8' });
    if (probe.status !== 0)
      throw new Error(
        `${PYTHON} cannot import msgpack: pip install -r worker-runtime/python/requirements.txt`,
      );
    this.child = spawn(
      PYTHON,
      [
        '-m',
        'gatewire_wsgi',
        'obs_wsgi:application',
        '--chdir',
        PYTHON_APPS,
        '--socket-dir',
        socketDir,
        '--processes',
        String(processes),
        '--log-format',
        'json',
        '--grace',
        '2',
      ],
      {
        env: {
          ...process.env,
          PYTHONPATH: [join(ROOT, 'worker-runtime/python'), process.env.PYTHONPATH]
            .filter(Boolean)
            .join(delimiter),
          PYTHONUNBUFFERED: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let pending = '';
      stream.setEncoding('utf8').on('data', (text: string) => {
        pending += text;
        const parts = pending.split('\n');
        pending = parts.pop()!;
        for (const part of parts) {
          try {
            this.lines.push(JSON.parse(part) as Record<string, unknown>);
          } catch {
            this.lines.push({ msg: part });
          }
        }
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-this.child.pid!, 'SIGKILL'); // the group this test started
      } catch {
        // already gone
      }
    }, 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

export class ObsStack {
  readonly dir: { path: string; remove(): void };
  readonly socketDir: string;
  readonly proxy: ProxyProcess;
  readonly port: number;
  readonly adminPort: number;
  readonly #tsWorker: WorkerHarness | null;
  readonly #pythonWorker: PythonWorker | null;

  private constructor(
    dir: { path: string; remove(): void },
    proxy: ProxyProcess,
    port: number,
    adminPort: number,
    tsWorker: WorkerHarness | null,
    pythonWorker: PythonWorker | null,
  ) {
    this.dir = dir;
    this.socketDir = join(dir.path, 'run');
    this.proxy = proxy;
    this.port = port;
    this.adminPort = adminPort;
    this.#tsWorker = tsWorker;
    this.#pythonWorker = pythonWorker;
  }

  static async start(options: ObsStackOptions): Promise<ObsStack> {
    const dir = freshTempDir('obs');
    const socketDir = join(dir.path, 'run');
    mkdirSync(socketDir);
    const processes = options.processes ?? 2;
    let tsWorker: WorkerHarness | null = null;
    let pythonWorker: PythonWorker | null = null;
    let proxy: ProxyProcess | null = null;
    try {
      if (options.worker === 'ts') {
        tsWorker = await WorkerHarness.start([
          TS_APP,
          '--socket-dir',
          socketDir,
          '--processes',
          String(processes),
          '--log-format',
          'json',
          ...(options.workerArgs ?? []),
        ]);
      } else {
        pythonWorker = new PythonWorker(socketDir, processes);
      }
      const config = writeConfig(dir.path, {
        upstreams: { app: { socketDir } },
        routes: [{ path: '/obs/', upstream: 'app' }],
        log: { level: 'info', access: true },
        admin: { listen: '127.0.0.1:0' },
        ...options.config,
        upstream: { tempDir: dir.path, pingIntervalMs: 300, ...(options.config?.upstream as object) },
      });
      proxy = new ProxyProcess(config);
      const port = await proxy.port();
      await waitFor(
        () => proxy!.lines.some((line) => line.msg === 'admin listening'),
        10_000,
        () => 'the admin listener',
      );
      const adminLine = proxy.lines.find((line) => line.msg === 'admin listening')!;
      const adminPort = Number(String(adminLine.address).split(':').pop());
      const joined = (): number => proxy!.lines.filter((line) => line.msg === 'worker joined').length;
      await waitFor(
        () => joined() >= processes,
        30_000,
        () => `${processes} workers joining the proxy`,
      );
      const stack = new ObsStack(dir, proxy, port, adminPort, tsWorker, pythonWorker);
      await poll(
        async () => (await stack.status()).workers.filter((w) => w.state === 'ready').length >= processes,
        15_000,
        `${processes} ready workers`,
      );
      return stack;
    } catch (error) {
      await proxy?.stop();
      await tsWorker?.stop();
      await pythonWorker?.stop();
      dir.remove();
      throw error;
    }
  }

  /** The worker's log lines (TS worker: stdout; Python worker: stderr), JSON-parsed. */
  get workerLines(): ReadonlyArray<Record<string, unknown>> {
    return (this.#tsWorker?.lines as Array<Record<string, unknown>> | undefined) ?? this.#pythonWorker!.lines;
  }

  /** Worker socket files now in the directory. */
  sockets(): string[] {
    return readdirSync(this.socketDir).filter((name) => name.endsWith('.sock'));
  }

  /** One request on a fresh connection with `Connection: close`; resolves once the proxy closed it. */
  raw(
    method: string,
    path: string,
    options: { body?: Buffer; headers?: Record<string, string> } = {},
  ): Promise<RawReply> {
    const body = options.body ?? null;
    let head = `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n`;
    for (const [name, value] of Object.entries(options.headers ?? {})) head += `${name}: ${value}\r\n`;
    if (body !== null) head += `content-length: ${body.length}\r\n`;
    head += '\r\n';
    return new Promise((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`${method} ${path}: no close within 15 s`));
      }, 15_000);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        const all = Buffer.concat(chunks);
        const text = all.toString('latin1');
        const split = text.indexOf('\r\n\r\n');
        resolve({
          status: Number(text.slice(9, 12)),
          bytes: all.length,
          head: split < 0 ? text : text.slice(0, split),
          body: split < 0 ? '' : text.slice(split + 4),
        });
      });
      socket.write(body === null ? head : Buffer.concat([Buffer.from(head, 'latin1'), body]));
    });
  }

  async admin(path: string): Promise<{ status: number; contentType: string; text: string }> {
    const response = await request(`http://127.0.0.1:${this.adminPort}${path}`);
    return {
      status: response.statusCode,
      contentType: String(response.headers['content-type']),
      text: await response.body.text(),
    };
  }

  async metrics(): Promise<Samples> {
    const reply = await this.admin('/metrics');
    if (reply.status !== 200) throw new Error(`/metrics answered ${reply.status}`);
    return new Samples(reply.text);
  }

  async status(): Promise<StatusJson> {
    const reply = await this.admin('/status.json');
    if (reply.status !== 200) throw new Error(`/status.json answered ${reply.status}`);
    return JSON.parse(reply.text) as StatusJson;
  }

  /** The access-log line of a request id (lines are written once per event-loop turn: waits). */
  async accessLine(requestId: string): Promise<Record<string, unknown>> {
    await waitFor(
      () => this.proxy.lines.some((line) => line.log === 'access' && line.requestId === requestId),
      5000,
      () => `the access-log line of ${requestId}`,
    );
    return this.proxy.lines.find((line) => line.log === 'access' && line.requestId === requestId)!;
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    await this.#tsWorker?.stop();
    await this.#pythonWorker?.stop();
    this.dir.remove();
  }
}

/** Polls an (async) condition every 50 ms until it holds, or throws after `timeoutMs`. */
export async function poll(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface StatusJson {
  time: number;
  proxy: { pid: number; uptimeS: number; inFlight: number; queued: number };
  totals: { requests: number; errors: number; bytesIn: number; bytesOut: number };
  groups: Array<{
    name: string;
    queued: number;
    inFlight: number;
    restarts: number;
    connectFailures: number;
  }>;
  workers: Array<{
    group: string;
    worker: string;
    state: string;
    pid: number | null;
    inFlight: number;
    capacity: number;
    requestsSucceeded: number;
    requestsFailed: number;
    restarts: number;
    rssBytes: number | null;
    heapUsedBytes: number | null;
    loopLagMs: number | null;
    requestsServed: number | null;
  }>;
  routes: Array<{ route: string; requests: number; errors: number; bytesIn: number; bytesOut: number }>;
  series: Array<{
    time: number;
    requests: number;
    errors: number;
    p50Ms: number | null;
    p90Ms: number | null;
    p99Ms: number | null;
  }>;
}

/** Parsed Prometheus text: samples by name and labels. */
export class Samples {
  readonly text: string;
  readonly #samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  readonly types = new Map<string, string>();

  constructor(text: string) {
    this.text = text;
    for (const line of text.split('\n')) {
      if (line.startsWith('# TYPE ')) {
        const [, , name, type] = line.split(' ');
        this.types.set(name, type);
        continue;
      }
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`unparsable metrics line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[pair[1]] = pair[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      this.#samples.push({ name: match[1], labels, value: Number(match[3]) });
    }
  }

  /** Every sample of `name` whose labels include `labels`. */
  all(
    name: string,
    labels: Record<string, string> = {},
  ): Array<{ labels: Record<string, string>; value: number }> {
    return this.#samples.filter(
      (sample) =>
        sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
  }

  /** The one sample of `name` with exactly these labels, or undefined. */
  get(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.#samples.find(
      (sample) =>
        sample.name === name &&
        Object.keys(sample.labels).length === Object.keys(labels).length &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
    return found?.value;
  }

  /** The sum of every sample of `name` whose labels include `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.all(name, labels).reduce((total, sample) => total + sample.value, 0);
  }
}
