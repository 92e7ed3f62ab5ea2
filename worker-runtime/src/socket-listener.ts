import { unlinkSync, statSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { WorkerError } from './errors.js';
import type { ListenTarget } from './worker-config.js';

/** The socket path of one worker process in a socket directory (SPEC §16). */
export function socketPathFor(dir: string, name: string, pid: number): string {
  return join(dir, `${name}.${pid}.sock`);
}

/** The temporary bind name: same directory, not ending in `.sock`, so no proxy picks it up early. */
function tempPathFor(finalPath: string, pid: number): string {
  return `${finalPath}.${pid}.tmp`;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/**
 * Is anything listening on this Unix socket? `dead` when connecting is refused or the file is
 * gone (SPEC §16: safe to remove), `live` when a process accepts, `unknown` otherwise.
 */
export function probeSocket(path: string, timeoutMs = 1000): Promise<'live' | 'dead' | 'unknown'> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('unknown');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('live');
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      const code = errorCode(error);
      resolve(code === 'ECONNREFUSED' || code === 'ENOENT' ? 'dead' : 'unknown');
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Removes sockets of dead processes with the same name (SPEC §16): `<name>.<pid>.sock` where
 * connecting is refused, and temporary bind files of pids that no longer exist. Returns the paths removed.
 */
export async function removeStaleSockets(dir: string, name: string, ownPid: number): Promise<string[]> {
  const pattern = new RegExp(`^${name.replace(/[-]/g, '\\-')}\\.(\\d+)\\.sock(?:\\.(\\d+)\\.tmp)?$`);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const match = pattern.exec(entry);
    if (match === null) continue;
    const path = join(dir, entry);
    if (match[2] !== undefined) {
      const binder = Number(match[2]);
      if (binder === ownPid || pidAlive(binder)) continue;
    } else {
      if (Number(match[1]) === ownPid) continue;
      if ((await probeSocket(path)) !== 'dead') continue;
    }
    try {
      await unlink(path);
      removed.push(path);
    } catch {
      // someone else removed it first
    }
  }
  return removed;
}

/** Makes `path` free for us: a stale socket is removed, a live one is an error. */
async function claimPath(path: string): Promise<void> {
  try {
    await stat(path);
  } catch {
    return;
  }
  const state = await probeSocket(path);
  if (state !== 'dead') {
    throw new WorkerError(
      'SOCKET_IN_USE',
      `${path} is in use by another process (connecting to it ${state === 'live' ? 'succeeded' : 'did not fail cleanly'}); ` +
        'stop that process, or choose another --name or --socket',
    );
  }
  await unlink(path).catch(() => undefined);
}

export interface ListenOptions {
  /** SPEC §16 label, for the socket-dir file name. */
  name: string;
  logger: Logger;
  onConnection(socket: Socket): void;
  /** Defaults to process.pid. */
  pid?: number;
}

/**
 * Where a worker process accepts proxy connections. Unix sockets follow SPEC §16: bind to a
 * temporary name, chmod 0660, rename into place once the app is loaded (which is when the
 * caller listens); on close, the socket file goes first, so no proxy connects to a draining process.
 */
export class SocketListener {
  /** `unix:/path` or `tcp://host:port`. */
  readonly address: string;
  /** The socket file, or null on TCP. */
  readonly path: string | null;
  #server: Server;
  #inode: number;
  #closed = false;

  private constructor(server: Server, address: string, path: string | null, inode: number) {
    this.#server = server;
    this.address = address;
    this.path = path;
    this.#inode = inode;
  }

  static async listen(target: ListenTarget, options: ListenOptions): Promise<SocketListener> {
    const pid = options.pid ?? process.pid;
    const server = createServer({ noDelay: true }, options.onConnection);
    if (target.kind === 'tcp') {
      await listenOn(server, { host: target.host, port: target.port });
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : target.port;
      const host = target.host.includes(':') ? `[${target.host}]` : target.host;
      return new SocketListener(server, `tcp://${host}:${port}`, null, 0);
    }
    let finalPath: string;
    if (target.kind === 'socket-dir') {
      await prepareDirectory(target.dir, options.logger);
      const removed = await removeStaleSockets(target.dir, options.name, pid);
      for (const path of removed) {
        options.logger.info({ event: 'stale-socket-removed', path }, 'removed the socket of a dead process');
      }
      finalPath = socketPathFor(target.dir, options.name, pid);
    } else finalPath = target.path;
    await claimPath(finalPath);
    const tempPath = tempPathFor(finalPath, pid);
    await unlink(tempPath).catch(() => undefined);
    try {
      await listenOn(server, { path: tempPath });
      await chmod(tempPath, 0o660);
      await rename(tempPath, finalPath);
    } catch (error) {
      server.close();
      await unlink(tempPath).catch(() => undefined);
      throw new WorkerError(
        'SOCKET_DIR_UNUSABLE',
        `cannot listen on ${finalPath}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const inode = (await stat(finalPath)).ino;
    return new SocketListener(server, `unix:${finalPath}`, finalPath, inode);
  }

  /** Stops accepting; removes the socket file first (SPEC §11, §16). Open connections stay. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.removeSocketFile();
    this.#server.close();
  }

  /** Removes the socket file if it is still ours (synchronous: usable on process exit). */
  removeSocketFile(): void {
    const path = this.path;
    if (path === null) return;
    try {
      if (statSync(path).ino === this.#inode) unlinkSync(path);
    } catch {
      // already gone
    }
  }
}

function listenOn(server: Server, options: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function prepareDirectory(dir: string, logger: Logger): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o770 });
    const mode = (await stat(dir)).mode;
    if ((mode & 0o002) !== 0) {
      logger.warn(
        { event: 'socket-dir-world-writable', dir },
        'the socket directory is world-writable; SPEC §16 says it never should be',
      );
    }
  } catch (error) {
    throw new WorkerError(
      'SOCKET_DIR_UNUSABLE',
      `cannot use the socket directory ${dir}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
