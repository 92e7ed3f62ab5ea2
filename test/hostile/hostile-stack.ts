/**
 * The stack of the hostile-input tests: the real proxy process (proxy/dist/main.js) in front of
 * the real TS worker supervisor running apps/recording-app.ts (one process, over a socket
 * directory), in a fresh temp dir on 127.0.0.1. `seen()` asks the worker what reached it;
 * `exchange()` is one raw TCP conversation. `stop()` ends every process by pid.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Client } from 'undici';
import { ProxyProcess, writeConfig } from '../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../integration/worker/support/temp-dir.js';
import { ROOT, WorkerHarness } from '../integration/worker/support/worker-harness.js';

export const RECORDING_APP = join(ROOT, 'test/hostile/apps/recording-app.ts');

export interface SeenRequest {
  method: string;
  target: string;
  host: string | null;
  contentLength: string | null;
  transferEncoding: string | null;
  bodyLength: number;
  bodyStart: string;
  pid: number;
}

export interface RawExchange {
  /** Everything the proxy sent, latin1. */
  text: string;
  /** The proxy closed (FIN or RST) before `quietMs` of silence. */
  closed: boolean;
  /** Status codes of every response head in `text`, in order (1xx included). */
  statuses: number[];
}

/** Status codes of the response heads in a raw byte stream (bodies may contain anything: heads are found by framing). */
export function responseStatuses(text: string): number[] {
  const statuses: number[] = [];
  let at = 0;
  while (at < text.length) {
    const match = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text.slice(at));
    if (match === null) break;
    const status = Number(match[1]);
    statuses.push(status);
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const head = text.slice(at, headEnd).toLowerCase();
    at = headEnd + 4;
    if (status < 200 || status === 204 || status === 304) continue;
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    if (length !== null) at += Number(length[1]);
    else if (/\r\ntransfer-encoding: *chunked/.test(head)) {
      for (;;) {
        const lineEnd = text.indexOf('\r\n', at);
        if (lineEnd < 0) return statuses;
        const size = parseInt(text.slice(at, lineEnd), 16);
        at = lineEnd + 2;
        if (size === 0) {
          at = text.indexOf('\r\n\r\n', at - 2) + 4;
          break;
        }
        at += size + 2;
      }
    } else break; // delimited by close
  }
  return statuses;
}

export class HostileStack {
  readonly dir: { path: string; remove(): void };
  readonly socketDir: string;
  readonly worker: WorkerHarness;
  readonly proxy: ProxyProcess;
  readonly port: number;
  readonly origin: string;

  private constructor(
    dir: { path: string; remove(): void },
    socketDir: string,
    worker: WorkerHarness,
    proxy: ProxyProcess,
    port: number,
  ) {
    this.dir = dir;
    this.socketDir = socketDir;
    this.worker = worker;
    this.proxy = proxy;
    this.port = port;
    this.origin = `http://127.0.0.1:${port}`;
  }

  static async start(
    options: {
      /** Proxy config merged over the defaults; a function gets the worker's socket directory. */
      config?: Record<string, unknown> | ((socketDir: string) => Record<string, unknown>);
      processes?: number;
      workerArgs?: string[];
    } = {},
  ): Promise<HostileStack> {
    const dir = freshTempDir('hostile');
    const socketDir = join(dir.path, 'run');
    mkdirSync(socketDir, { mode: 0o770 });
    const processes = options.processes ?? 1;
    let worker: WorkerHarness | null = null;
    let proxy: ProxyProcess | null = null;
    try {
      worker = await WorkerHarness.start([
        RECORDING_APP,
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
        log: { level: 'info', access: true },
        ...(typeof options.config === 'function' ? options.config(socketDir) : options.config),
      });
      proxy = new ProxyProcess(config);
      const port = await proxy.port();
      await waitFor(
        () => proxy!.lines.filter((line) => line.msg === 'worker joined').length >= processes,
        15_000,
        () => `${processes} workers joining the proxy`,
      );
      return new HostileStack(dir, socketDir, worker, proxy, port);
    } catch (error) {
      await proxy?.stop();
      await worker?.stop();
      dir.remove();
      throw error;
    }
  }

  /** What reached the worker so far. */
  async seen(): Promise<SeenRequest[]> {
    const client = new Client(this.origin);
    try {
      const response = await client.request({ path: '/__seen', method: 'GET' });
      if (response.statusCode !== 200) throw new Error(`/__seen answered ${response.statusCode}`);
      return (await response.body.json()) as SeenRequest[];
    } finally {
      await client.close();
    }
  }

  /**
   * One raw conversation on a fresh TCP connection: writes `parts` (with `gapMs` between them) and
   * resolves with everything received until the proxy closed, or until nothing came for `quietMs`.
   */
  exchange(
    parts: string | Buffer | Array<string | Buffer>,
    options: { quietMs?: number; gapMs?: number } = {},
  ): Promise<RawExchange> {
    return rawExchange(this.port, parts, options);
  }

  /** Resident set size of the proxy process, bytes (/proc/<pid>/status VmRSS). */
  proxyRss(): number {
    return rssOf(this.proxy.pid);
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    await this.worker.stop();
    this.dir.remove();
  }
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

export function rawExchange(
  port: number,
  parts: string | Buffer | Array<string | Buffer>,
  options: { quietMs?: number; gapMs?: number } = {},
): Promise<RawExchange> {
  const quietMs = options.quietMs ?? 600;
  const list = Array.isArray(parts) ? parts : [parts];
  return new Promise<RawExchange>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | null = null;
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, closed, statuses: responseStatuses(text) });
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
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish(true);
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
