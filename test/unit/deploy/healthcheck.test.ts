/**
 * deploy/healthcheck.mjs (Node images) and deploy/healthcheck.py (Python image) say "unhealthy" when
 * they should: a socket directory with no socket of this container, only stale sockets, a socket
 * that answers something other than gatewire, an HTTP front that does not answer. (The healthy
 * cases run inside the containers of test/e2e/topology.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO, requireCommand } from './support/tools.js';

const label = hostname()
  .replace(/[^A-Za-z0-9_-]+/g, '-')
  .replace(/^-+|-+$/g, '')
  .slice(0, 24);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const checks = {
  'healthcheck.mjs': (args: string[], env?: Record<string, string>) =>
    run(process.execPath, [join(REPO, 'deploy/healthcheck.mjs'), ...args], env),
  'healthcheck.py': (args: string[], env?: Record<string, string>) =>
    run(requireCommand('python3'), [join(REPO, 'deploy/healthcheck.py'), ...args], env),
};

/** A Unix socket left behind by a process that died (its file stays, connecting is refused). */
function staleSocket(path: string): void {
  const result = spawnSync(requireCommand('python3'), [
    '-c',
    'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])',
    path,
  ]);
  expect(result.status).toBe(0);
}

let dir: string;
const servers: Array<Server | HttpServer> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatewire-healthcheck-'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

function listen<T extends Server | HttpServer>(server: T, where: string | number): Promise<T> {
  servers.push(server);
  return new Promise((resolve) => server.listen(where as never, '127.0.0.1', () => resolve(server)));
}

function listenPath<T extends Server>(server: T, path: string): Promise<T> {
  servers.push(server);
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

describe.each(Object.entries(checks))('%s worker', (_name, check) => {
  it('is unhealthy when the directory has no socket of this container', async () => {
    staleSocket(join(dir, 'app-othercontainer.7.sock'));
    const result = await check(['worker', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`unhealthy: no socket of this container (<name>-${label}.<pid>.sock)`);
  });

  it('is unhealthy when every socket of this container is stale', async () => {
    staleSocket(join(dir, `app-${label}.7.sock`));
    const result = await check(['worker'], { GATEWIRE_SOCKET_DIR: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is stale');
  });

  it('is unhealthy when a socket of this container answers something other than gatewire', async () => {
    staleSocket(join(dir, `app-${label}.7.sock`));
    const path = join(dir, `app-${label}.8.sock`);
    await listenPath(
      createServer((socket) => socket.resume().end('HTTP/1.1 400 Bad Request\r\n\r\n')),
      path,
    );
    const result = await check(['worker', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unhealthy: .*(PREFACE|preface|not a gatewire worker)/);
  });

  it('refuses to guess a target', async () => {
    const result = await check(['worker']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('GATEWIRE_HEALTHCHECK_TARGET');
  });
});

describe('healthcheck.mjs http', () => {
  it('is healthy whatever the status: the proxy answered', async () => {
    const server = await listen(
      createHttpServer((_req, res) => {
        res.statusCode = 503;
        res.end('no worker');
      }),
      0,
    );
    const { port } = server.address() as { port: number };
    const result = await checks['healthcheck.mjs'](['http', `http://127.0.0.1:${port}/healthz/`]);
    expect(result).toMatchObject({
      code: 0,
      stdout: `healthy: http://127.0.0.1:${port}/healthz/: HTTP 503\n`,
    });
  });

  it('is unhealthy when nothing listens', async () => {
    const server = await listen(createServer(), 0);
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    servers.pop();
    const result = await checks['healthcheck.mjs'](['http'], {
      GATEWIRE_HEALTHCHECK_URL: `http://127.0.0.1:${port}/`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ECONNREFUSED');
  });
});
