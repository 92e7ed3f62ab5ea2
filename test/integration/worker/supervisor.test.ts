/**
 * The supervisor (`--socket-dir`, `--tcp`) with real worker processes: respawn, crash loops,
 * rolling reload with zero failed requests, the timeout kill, graceful stop, scaling, recycling.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@gatewire/protocol';
import { ProtocolClient } from './support/protocol-client.js';
import { SocketDirPool } from './support/socket-dir-pool.js';
import { freshTempDir } from './support/temp-dir.js';
import { sleep, waitFor } from './support/wait.js';
import { FIXTURE_APPS, WorkerHarness, socketsIn, stopAllWorkers } from './support/worker-harness.js';
import { hostLabel } from './support/host-label.js';

const BASIC = join(FIXTURE_APPS, 'basic.ts');
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await stopAllWorkers();
});

function socketDir(): string {
  const dir = freshTempDir('gwd');
  cleanups.push(dir.remove);
  return join(dir.path, 'sockets');
}

async function supervisor(
  extra: string[],
  app = BASIC,
  env: Record<string, string> = {},
): Promise<{ master: WorkerHarness; dir: string }> {
  const dir = socketDir();
  const master = await WorkerHarness.start([app, '--socket-dir', dir, '--log-format', 'json', ...extra], {
    env,
  });
  return { master, dir };
}

async function pidAt(path: string): Promise<number> {
  const client = await ProtocolClient.connect(path);
  try {
    return Number((await client.request({ path: '/pid' }).result()).body.toString());
  } finally {
    client.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('supervisor', () => {
  it('starts N processes, each on <dir>/<name>.<pid>.sock', async () => {
    const { master, dir } = await supervisor(['--processes', '2']);
    const sockets = socketsIn(dir);
    expect(sockets).toHaveLength(2);
    const pids = master.childPids();
    expect(sockets.sort()).toEqual(pids.map((pid) => join(dir, `basic-${hostLabel}.${pid}.sock`)).sort());
    expect(new Set(await Promise.all(sockets.map(pidAt)))).toEqual(new Set(pids));
    expect(master.events('start')[0]).toMatchObject({ processes: 2, role: 'supervisor' });
  });

  it('respawns a process that dies, and removes its socket', async () => {
    const { master, dir } = await supervisor(['--processes', '2']);
    const [first] = socketsIn(dir);
    const victim = await pidAt(first);
    const client = await ProtocolClient.connect(first);
    await client.request({ path: '/crash' }).result();
    client.close();
    const exit = await master.waitForLog(
      (line) => line.event === 'exit' && line.child_pid === victim,
      'the exit line',
    );
    expect(exit).toMatchObject({ code: 7, signal: null, expected: false });
    await master.waitForLog(
      (line) => line.event === 'respawn' && line.after_pid === victim,
      'the respawn line',
    );
    await waitFor(() => socketsIn(dir).length === 2 && !existsSync(first), 'a replacement socket');
    const pids = await Promise.all(socketsIn(dir).map(pidAt));
    expect(pids).not.toContain(victim);
    expect(master.exitStatus).toBeNull();
  });

  it('gives up on a crash loop with a clear message and a non-zero exit', async () => {
    const dir = socketDir();
    const master = await WorkerHarness.start(
      [join(FIXTURE_APPS, 'crash-loop.ts'), '--socket-dir', dir, '--log-format', 'json'],
      {
        waitFor: null,
      },
    );
    const { code } = await master.exited;
    expect(code).not.toBe(0);
    const line = master.events('crash-loop')[0];
    expect(String(line.detail)).toMatch(/crash loop: worker processes died 5 times in a row .*exit code 9/);
    expect(master.events('respawn').map((entry) => entry.delay_ms)).toEqual([100, 200, 400, 800]);
  }, 60_000);

  it('exits non-zero at once when the app cannot load', async () => {
    const dir = socketDir();
    const master = await WorkerHarness.start(
      [join(FIXTURE_APPS, 'no-fetch.ts'), '--socket-dir', dir, '--log-format', 'json'],
      {
        waitFor: null,
      },
    );
    const { code } = await master.exited;
    expect(code).toBe(1);
    expect(String(master.events('start-failed').find((line) => line.role === 'supervisor')?.detail)).toMatch(
      /could not start: .*no fetch method/,
    );
    expect(master.events('respawn')).toHaveLength(0);
  });

  it('reloads on SIGHUP under a steady request loop with zero failed requests', async () => {
    const { master, dir } = await supervisor(['--processes', '2']);
    const before = new Set(master.childPids());
    const pool = new SocketDirPool(dir);
    cleanups.push(() => pool.close());
    const servedBy = new Set<number>();
    let completed = 0;
    let running = true;
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        const result = await pool.request({ path: '/slow', query: 'ms=20' });
        if (result?.status === 200) completed++;
        const pid = await pool.request({ path: '/pid' });
        if (pid?.status === 200) servedBy.add(Number(pid.body.toString()));
      }
    });
    await waitFor(() => completed > 50, 'traffic before the reload');
    master.signal('SIGHUP');
    await master.waitForLog(
      (line) => line.event === 'reload' && line.phase === 'done',
      'the reload to finish',
    );
    for (const pid of before) await waitFor(() => !alive(pid), `old worker ${pid} to exit`);
    const atReload = completed;
    await waitFor(() => completed > atReload + 50, 'traffic after the reload');
    running = false;
    await Promise.all(loops);
    expect(pool.failures).toEqual([]);
    const after = socketsIn(dir).map((path) => Number(/\.(\d+)\.sock$/.exec(path)![1]));
    expect(after).toHaveLength(2);
    for (const pid of after) expect(before.has(pid)).toBe(false);
    expect([...servedBy].some((pid) => before.has(pid))).toBe(true);
    expect([...servedBy].some((pid) => after.includes(pid))).toBe(true);
    for (const pid of before) {
      await master.waitForLog(
        (line) => line.event === 'exit' && line.child_pid === pid,
        `the exit line of ${pid}`,
      );
    }
    expect(
      master
        .events('exit')
        .filter((line) => line.role === 'supervisor')
        .every((line) => line.expected === true && line.code === 0),
    ).toBe(true);
  }, 60_000);

  it('kills and replaces a process stuck past --timeout; the proxy sees its streams fail', async () => {
    const { master, dir } = await supervisor(['--processes', '1', '--timeout', '1']);
    const [path] = socketsIn(dir);
    const victim = await pidAt(path);
    const client = await ProtocolClient.connect(path);
    const stuck = await client.request({ path: '/block', query: 'ms=60000' }).result();
    expect(stuck.reset?.code).toBe(-1); // connection closed: the process was killed
    expect(stuck.status).toBe(0);
    const kill = await master.waitForEvent('kill');
    expect(kill).toMatchObject({ reason: 'timeout', child_pid: victim });
    await waitFor(() => socketsIn(dir).length === 1 && !existsSync(path), 'the replacement');
    const replacement = await pidAt(socketsIn(dir)[0]);
    expect(replacement).not.toBe(victim);
    // A request that waits without blocking the loop gets RESET TIMEOUT, and the process lives on.
    const next = await ProtocolClient.connect(socketsIn(dir)[0]);
    cleanups.push(() => next.close());
    const hung = await next.request({ path: '/hang' }).result();
    expect(hung.reset?.code).toBe(ErrorCode.TIMEOUT);
    expect((await next.request({ path: '/pid' }).result()).body.toString()).toBe(String(replacement));
  }, 60_000);

  it('stops gracefully on SIGTERM: in-flight requests finish, sockets go, exit 0', async () => {
    const { master, dir } = await supervisor(['--processes', '2']);
    const [path] = socketsIn(dir);
    const client = await ProtocolClient.connect(path);
    cleanups.push(() => client.close());
    const slow = client.request({ path: '/slow', query: 'ms=700' });
    await sleep(100);
    master.signal('SIGTERM');
    expect((await slow.result()).body.toString()).toBe('slept 700');
    expect(await master.exited).toEqual({ code: 0, signal: null });
    expect(socketsIn(dir)).toEqual([]);
    for (const pid of master.childPids()) expect(alive(pid)).toBe(false);
    expect(master.events('stopped')).toHaveLength(1);
  });

  it('kills workers that do not drain within --grace', async () => {
    const { master, dir } = await supervisor(['--processes', '1', '--grace', '0.5']);
    const client = await ProtocolClient.connect(socketsIn(dir)[0]);
    cleanups.push(() => client.close());
    const hung = client.request({ path: '/hang' });
    await sleep(100);
    master.signal('SIGTERM');
    expect((await hung.result()).reset).not.toBeNull();
    await master.exited;
    expect(master.lines.some((line) => line.event === 'grace-expired')).toBe(true);
  });

  it('adds a process on SIGTTIN and removes one on SIGTTOU', async () => {
    const { master, dir } = await supervisor(['--processes', '1']);
    master.signal('SIGTTIN');
    await waitFor(() => socketsIn(dir).length === 2, 'a second socket');
    master.signal('SIGTTOU');
    await waitFor(() => socketsIn(dir).length === 1, 'back to one socket');
    await master.waitForLog((line) => line.event === 'scale' && line.processes === 1, 'the scale-down line');
    expect(master.events('scale').map((line) => line.processes)).toEqual([2, 1]);
  });

  it('recycles a process after --max-requests, starting its replacement first', async () => {
    const { master, dir } = await supervisor([
      '--processes',
      '1',
      '--max-requests',
      '20',
      '--max-requests-jitter',
      '0',
    ]);
    const first = master.childPids()[0];
    const pool = new SocketDirPool(dir);
    cleanups.push(() => pool.close());
    for (let i = 0; i < 40; i++) expect((await pool.request({ path: '/hello' }))?.status).toBe(200);
    const recycle = await master.waitForLog(
      (line) => line.event === 'recycle' && line.role === 'supervisor',
      'the recycle',
    );
    expect(recycle).toMatchObject({ child_pid: first, reason: 'max-requests' });
    await waitFor(() => !alive(first), 'the recycled process to exit');
    expect(pool.failures).toEqual([]);
    expect(socketsIn(dir)).toHaveLength(1);
  });

  it('recycles a process above --max-memory', async () => {
    const { master, dir } = await supervisor(
      ['--processes', '1', '--max-memory', '150'],
      join(FIXTURE_APPS, 'memory-hog.ts'),
    );
    const first = master.childPids()[0];
    const client = await ProtocolClient.connect(socketsIn(dir)[0]);
    cleanups.push(() => client.close());
    for (let i = 0; i < 3; i++) await client.request({ path: '/grow' }).result();
    const recycle = await master.waitForLog(
      (line) => line.event === 'recycle' && line.role === 'supervisor',
      'the recycle',
    );
    expect(recycle).toMatchObject({ child_pid: first, reason: 'max-memory' });
    await waitFor(() => !alive(first), 'the recycled process to exit');
  });
});

describe('supervisor on TCP', () => {
  it('hands connections to its processes and requires the shared secret', async () => {
    const master = await WorkerHarness.start(
      [BASIC, '--tcp', 'tcp://127.0.0.1:0', '--processes', '2', '--log-format', 'json'],
      {
        env: { GATEWIRE_SECRET: 'tcp-secret' },
      },
    );
    const address = String(master.events('listening')[0].address);
    const port = Number(/:(\d+)$/.exec(address)![1]);
    const pids = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const client = await ProtocolClient.connect({ host: '127.0.0.1', port }, { secret: 'tcp-secret' });
      pids.add(Number((await client.request({ path: '/pid' }).result()).body.toString()));
      client.close();
    }
    expect(pids).toEqual(new Set(master.childPids()));
    await expect(ProtocolClient.connect({ host: '127.0.0.1', port }, { secret: 'wrong' })).rejects.toThrow(
      /AUTH_FAILED/,
    );
  });
});
