/**
 * A real gatewire stack for the WebSocket tests: the proxy process (proxy/dist/main.js) in front of
 * the worker supervisor (worker-runtime/dist/main.js) running test/e2e/websocket/apps/ws-app.ts,
 * over a socket directory in a fresh temp dir, on 127.0.0.1. Everything is stopped by `stop()`.
 */
import { join } from 'node:path';
import { WebSocket, type ClientOptions } from 'ws';
import { ProxyProcess, writeConfig } from '../../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../../integration/worker/support/temp-dir.js';
import { ROOT, WorkerHarness } from '../../integration/worker/support/worker-harness.js';

export const WS_APP = join(ROOT, 'test/e2e/websocket/apps/ws-app.ts');

export interface StackOptions {
  /** The app module (default test/e2e/websocket/apps/ws-app.ts). */
  app?: string;
  /** Worker CLI flags besides the app and the socket dir (default: one process). */
  workerArgs?: string[];
  /** `upstream` settings of the proxy config. */
  upstream?: Record<string, unknown>;
}

export class Stack {
  readonly dir: { path: string; remove(): void };
  readonly worker: WorkerHarness;
  readonly proxy: ProxyProcess;
  readonly port: number;
  readonly #clients = new Set<WebSocket>();

  private constructor(
    dir: { path: string; remove(): void },
    worker: WorkerHarness,
    proxy: ProxyProcess,
    port: number,
  ) {
    this.dir = dir;
    this.worker = worker;
    this.proxy = proxy;
    this.port = port;
  }

  static async start(options: StackOptions = {}): Promise<Stack> {
    const dir = freshTempDir('ws');
    const args = options.workerArgs ?? ['--processes', '1'];
    const processes = Number(args[args.indexOf('--processes') + 1] ?? 1);
    const worker = await WorkerHarness.start([
      options.app ?? WS_APP,
      '--socket-dir',
      dir.path,
      '--log-format',
      'json',
      ...args,
    ]);
    const config = writeConfig(dir.path, {
      upstream: { tempDir: dir.path, ...options.upstream },
      upstreams: { app: { socketDir: dir.path } },
      routes: [{ path: '/', upstream: 'app' }],
      log: { level: 'info', access: false },
    });
    const proxy = new ProxyProcess(config);
    let port: number;
    try {
      port = await proxy.port();
      await waitFor(
        () => proxy.lines.filter((line) => line.msg === 'worker joined').length >= processes,
        15_000,
        () => `${processes} workers joining the proxy`,
      );
      await untilServed(`http://127.0.0.1:${port}/`);
    } catch (error) {
      await proxy.stop();
      await worker.stop();
      dir.remove();
      throw error;
    }
    return new Stack(dir, worker, proxy, port);
  }

  url(path: string): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /** A `ws` client, tracked so that stop() closes it. */
  client(path: string, protocols?: string | string[], options?: ClientOptions): WebSocket {
    const client = new WebSocket(this.url(path), protocols, { perMessageDeflate: false, ...options });
    this.#clients.add(client);
    client.on('close', () => this.#clients.delete(client));
    client.on('error', () => {}); // the tests look at close codes and the promise helpers
    return client;
  }

  /** A plain GET through the proxy, as text. */
  async get(path: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: response.status, text: await response.text() };
  }

  async stop(): Promise<void> {
    for (const client of this.#clients) client.terminate();
    await this.proxy.stop();
    await this.worker.stop();
    this.dir.remove();
  }
}

/** Resolves when the client is open (rejects on an unexpected response or an early close). */
export function opened(client: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.readyState === WebSocket.OPEN) return resolve();
    client.once('open', () => resolve());
    client.once('unexpected-response', (_request, response) =>
      reject(new Error(`unexpected response ${response.statusCode}`)),
    );
    client.once('close', (code) => reject(new Error(`closed with ${code} before opening`)));
  });
}

/** The next message: text as a string, binary as a Buffer. */
export function nextMessage(client: WebSocket): Promise<string | Buffer> {
  return new Promise((resolve, reject) => {
    const onClose = (code: number): void =>
      reject(new Error(`closed with ${code} while waiting for a message`));
    client.once('close', onClose);
    client.once('message', (data: Buffer, isBinary: boolean) => {
      client.off('close', onClose);
      resolve(isBinary ? data : data.toString('utf8'));
    });
  });
}

/** The close code and reason, when the client closes. */
export function closed(client: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (client.readyState === WebSocket.CLOSED) return resolve({ code: -1, reason: 'already closed' });
    client.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }));
  });
}

/** Sends and waits for the echo. */
export async function roundTrip(client: WebSocket, data: string | Buffer): Promise<string | Buffer> {
  const reply = nextMessage(client);
  client.send(data);
  return reply;
}

/** Every message a client receives, in order, from the moment it is made (none can slip by). */
export class Inbox {
  readonly #queue: Array<string | Buffer> = [];
  #waiter: ((message: string | Buffer) => void) | null = null;
  #closed: number | null = null;
  #onClose: ((code: number) => void) | null = null;

  constructor(client: WebSocket) {
    client.on('message', (data: Buffer, isBinary: boolean) => {
      const message = isBinary ? data : data.toString('utf8');
      const waiter = this.#waiter;
      this.#waiter = null;
      if (waiter !== null) waiter(message);
      else this.#queue.push(message);
    });
    client.on('close', (code: number) => {
      this.#closed = code;
      this.#onClose?.(code);
    });
  }

  next(): Promise<string | Buffer> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed !== null) return Promise.reject(new Error(`closed with ${this.#closed}`));
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#onClose = (code) => reject(new Error(`closed with ${code} while waiting for a message`));
    });
  }
}

/**
 * 'worker joined' is logged when the proxy starts connecting; a request before the handshake has
 * completed finds no ready worker (503 with queueLength 0). Any answer from an app (whatever its
 * status) means a worker is ready.
 */
async function untilServed(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(url);
    await response.arrayBuffer();
    if (response.status !== 503 && response.status !== 502) return;
    if (Date.now() > deadline) throw new Error(`${url} still answers ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
