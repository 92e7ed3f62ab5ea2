import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  probeSocket,
  removeStaleSockets,
  SocketListener,
} from '../../../worker-runtime/src/socket-listener.js';
import { freshTempDir } from '../../integration/worker/support/temp-dir.js';
import { waitFor } from '../../integration/worker/support/wait.js';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(): string {
  const dir = freshTempDir('gws');
  cleanups.push(dir.remove);
  return dir.path;
}

/** A socket file left behind by a process that was SIGKILLed (a stale socket). */
async function staleSocket(path: string): Promise<number> {
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('socket directory convention (SPEC §16)', () => {
  it('listens on <dir>/<name>.<pid>.sock with mode 0660 and removes the file on close', async () => {
    const dir = tempDir();
    const listener = await SocketListener.listen(
      { kind: 'socket-dir', dir },
      { name: 'app', logger, onConnection: (s) => s.destroy() },
    );
    const path = join(dir, `app.${process.pid}.sock`);
    expect(listener.address).toBe(`unix:${path}`);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    expect(await probeSocket(path)).toBe('live');
    listener.close();
    expect(existsSync(path)).toBe(false);
  });

  it('removes stale sockets of dead processes with the same name, and nothing else', async () => {
    const dir = tempDir();
    const stalePid = await staleSocket(join(dir, 'app.999999.sock'));
    expect(stalePid).toBeGreaterThan(0);
    const live = createServer().listen(join(dir, 'app.1.sock'));
    cleanups.push(() => live.close());
    await waitFor(() => existsSync(join(dir, 'app.1.sock')), 'the live socket');
    await staleSocket(join(dir, 'other.999998.sock'));
    const removed = await removeStaleSockets(dir, 'app', process.pid);
    expect(removed).toEqual([join(dir, 'app.999999.sock')]);
    expect(existsSync(join(dir, 'app.1.sock'))).toBe(true);
    expect(existsSync(join(dir, 'other.999998.sock'))).toBe(true);
  });

  it('refuses a single socket path another live process listens on, and takes over a stale one', async () => {
    const dir = tempDir();
    const path = join(dir, 'one.sock');
    const live = createServer().listen(path);
    await waitFor(() => existsSync(path), 'the live socket');
    await expect(
      SocketListener.listen({ kind: 'socket', path }, { name: 'x', logger, onConnection: () => undefined }),
    ).rejects.toMatchObject({
      code: 'SOCKET_IN_USE',
    });
    await new Promise((resolve) => live.close(resolve));
    const stale = join(dir, 'two.sock');
    await staleSocket(stale);
    const listener = await SocketListener.listen(
      { kind: 'socket', path: stale },
      { name: 'x', logger, onConnection: (s) => s.destroy() },
    );
    expect(await probeSocket(stale)).toBe('live');
    listener.close();
  });
});
