/**
 * The Django example (examples/django) as users run it: `serve.py` collects the static files into
 * STATIC_ROOT and starts the Python worker as a pre-fork master (a socket directory, N processes),
 * and the real proxy process (proxy/dist/main.js) serves STATIC_ROOT under /static/ and everything
 * else from the socket directory. All in a fresh temp dir, on 127.0.0.1; `stop()` ends every process
 * this file started and removes the directory.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ProxyProcess, writeConfig } from '../../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../../integration/worker/support/temp-dir.js';
import { ROOT } from '../../integration/worker/support/worker-harness.js';

export const EXAMPLE = join(ROOT, 'examples/django');
const SERVE = join(EXAMPLE, 'serve.py');
const PROXY_MAIN = join(ROOT, 'proxy/dist/main.js');
const PYTHON = process.env.PYTHON ?? 'python3';
const INSTALL = 'pip install -r worker-runtime/python/requirements.txt';

/** The environment of the Python processes: the worker package from the checkout, the example's settings. */
export function pythonEnv(staticRoot: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: [join(ROOT, 'worker-runtime/python'), process.env.PYTHONPATH].filter(Boolean).join(delimiter),
    DJANGO_STATIC_ROOT: staticRoot,
    DJANGO_ALLOWED_HOSTS: '127.0.0.1,localhost',
    PYTHONUNBUFFERED: '1',
  };
}

/** Why this stack cannot run here (a message saying what to install), or null. */
export function missingDependency(): string | null {
  const probe = spawnSync(
    PYTHON,
    ['-c', 'import django, msgpack, gatewire_wsgi; print(django.get_version())'],
    { env: pythonEnv(''), encoding: 'utf8' },
  );
  if (probe.error) return `${PYTHON} is not installed (${probe.error.message}); then ${INSTALL}`;
  if (probe.status !== 0)
    return `${PYTHON} cannot import Django, msgpack or gatewire_wsgi:\n${probe.stderr.trim()}\n→ ${INSTALL}`;
  if (!existsSync(PROXY_MAIN)) return `${PROXY_MAIN} is missing: build the proxy with npx tsc -b proxy`;
  return null;
}

export interface DjangoStackOptions {
  processes?: number;
  threads?: number;
  /** The worker's --backlog (queue slots, SPEC §6.4); its default (1) when absent. */
  backlog?: number;
  /** `upstreams.django` settings besides socketDir (buffering, …). */
  upstream?: Record<string, unknown>;
  /** `upstream` (shared) settings of the proxy. */
  upstreamDefaults?: Record<string, unknown>;
}

export class DjangoStack {
  readonly dir: { path: string; remove(): void };
  readonly socketDir: string;
  readonly staticRoot: string;
  readonly worker: ChildProcess;
  readonly workerOutput: string[] = [];
  readonly proxies: ProxyProcess[] = [];
  proxy!: ProxyProcess;
  port = 0;
  #workerExit: Promise<void>;

  private constructor(options: DjangoStackOptions) {
    this.dir = freshTempDir('django');
    this.socketDir = join(this.dir.path, 'sockets');
    this.staticRoot = join(this.dir.path, 'static');
    mkdirSync(this.socketDir, { mode: 0o750 });
    // serve.py: collectstatic into DJANGO_STATIC_ROOT, then exec the worker (same pid).
    this.worker = spawn(
      PYTHON,
      [
        SERVE,
        '--socket-dir',
        this.socketDir,
        '--processes',
        String(options.processes ?? 2),
        '--threads',
        String(options.threads ?? 1),
        ...(options.backlog === undefined ? [] : ['--backlog', String(options.backlog)]),
        '--log-format',
        'json',
        '--grace',
        '5',
      ],
      { env: pythonEnv(this.staticRoot), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    for (const stream of [this.worker.stdout!, this.worker.stderr!]) {
      let pending = '';
      stream.setEncoding('utf8').on('data', (text: string) => {
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        this.workerOutput.push(...lines);
      });
    }
    this.#workerExit = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  static async start(options: DjangoStackOptions = {}): Promise<DjangoStack> {
    const stack = new DjangoStack(options);
    const processes = options.processes ?? 2;
    try {
      await waitFor(
        () => stack.workerSockets().length >= processes || stack.worker.exitCode !== null,
        60_000,
        () => `${processes} worker sockets in ${stack.socketDir}`,
      );
      if (stack.worker.exitCode !== null)
        throw new Error(`the Django worker exited with ${stack.worker.exitCode}:\n${stack.log()}`);
      stack.proxy = await stack.startProxy({}, options);
      stack.port = await stack.proxy.port();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  /** Another proxy process on the same socket directory and static root (its own config). */
  async startProxy(extra: Record<string, unknown>, options: DjangoStackOptions = {}): Promise<ProxyProcess> {
    const config = writeConfig(this.dir.path, {
      http: { maxBodyBytes: 16 * 1024 * 1024 },
      upstream: { tempDir: this.dir.path, ...options.upstreamDefaults },
      upstreams: { django: { socketDir: this.socketDir, ...options.upstream } },
      routes: [
        { path: '/static/', static: { root: this.staticRoot, maxAgeSeconds: 3600 } },
        { path: '/', upstream: 'django' },
      ],
      log: { level: 'info', access: true },
      ...extra,
    });
    const proxy = new ProxyProcess(config);
    this.proxies.push(proxy);
    const expected = this.workerSockets().length;
    await proxy.port();
    await waitFor(
      () => proxy.lines.filter((line) => line.msg === 'worker joined').length >= expected,
      15_000,
      () => `${expected} workers joining the proxy (log: ${JSON.stringify(proxy.lines.slice(-5))})`,
    );
    return proxy;
  }

  /** `<name>.<pid>.sock` files in the socket directory (SPEC §16). */
  workerSockets(): string[] {
    try {
      return readdirSync(this.socketDir).filter((name) => name.endsWith('.sock'));
    } catch {
      return [];
    }
  }

  /** The pids of the worker processes, from their socket names. */
  workerPids(): number[] {
    return this.workerSockets().map((name) => Number(name.split('.').at(-2)));
  }

  url(path: string, port = this.port): string {
    return `http://127.0.0.1:${port}${path}`;
  }

  /** The access-log lines of the main proxy. */
  accessLog(): Array<Record<string, unknown>> {
    return this.proxy.lines.filter((line) => line.log === 'access');
  }

  log(): string {
    return this.workerOutput.slice(-40).join('\n');
  }

  async stop(): Promise<void> {
    for (const proxy of this.proxies) await proxy.stop();
    if (this.worker.exitCode === null && this.worker.signalCode === null) {
      // SIGTERM: the master drains its processes (--grace 5); then the whole process group is gone.
      this.worker.kill('SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-this.worker.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await this.#workerExit;
      clearTimeout(timer);
    }
    try {
      process.kill(-this.worker.pid!, 'SIGKILL'); // any process of the group left behind
    } catch {
      // none: the usual case
    }
    this.dir.remove();
  }
}
