/**
 * The two sides of the scenarios in bench/scenarios/: gatewire (the proxy in front of N TS worker
 * processes) and nginx (1 worker process) in front of N node:http processes on Unix sockets with
 * upstream keep-alive. Same app processes on both sides; every process is the bench's own child.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childPids, type Member } from '../report/proc.js';
import { stopChildren } from '../report/children.js';

const run = promisify(execFile);
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const PROXY_MAIN = join(ROOT, 'proxy/dist/main.js');
export const WORKER_MAIN = join(ROOT, 'worker-runtime/dist/main.js');
const NGINX_TEMPLATE = join(ROOT, 'bench/scenarios/nginx-upstream.conf');

export interface Stack {
  readonly port: number;
  /** Stopped in this order: the front first (it drains), then the apps. */
  readonly children: ChildProcess[];
  members: Member[];
}

function startNode(args: string[]): ChildProcess {
  return spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((done) => setTimeout(done, ms));
}

async function waitFor(check: () => boolean, children: ChildProcess[], what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    for (const child of children)
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${what}: a process exited early (${child.exitCode ?? child.signalCode})`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready within 20 s`);
    await sleep(50);
  }
}

export async function waitForHttp(port: number, children: ChildProcess[], what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    for (const child of children)
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${what}: a process exited early (${child.exitCode ?? child.signalCode})`);
    try {
      await run('curl', ['-sf', '-o', '/dev/null', '--max-time', '2', `http://127.0.0.1:${port}/`]);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${what} did not answer on port ${port}`);
      await sleep(100);
    }
  }
}

export interface GatewireOptions {
  readonly dir: string;
  readonly port: number;
  /** The fetch app the TS workers run. */
  readonly app: string;
  readonly processes: number;
  /** Top-level keys added to the proxy's config (e.g. `{ http: { maxBodyBytes: 0 } }`). */
  readonly config?: Record<string, unknown>;
  /** Keys added to the upstream group (e.g. `{ buffering: 'off' }`). */
  readonly upstream?: Record<string, unknown>;
}

/** The proxy → a TS worker (`--socket`) or a supervisor of N processes (`--socket-dir`). */
export async function startGatewire(options: GatewireOptions): Promise<Stack> {
  const home = join(options.dir, 'gatewire');
  const socketDir = join(home, 'sockets');
  mkdirSync(socketDir, { recursive: true });
  const single = options.processes === 1;
  const socket = join(socketDir, 'worker.sock');
  const worker = startNode([
    WORKER_MAIN,
    options.app,
    ...(single
      ? ['--socket', socket]
      : ['--socket-dir', socketDir, '--processes', String(options.processes)]),
    '--log-level',
    'warn',
  ]);
  const sockets = (): number => readdirSync(socketDir).filter((name) => name.endsWith('.sock')).length;
  await waitFor(() => sockets() >= options.processes, [worker], 'the TS workers').catch(
    async (error: unknown) => {
      await stopStack({ port: options.port, children: [worker], members: [] });
      throw error;
    },
  );
  const configPath = join(home, 'gatewire.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: options.port },
      upstreams: { default: { ...(single ? { sockets: [socket] } : { socketDir }), ...options.upstream } },
      log: { level: 'warn', access: false, format: 'json' },
      ...options.config,
    }),
  );
  const proxy = startNode([PROXY_MAIN, '--config', configPath]);
  const stack: Stack = { port: options.port, children: [proxy, worker], members: [] };
  await waitForHttp(options.port, stack.children, 'gatewire').catch(async (error: unknown) => {
    await stopStack(stack);
    throw error;
  });
  if (!single) await sleep(500); // every worker socket discovered
  const workers = single ? [worker.pid!] : childPids(worker.pid!);
  stack.members = [
    { role: 'proxy', pid: proxy.pid! },
    ...workers.map((pid) => ({ role: single ? 'worker' : `workers ×${workers.length}`, pid })),
    ...(single ? [] : [{ role: 'supervisor', pid: worker.pid! }]),
  ];
  return stack;
}

export interface NginxOptions {
  readonly dir: string;
  readonly port: number;
  /** The node:http app (argument: its socket path). */
  readonly app: string;
  readonly processes: number;
  readonly workerConnections?: number;
  /** `least_conn;` or empty for round robin. */
  readonly balancer?: string;
  /** Extra directives in `location /`. */
  readonly location?: string;
}

/** nginx (1 worker) → N node:http processes on Unix sockets, upstream keep-alive. */
export async function startNginx(options: NginxOptions): Promise<Stack> {
  const prefix = join(options.dir, 'nginx');
  mkdirSync(join(prefix, 'conf'), { recursive: true });
  // nginx workers run as `nobody` when the master is root: the sockets' directories must be searchable.
  chmodSync(options.dir, 0o755);
  chmodSync(prefix, 0o755);
  const sockets = Array.from({ length: options.processes }, (_, i) => join(prefix, `app-${i}.sock`));
  const apps = sockets.map((socket) => startNode([options.app, socket]));
  await waitFor(() => sockets.every((socket) => existsSync(socket)), apps, 'the node:http apps').catch(
    async (error: unknown) => {
      await stopStack({ port: options.port, children: apps, members: [] });
      throw error;
    },
  );
  const conf = readFileSync(NGINX_TEMPLATE, 'utf8')
    .replaceAll('@PREFIX@', prefix)
    .replaceAll('@PORT@', String(options.port))
    .replace('@SERVERS@', sockets.map((socket) => `server unix:${socket};`).join('\n        '))
    .replace('@WORKER_CONNECTIONS@', String(options.workerConnections ?? 4096))
    .replace('@BALANCER@', options.balancer ?? '')
    .replace('@LOCATION@', options.location ?? '');
  writeFileSync(join(prefix, 'conf/nginx.conf'), conf);
  const nginx = spawn(
    'nginx',
    ['-p', `${prefix}/`, '-c', 'conf/nginx.conf', '-e', join(prefix, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const stack: Stack = { port: options.port, children: [nginx, ...apps], members: [] };
  await waitForHttp(options.port, stack.children, 'nginx').catch(async (error: unknown) => {
    await stopStack(stack);
    throw error;
  });
  const workers = childPids(nginx.pid!);
  if (workers.length !== 1) throw new Error(`expected one nginx worker, found ${workers.length}`);
  const appRole = options.processes === 1 ? 'node' : `node ×${options.processes}`;
  stack.members = [
    { role: 'nginx', pid: workers[0] },
    ...apps.map((app) => ({ role: appRole, pid: app.pid! })),
  ];
  return stack;
}

export function stopStack(stack: Stack): Promise<void> {
  return stopChildren(stack.children);
}
