/**
 * Out of file descriptors: the real proxy runs with `ulimit -n 256` and a flood of 400 client
 * connections takes them all. It must not crash, must keep its workers (a socket-directory rescan
 * that fails with EMFILE is not a directory that went away), and must serve again once the flood
 * is over.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { writeConfig } from '../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../integration/worker/support/temp-dir.js';
import { WorkerHarness } from '../integration/worker/support/worker-harness.js';
import { RECORDING_APP } from './hostile-stack.js';

const PROXY_MAIN = fileURLToPath(new URL('../../proxy/dist/main.js', import.meta.url));

describe('file descriptors run out', () => {
  const dir = freshTempDir('fd-exhaustion');
  let worker: WorkerHarness | null = null;
  let proxy: ChildProcess | null = null;
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    if (proxy !== null && proxy.exitCode === null) {
      proxy.kill('SIGKILL');
      await new Promise((resolve) => proxy!.once('exit', resolve));
    }
    await worker?.stop();
    dir.remove();
  });

  it('a connection flood past ulimit -n: the proxy stays up, keeps its workers, and serves after', async () => {
    const socketDir = join(dir.path, 'run');
    mkdirSync(socketDir);
    worker = await WorkerHarness.start([RECORDING_APP, '--socket-dir', socketDir, '--processes', '1']);
    const config = writeConfig(dir.path, {
      upstreams: { app: { socketDir } },
      upstream: { socketRescanMs: 100 },
      admin: false,
      log: { level: 'info', access: false },
    });
    const lines: Array<Record<string, unknown>> = [];
    let pending = '';
    proxy = spawn(
      'bash',
      [
        '-c',
        `ulimit -n 256 && exec "$0" "$@"`,
        process.execPath,
        PROXY_MAIN,
        '--config',
        config,
        '--log-format',
        'json',
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    proxy.stdout!.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          lines.push({ msg: line });
        }
      }
    });
    await waitFor(
      () => lines.some((line) => line.msg === 'worker joined'),
      15_000,
      () => 'the worker joining',
    );
    const port = Number(
      String(lines.find((line) => line.msg === 'gatewire proxy listening')!.address)
        .split(':')
        .pop(),
    );

    for (let i = 0; i < 400; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.on('connect', () => socket.write('GET /sleep?ms=3000 HTTP/1.1\r\nHost: flood.test\r\n\r\n'));
      sockets.push(socket);
    }
    // The rescan runs every 100 ms: wait until one has failed for lack of descriptors.
    await waitFor(
      () => lines.some((line) => line.msg === 'socket directory scan failed; keeping the workers it had'),
      10_000,
      () => 'a socket-directory scan failing with EMFILE',
    );
    expect(proxy.exitCode).toBeNull();
    for (const socket of sockets) socket.destroy();

    // The flood's connections close as fast as the kernel reports it; then the proxy answers again.
    const client = new Client(`http://127.0.0.1:${port}`);
    let status = 0;
    try {
      for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
        try {
          const response = await client.request({ path: '/after-flood', method: 'GET' });
          await response.body.text();
          status = response.statusCode;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    } finally {
      await client.close();
    }
    expect(status).toBe(200);
    expect(lines.filter((line) => line.msg === 'worker left')).toEqual([]);
    expect(proxy.exitCode).toBeNull();
  });
});
