/**
 * Restart counting for a worker restarted onto the same address: the proxy's endpoint for a fixed
 * socket handshakes with a process whose HELLO pid differs from the previous one's, and counts one
 * restart for that worker (gatewire_worker_restarts_total) and its group.
 */
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyProcess, writeConfig } from '../../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../../integration/worker/support/temp-dir.js';
import { WorkerHarness } from '../../integration/worker/support/worker-harness.js';
import { poll, Samples, TS_APP } from './obs-stack.js';

describe('a worker restarted onto the same socket', () => {
  const cleanups: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('counts one restart for that worker and its group', async () => {
    const dir = freshTempDir('obs-restart');
    cleanups.push(() => dir.remove());
    const socket = join(dir.path, 'app.sock');
    const start = async (): Promise<WorkerHarness> => {
      const worker = await WorkerHarness.start([TS_APP, '--socket', socket, '--log-format', 'json']);
      cleanups.push(() => worker.stop());
      return worker;
    };
    const first = await start();
    const proxy = new ProxyProcess(
      writeConfig(dir.path, {
        upstreams: { app: { sockets: [socket] } },
        routes: [{ path: '/obs/', upstream: 'app' }],
        admin: { listen: '127.0.0.1:0' },
        upstream: { reconnectBaseMs: 50, reconnectMaxMs: 200, pingIntervalMs: 300 },
      }),
    );
    cleanups.push(() => proxy.stop());
    const port = await proxy.port();
    await waitFor(
      () => proxy.lines.some((line) => line.msg === 'admin listening'),
      10_000,
      () => 'admin',
    );
    const admin = String(proxy.lines.find((line) => line.msg === 'admin listening')!.address);
    const metrics = async (): Promise<Samples> => {
      const response = await request(`http://${admin}/metrics`);
      return new Samples(await response.body.text());
    };
    const pidServing = async (): Promise<number | null> => {
      try {
        const response = await request(`http://127.0.0.1:${port}/obs/ok`);
        await response.body.arrayBuffer();
        return response.statusCode === 200 ? Number(response.headers['x-pid']) : null;
      } catch {
        return null;
      }
    };

    await poll(async () => (await pidServing()) === first.pid, 10_000, 'the first worker to serve');
    const label = { group: 'app', worker: `unix:${socket}` };
    expect((await metrics()).get('gatewire_worker_restarts_total', label)).toBe(0);

    await first.stop(); // SIGKILL: the socket file stays behind, stale
    const second = await start();
    expect(second.pid).not.toBe(first.pid);
    await poll(async () => (await pidServing()) === second.pid, 15_000, 'the second worker to serve');
    const after = await metrics();
    expect(after.get('gatewire_worker_restarts_total', label)).toBe(1);
    expect(after.get('gatewire_group_restarts_total', { group: 'app' })).toBe(1);
    const info = after.all('gatewire_worker_info', label);
    expect(info.map((sample) => Number(sample.labels.pid))).toEqual([second.pid]);
  });
});
