/**
 * Worker benchmark (issue #3): requests/s of ONE gatewire worker process driven by a protocol
 * client over a Unix socket, against bare node:http servers driven by an HTTP client over a Unix
 * socket, with the same concurrency, in one run, rounds interleaved.
 *
 *   npx tsc -b worker-runtime && npx tsx bench/worker.ts [--seconds 3] [--rounds 3] [--concurrency 64]
 *
 * Servers (each one process, one core's worth of the 2-core machine; the client runs in its own process):
 * - `worker`:        gatewire-worker --socket, the fetch app test/fixtures/apps/bench-hello.ts
 * - `worker-plain`:  the same with --plain-web-objects (undici Request/Response: what the fast paths save)
 * - `node-hello`:    /work/shared/reference-stacks/apps/node-hello.js (a native node:http handler)
 * - `node-adapter`:  node:http running the same fetch app through a minimal adapter (undici Request and
 *                    Response, body read with arrayBuffer): what "serve a fetch app on node:http" costs
 *
 * Clients are lean on both sides so that neither measures its client: the protocol client keeps
 * `concurrency` streams in flight on one connection (a REQUEST frame patched from a template); the
 * HTTP client keeps `concurrency` keep-alive connections with one request each (a fixed request,
 * responses framed by Content-Length). Printed per server: req/s (median, min–max over rounds) and
 * server CPU per request; then the ratios worker/node-hello and worker/node-adapter per round.
 * Target: worker ≥ 1.5x node-hello. Each run stays under 60 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  Feature,
  Flags,
  FrameDecoder,
  FrameEncoder,
  FrameType,
  decodeHello,
  decodeResponseHead,
  makeHello,
  type FrameHandler,
} from '@gatewire/protocol';
import { environFor } from '../test/integration/worker/support/protocol-client.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const APP = join(ROOT, 'test/fixtures/apps/bench-hello.ts');
const WORKER_MAIN = join(ROOT, 'worker-runtime/dist/main.js');
const NODE_HELLO = '/work/shared/reference-stacks/apps/node-hello.js';
const SELF = fileURLToPath(import.meta.url);

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
function stringFlag(name: string): string {
  const index = process.argv.indexOf(name);
  if (index < 0) throw new Error(`missing ${name}`);
  return process.argv[index + 1];
}

// ── client roles (run in their own process) ──

interface ClientResult {
  requests: number;
  errors: number;
  seconds: number;
}

/** Protocol load generator: `concurrency` streams in flight on one connection. */
async function gatewireClient(path: string, seconds: number, concurrency: number): Promise<ClientResult> {
  const socket = connect(path);
  await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
  const encoder = new FrameEncoder();
  encoder.preface();
  encoder.hello(makeHello({ role: 'proxy', features: [Feature.TRAILERS, Feature.HEALTH] }));
  socket.write(encoder.takeBuffer());
  // One REQUEST frame (END_STREAM, no body) as a template; each request patches its stream id.
  encoder.request(
    1,
    environFor(
      {
        path: '/',
        headers: [
          ['host', 'localhost'],
          ['user-agent', 'bench'],
        ],
      },
      1,
      0,
    ),
    true,
  );
  const template = encoder.takeBuffer();
  let nextId = 1;
  let completed = 0;
  let errors = 0;
  let running = true;
  let handshake!: () => void;
  const ready = new Promise<void>((ok) => (handshake = ok));
  const send = (count: number): void => {
    if (!running || count === 0) return;
    const batch = Buffer.allocUnsafe(template.length * count);
    for (let i = 0; i < count; i++) {
      template.copy(batch, i * template.length);
      batch.writeUInt32BE(nextId, i * template.length + 6);
      nextId += 1;
    }
    socket.write(batch);
  };
  let finishedThisChunk = 0;
  const handler: FrameHandler = {
    onFrame(type, flags, _streamId, payload) {
      if (type === FrameType.HELLO) {
        decodeHello(payload);
        handshake();
      } else if (type === FrameType.RESPONSE) {
        if (decodeResponseHead(payload).status !== 200) errors++;
        if ((flags & Flags.END_STREAM) !== 0) finishedThisChunk++;
      } else if (type === FrameType.RESET) {
        errors++;
        finishedThisChunk++;
      } else if (type === FrameType.GOAWAY) running = false;
    },
    onData(_streamId, flags, _chunk, endOfFrame) {
      if (endOfFrame && (flags & Flags.END_STREAM) !== 0) finishedThisChunk++;
    },
  };
  const decoder = new FrameDecoder(handler, { maxFrameSize: 262144 });
  socket.on('data', (chunk: Buffer) => {
    finishedThisChunk = 0;
    decoder.push(chunk);
    completed += finishedThisChunk;
    send(finishedThisChunk);
  });
  await ready;
  const start = performance.now();
  send(concurrency);
  await new Promise((ok) => setTimeout(ok, seconds * 1000));
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  socket.destroy();
  return { requests: completed, errors, seconds: elapsed };
}

