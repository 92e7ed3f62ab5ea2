import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Discovery } from './discovery.js';
import type { UpstreamGroup } from './upstream-group.js';
import { addressLabel } from './worker-address.js';

export interface SocketDirDiscoveryOptions {
  /** Periodic rescan, a safety net for filesystems where fs.watch misses events. */
  readonly rescanMs: number;
  readonly logger: Logger;
}

/** Events arriving within this window cause one rescan. */
const WATCH_DEBOUNCE_MS = 20;

function rescan(discovery: SocketDirDiscovery): void {
  discovery.scan();
}

/**
 * Watches a socket directory (SPEC §16): every `*.sock` socket in it is a worker. A new socket is
 * connected within the debounce (fs.watch) or the rescan interval at the latest; a vanished one is
 * retired (its requests finish); a replaced one (new inode) is treated as a new worker. Stale sockets
 * whose connect is refused are kept out of rotation by the endpoint itself.
 */
export class SocketDirDiscovery implements Discovery {
  readonly dir: string;
  readonly #group: UpstreamGroup;
  readonly #options: SocketDirDiscoveryOptions;
  readonly #log: Logger;
  /** path → inode of the sockets this discovery added. */
  readonly #known = new Map<string, number>();
  #watcher: FSWatcher | null = null;
  #interval: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #scanning = false;
  #rescanWanted = false;
  #stopped = false;
  #missingLogged = false;
  /** Resolves after the first scan (tests, startup). */
  readonly firstScan: Promise<void>;
  #firstScanDone: (() => void) | null = null;

  constructor(dir: string, group: UpstreamGroup, options: SocketDirDiscoveryOptions) {
    this.dir = dir;
    this.#group = group;
    this.#options = options;
    this.#log = options.logger;
    this.firstScan = new Promise((resolve) => {
      this.#firstScanDone = resolve;
    });
  }

  start(): void {
    this.#stopped = false;
    this.#interval = setInterval(rescan, this.#options.rescanMs, this);
    this.#interval.unref();
    this.scan();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#interval !== null) clearInterval(this.#interval);
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#interval = null;
    this.#debounce = null;
    this.#closeWatcher();
  }

  /** Rescans now (or right after the scan in progress). */
  scan(): void {
    if (this.#stopped) return;
    if (this.#scanning) {
      this.#rescanWanted = true;
      return;
    }
    this.#scanning = true;
    this.#scan().then(
      () => this.#scanDone(),
      (error: unknown) => {
        this.#log.error({ dir: this.dir, err: error }, 'socket directory scan failed');
        this.#scanDone();
      },
    );
  }

  #scanDone(): void {
    this.#scanning = false;
    if (this.#firstScanDone !== null) {
      this.#firstScanDone();
      this.#firstScanDone = null;
    }
    if (this.#rescanWanted) {
      this.#rescanWanted = false;
      this.scan();
    }
  }

  async #scan(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && this.#known.size > 0) {
        // Out of file descriptors (EMFILE under a connection flood) or another transient failure:
        // the directory is still there, and so are its workers. Keep them; the rescan retries.
        this.#log.warn(
          { dir: this.dir, err: (error as Error).message, workers: this.#known.size },
          'socket directory scan failed; keeping the workers it had',
        );
        return;
      }
      if (!this.#missingLogged) {
        this.#missingLogged = true;
        this.#log.warn(
          { dir: this.dir, err: (error as Error).message },
          'socket directory is not readable yet; watching for it',
        );
      }
      this.#closeWatcher();
      this.#forgetAll('socket directory is gone');
      return;
    }
    this.#missingLogged = false;
    if (this.#watcher === null) this.#openWatcher();
    const seen = new Map<string, number>();
    for (const name of names) {
      if (!name.endsWith('.sock')) continue; // SPEC §16: temporary names do not end in .sock
      const path = join(this.dir, name);
      try {
        const stats = await lstat(path);
        if (stats.isSocket()) seen.set(path, stats.ino);
      } catch {
        // vanished between readdir and lstat
      }
    }
    if (this.#stopped) return;
    for (const [path, inode] of this.#known) {
      const now = seen.get(path);
      if (now === undefined) {
        this.#known.delete(path);
        this.#group.remove(addressLabel({ kind: 'unix', path }), 'socket file removed');
      } else if (now !== inode) {
        this.#known.delete(path);
        this.#group.remove(addressLabel({ kind: 'unix', path }), 'socket file replaced');
      }
    }
    for (const [path, inode] of seen) {
      if (this.#known.has(path)) continue;
      this.#known.set(path, inode);
      const endpoint = this.#group.add({ kind: 'unix', path });
      endpoint.fileIdentity = inode;
    }
  }

  #forgetAll(reason: string): void {
    for (const path of this.#known.keys()) this.#group.remove(addressLabel({ kind: 'unix', path }), reason);
    this.#known.clear();
  }

  #openWatcher(): void {
    try {
      const watcher = watch(this.dir, { persistent: false }, () => this.#onWatchEvent());
      watcher.on('error', () => this.#closeWatcher());
      this.#watcher = watcher;
    } catch {
      this.#watcher = null; // the periodic rescan covers it
    }
  }

  #closeWatcher(): void {
    if (this.#watcher !== null) this.#watcher.close();
    this.#watcher = null;
  }

  #onWatchEvent(): void {
    if (this.#debounce !== null || this.#stopped) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      this.scan();
    }, WATCH_DEBOUNCE_MS);
    this.#debounce.unref();
  }
}
