/**
 * A real gatewire stack for the proxy's end-to-end tests: the proxy process (proxy/dist/main.js,
 * JSON logs on stdout) in front of the TS worker supervisor (worker-runtime/dist/main.js) running
 * test/e2e/proxy/apps/e2e-app.ts in several processes over a socket directory, plus a static
 * directory, all in a fresh temp dir, on 127.0.0.1. `stop()` ends every process by pid.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'undici';
import { ProxyProcess, writeConfig } from '../../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../../integration/worker/support/temp-dir.js';
import { ROOT, WorkerHarness } from '../../integration/worker/support/worker-harness.js';

export const E2E_APP = join(ROOT, 'test/e2e/proxy/apps/e2e-app.ts');
const run = promisify(execFile);

export interface StackOptions {
  /** Worker processes (default 2). */
  processes?: number;
  /** More worker CLI flags (`--concurrency 1`, …). */
  workerArgs?: string[];
  /** Proxy config sections merged over the defaults (`http`, `upstream`, `trustedProxies`, `log`…). */
  config?: Record<string, unknown>;
  /** Routes; default: /static/ and host files.test to the static dir, /mounted/ mounted, / to the workers. */
  routes?: Array<Record<string, unknown>>;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export class Stack {
  readonly dir: { path: string; remove(): void };
  readonly socketDir: string;
  readonly staticDir: string;
  readonly worker: WorkerHarness;
  readonly proxy: ProxyProcess;
  readonly port: number;
  readonly origin: string;
  readonly #clients = new Set<Client>();

  private constructor(
    dir: { path: string; remove(): void },
    worker: WorkerHarness,
    proxy: ProxyProcess,
    port: number,
  ) {
    this.dir = dir;
    this.socketDir = join(dir.path, 'run');
    this.staticDir = join(dir.path, 'static');
    this.worker = worker;
    this.proxy = proxy;
    this.port = port;
    this.origin = `http://127.0.0.1:${port}`;
  }

  static async start(options: StackOptions = {}): Promise<Stack> {
    const dir = freshTempDir('e2e');
    const socketDir = join(dir.path, 'run');
    const staticDir = join(dir.path, 'static');
    mkdirSync(socketDir);
    mkdirSync(join(staticDir, 'css'), { recursive: true });
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>static</title>\n');
    writeFileSync(join(staticDir, 'css/site.css'), 'body { color: black; }\n');
    writeFileSync(join(staticDir, 'data.bin'), Buffer.alloc(100_000, 0x62));
    const processes = options.processes ?? 2;
    let worker: WorkerHarness | null = null;
    let proxy: ProxyProcess | null = null;
    try {
      worker = await WorkerHarness.start([
        E2E_APP,
        '--socket-dir',
        socketDir,
        '--processes',
        String(processes),
        '--log-format',
        'json',
        ...(options.workerArgs ?? []),
      ]);
      const config = writeConfig(dir.path, {
        upstreams: { app: { socketDir } },
        routes: options.routes ?? [
          { host: 'files.test', path: '/', static: { root: staticDir } },
          { path: '/static/', static: { root: staticDir, maxAgeSeconds: 60 } },
          { path: '/mounted/', upstream: 'app', mount: true },
          { path: '/', upstream: 'app' },
        ],
        log: { level: 'info', access: true },
        ...options.config,
        upstream: { tempDir: dir.path, ...(options.config?.upstream as object) },
      });
      proxy = new ProxyProcess(config);
      const port = await proxy.port();
      const joined = (): number => proxy!.lines.filter((line) => line.msg === 'worker joined').length;
      await waitFor(
        () => joined() >= processes,
        15_000,
        () => `${processes} workers joining the proxy`,
      );
      return new Stack(dir, worker, proxy, port);
    } catch (error) {
      await proxy?.stop();
      await worker?.stop();
      dir.remove();
      throw error;
    }
  }

  /** An undici client of its own (one keep-alive connection), closed by stop(). */
  client(): Client {
    const client = new Client(this.origin, { connect: { timeout: 5000 } });
    this.#clients.add(client);
    return client;
  }

  /** One request on a fresh undici client. */
  async request(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
  ): Promise<Reply> {
    const client = this.client();
    try {
      const response = await client.request({
        path,
        method: (init.method ?? 'GET') as 'GET',
        headers: init.headers,
        body: init.body,
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      return { status: response.statusCode, headers: response.headers, body };
    } finally {
      this.#clients.delete(client);
      await client.close();
    }
  }

  /** curl against the proxy; resolves with stdout and stderr (curl's exit status must be 0). */
  async curl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('curl', ['-s', '-S', '--max-time', '10', ...args], { encoding: 'latin1' });
  }

  /**
   * One raw exchange on a fresh TCP connection: writes `parts` (with `gapMs` between them) and
   * resolves with everything received until the proxy closed, or until nothing came for `quietMs`.
   */
  raw(parts: string | Buffer | Array<string | Buffer>, options: { quietMs?: number; gapMs?: number } = {}) {
    const quietMs = options.quietMs ?? 400;
    const list = Array.isArray(parts) ? parts : [parts];
    return new Promise<{ text: string; closed: boolean }>((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      let timer: NodeJS.Timeout | null = null;
      let settled = false;
      const finish = (closed: boolean): void => {
        if (settled) return;
        settled = true;
        if (timer !== null) clearTimeout(timer);
        socket.destroy();
        resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
      };
      const arm = (): void => {
        if (timer !== null) clearTimeout(timer);
        timer = setTimeout(() => finish(false), quietMs);
      };
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        arm();
      });
      socket.on('end', () => finish(true));
      socket.on('close', () => finish(true));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNRESET') finish(true);
        else reject(error);
      });
      socket.on('connect', async () => {
        for (let i = 0; i < list.length; i++) {
          if (i > 0 && options.gapMs) await new Promise((done) => setTimeout(done, options.gapMs));
          if (!socket.destroyed) socket.write(list[i]);
        }
        arm();
      });
    });
  }

  /** The access-log line of a request id (waits for it: lines are written once per turn). */
  accessLine(requestId: string): Promise<Record<string, unknown>> {
    return this.logLine(
      (line) => line.log === 'access' && line.requestId === requestId,
      `the access-log line of ${requestId}`,
    );
  }

  /** The first proxy log line that matches, waiting for it (the response may reach the client before its log line). */
  async logLine(
    matches: (line: Record<string, unknown>) => boolean,
    what: string,
  ): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await waitFor(
      () => (found = this.proxy.lines.find(matches)) !== undefined,
      5000,
      () => what,
    );
    return found!;
  }

  /** Resident set size of the proxy process, bytes. */
  proxyRss(): number {
    const status = readFileSync(`/proc/${this.proxy.pid}/status`, 'latin1');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }

  /** Worker processes now serving (their sockets' pids). */
  async workerPids(count: number): Promise<number[]> {
    const pids = new Set<number>();
    for (let i = 0; i < count * 20 && pids.size < count; i++) {
      const reply = await this.request('/hello');
      pids.add(Number(reply.headers['x-pid']));
    }
    return [...pids];
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#clients].map((client) => client.destroy()));
    this.#clients.clear();
    await this.proxy.stop();
    await this.worker.stop();
    this.dir.remove();
  }
}

/** `count` requests of `path` in a row on one keep-alive connection; resolves with the statuses. */
export async function sequential(stack: Stack, path: string, count: number): Promise<number[]> {
  const client = stack.client();
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await client.request({ path, method: 'GET' });
    await response.body.arrayBuffer();
    statuses.push(response.statusCode);
  }
  return statuses;
}

/**
 * A request held by the app until released (GET /hold): `started` resolves with the pid of the
 * worker holding it, once it is there; `release()` lets it answer.
 */
export class Hold {
  readonly file: string;
  readonly reply: Promise<Reply | Error>;

  constructor(stack: Stack, name: string) {
    this.file = join(stack.dir.path, `hold-${name}`);
    this.reply = stack
      .request(`/hold?file=${encodeURIComponent(this.file)}`)
      .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  }

  /** The pid of the worker holding it, once the request has reached it. */
  async started(): Promise<number> {
    await waitFor(
      () => existsSync(`${this.file}.started`),
      10_000,
      () => `${this.file} to start`,
    );
    return Number(readFileSync(`${this.file}.started`, 'latin1'));
  }

  release(): void {
    writeFileSync(`${this.file}.release`, '');
  }
}