const HTTP_REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\n\r\n');

/** HTTP/1.1 load generator: `concurrency` keep-alive connections, one request in flight on each. */
async function httpClient(path: string, seconds: number, concurrency: number): Promise<ClientResult> {
  let completed = 0;
  let errors = 0;
  let running = true;
  const sockets: Socket[] = [];
  const open = (): Promise<void> =>
    new Promise<void>((ok, fail) => {
      const socket = connect(path);
      sockets.push(socket);
      let buffered: Buffer | null = null;
      socket.once('connect', ok).once('error', fail);
      socket.on('error', () => errors++);
      socket.on('data', (chunk: Buffer) => {
        let data = buffered === null ? chunk : Buffer.concat([buffered, chunk]);
        buffered = null;
        for (;;) {
          const headEnd = data.indexOf('\r\n\r\n');
          if (headEnd < 0) break;
          const head = data.toString('latin1', 0, headEnd);
          const match = /\r\ncontent-length: *(\d+)/i.exec(head);
          if (match === null) {
            errors++;
            socket.destroy();
            return;
          }
          const total = headEnd + 4 + Number(match[1]);
          if (data.length < total) break;
          if (!head.startsWith('HTTP/1.1 200')) errors++;
          completed++;
          data = data.subarray(total);
          if (running) socket.write(HTTP_REQUEST);
        }
        if (data.length > 0) buffered = data;
      });
    });
  await Promise.all(Array.from({ length: concurrency }, open));
  const start = performance.now();
  for (const socket of sockets) socket.write(HTTP_REQUEST);
  await new Promise((ok) => setTimeout(ok, seconds * 1000));
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  for (const socket of sockets) socket.destroy();
  return { requests: completed, errors, seconds: elapsed };
}

/** node:http + the fetch app through a minimal adapter with undici's Request and Response. */
async function adapterServer(appPath: string, socketPath: string): Promise<void> {
  const app = (
    (await import(pathToFileURL(appPath).href)) as {
      default: { fetch(request: Request): Response | Promise<Response> };
    }
  ).default;
  const server = createHttpServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers };
      if (hasBody) {
        init.body = req as unknown as ReadableStream;
        init.duplex = 'half';
      }
      const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, init);
      const response = await app.fetch(request);
      const body = Buffer.from(await response.arrayBuffer());
      const out: Record<string, string> = {};
      response.headers.forEach((value, name) => (out[name] = value));
      out['content-length'] = String(body.length);
      res.writeHead(response.status, out);
      res.end(body);
    } catch {
      res.writeHead(500);
      res.end();
    }
  });
  if (existsSync(socketPath)) rmSync(socketPath);
  server.listen(socketPath, () => console.log('listening'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

// ── orchestration ──

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, clock ticks (100 Hz)
}

function waitForSocket(path: string, child: ChildProcess): Promise<void> {
  return new Promise((ok, fail) => {
    const started = Date.now();
    const poll = (): void => {
      if (child.exitCode !== null) return fail(new Error(`server exited early (${child.exitCode})`));
      const probe = connect(path);
      probe.once('connect', () => {
        probe.destroy();
        ok();
      });
      probe.once('error', () => {
        if (Date.now() - started > 20_000) fail(new Error(`no server on ${path}`));
        else setTimeout(poll, 100);
      });
    };
    poll();
  });
}

/** One long-lived client process (the other core), driven over IPC: no per-run start-up cost. */
class ClientHost {
  #child: ChildProcess;
  #pending: { resolve(result: ClientResult): void; reject(error: Error): void } | null = null;

  constructor() {
    this.#child = spawn(process.execPath, ['--import', 'tsx', SELF, '--role', 'client-host'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      cwd: ROOT,
    });
    this.#child.on('message', (result: ClientResult) => {
      const pending = this.#pending;
      this.#pending = null;
      pending?.resolve(result);
    });
    this.#child.on('exit', (code) => this.#pending?.reject(new Error(`the client process exited (${code})`)));
  }

  run(
    kind: 'gatewire' | 'http',
    target: string,
    seconds: number,
    concurrency: number,
  ): Promise<ClientResult> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#child.send({ kind, target, seconds, concurrency });
    });
  }

  close(): void {
    this.#child.kill('SIGKILL');
  }
}

interface Target {
  name: string;
  kind: 'gatewire' | 'http';
  path: string;
  child: ChildProcess;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function range(values: number[], digits: number): string {
  return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
}

async function orchestrate(): Promise<void> {
  const seconds = flag('--seconds', 3);
  const rounds = flag('--rounds', 3);
  const concurrency = flag('--concurrency', 64);
  const dir = mkdtempSync(join(tmpdir(), 'gatewire-bench-'));
  const targets: Target[] = [];
  const start = (name: string, kind: Target['kind'], path: string, args: string[]): void => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
    targets.push({ name, kind, path, child });
  };
  start('worker', 'gatewire', join(dir, 'worker.sock'), [
    WORKER_MAIN,
    APP,
    '--socket',
    join(dir, 'worker.sock'),
    '--log-level',
    'warn',
    '--concurrency',
    '1024',
  ]);
  start('worker-plain', 'gatewire', join(dir, 'plain.sock'), [
    WORKER_MAIN,
    APP,
    '--socket',
    join(dir, 'plain.sock'),
    '--log-level',
    'warn',
    '--concurrency',
    '1024',
    '--plain-web-objects',
  ]);
  start('node-hello', 'http', join(dir, 'hello.sock'), [NODE_HELLO, join(dir, 'hello.sock')]);
  start('node-adapter', 'http', join(dir, 'adapter.sock'), [
    '--import',
    'tsx',
    SELF,
    '--role',
    'adapter',
    '--app',
    APP,
    '--socket',
    join(dir, 'adapter.sock'),
  ]);
  const clients = new ClientHost();
  const runClient = (
    kind: Target['kind'],
    path: string,
    duration: number,
    streams: number,
  ): Promise<ClientResult> => clients.run(kind, path, duration, streams);
  try {
    await Promise.all(targets.map((target) => waitForSocket(target.path, target.child)));
    // Warm-up: JIT every server once.
    for (const target of targets) await runClient(target.kind, target.path, 0.5, concurrency);
    const rates = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const cpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const before = cpuTicks(target.child.pid!);
        const result = await runClient(target.kind, target.path, seconds, concurrency);
        const ticks = cpuTicks(target.child.pid!) - before;
        if (result.errors > 0) throw new Error(`${target.name}: ${result.errors} failed requests`);
        rates.get(target.name)!.push(result.requests / result.seconds);
        cpu.get(target.name)!.push((ticks * 10_000) / result.requests); // µs of server CPU per request
        process.stderr.write(
          `round ${round + 1} ${target.name}: ${Math.round(result.requests / result.seconds)} req/s\n`,
        );
      }
    }
    console.log(
      `\nOne server process each, Unix socket, concurrency ${concurrency}, ${rounds} rounds × ${seconds} s; node ${process.version}\n`,
    );
    console.log('| server | req/s median | min–max | server CPU µs/request (median) |');
    console.log('|---|---|---|---|');
    for (const target of targets) {
      const values = rates.get(target.name)!;
      console.log(
        `| ${target.name} | ${Math.round(median(values))} | ${range(values, 0)} | ${median(cpu.get(target.name)!).toFixed(1)} |`,
      );
    }
    const ratio = (a: string, b: string): number[] =>
      rates.get(a)!.map((value, i) => value / rates.get(b)![i]);
    console.log('');
    for (const [a, b] of [
      ['worker', 'node-hello'],
      ['worker', 'node-adapter'],
      ['worker', 'worker-plain'],
    ] as const) {
      const values = ratio(a, b);
      console.log(`${a} / ${b}: ${median(values).toFixed(2)}x (min–max ${range(values, 2)})`);
    }
  } finally {
    clients.close();
    for (const target of targets) target.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv.includes('--role') ? stringFlag('--role') : 'orchestrate';
if (role === 'client-host') {
  process.on(
    'message',
    (command: { kind: 'gatewire' | 'http'; target: string; seconds: number; concurrency: number }) => {
      const run = command.kind === 'gatewire' ? gatewireClient : httpClient;
      void run(command.target, command.seconds, command.concurrency).then((result) => process.send!(result));
    },
  );
} else if (role === 'client-gatewire' || role === 'client-http') {
  const run = role === 'client-gatewire' ? gatewireClient : httpClient;
  const result = await run(stringFlag('--target'), flag('--seconds', 3), flag('--concurrency', 64));
  console.log(JSON.stringify(result));
  process.exit(0);
} else if (role === 'adapter') {
  await adapterServer(stringFlag('--app'), stringFlag('--socket'));
} else {
  await orchestrate();
}
