import { constants, type BigIntStats } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

/**
 * Finds and opens the file a static request names, confined to the root: the file-system half of
 * path safety (safe-path.ts is the lexical half, and has already refused `..`, NUL and dotfiles).
 *
 * Every candidate is resolved with realpath and must stay under the real root, and no component of
 * it below the root may be a dotfile: a symlink inside the root may point elsewhere inside it, but
 * never out of it, nor at `.env` through an innocent name. The real path is then opened with
 * O_NOFOLLOW and O_NONBLOCK, and the type is taken from fstat of that descriptor, so a FIFO never
 * blocks a thread-pool thread and a file swapped for a directory cannot confuse the caller.
 *
 * What remains is the window between realpath and open, in which someone able to write inside the
 * root could swap a parent directory for a symlink; closing it needs openat2(RESOLVE_BENEATH), which
 * Node does not expose. Anyone with write access to the root can already publish any file there.
 */

export type Resolution =
  | {
      readonly kind: 'file';
      /** Open, owned by the caller, who must close it. */
      readonly handle: FileHandle;
      readonly stats: BigIntStats;
      /** The name the Content-Type is taken from: the requested name, or the index file's name. */
      readonly name: string;
    }
  /** A directory asked for without its trailing slash. */
  | { readonly kind: 'directory-without-slash' }
  | Refusal;

/** Why nothing is served: 404 for anything missing or off limits, 403 for EACCES, 500 otherwise. */
export interface Refusal {
  readonly kind: 'refused';
  readonly status: 403 | 404 | 500;
  /** For logs and tests; never sent to the client. */
  readonly reason: string;
}

// O_NOFOLLOW and O_NONBLOCK are POSIX; on Windows they are absent and the realpath check stands alone.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Resolves `segments` (from parseRequestPath) under `root`. `trailingSlash` is whether the request
 * path ended in '/': only then is a directory's index served, and a file is never served with one.
 */
export async function resolveStaticFile(
  root: string,
  segments: readonly string[],
  trailingSlash: boolean,
  indexNames: readonly string[],
): Promise<Resolution> {
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (error) {
    return refusal(error);
  }

  const target = await openConfined(realRoot, join(realRoot, ...segments));
  if (target.kind === 'refused') return target;
  if (target.stats.isFile()) {
    // `/static/app.js/` names a directory that does not exist; a root that is a file is misconfigured.
    if (trailingSlash || segments.length === 0) return closeAndRefuse(target.handle, 404, 'not a directory');
    return { kind: 'file', handle: target.handle, stats: target.stats, name: segments[segments.length - 1] };
  }
  if (!target.stats.isDirectory()) return closeAndRefuse(target.handle, 404, 'not a regular file');
  await closeQuietly(target.handle);
  // As nginx: the slash form is the directory's canonical URL, so its relative links resolve.
  if (!trailingSlash) return { kind: 'directory-without-slash' };

  for (const name of indexNames) {
    const index = await openConfined(realRoot, join(target.real, name));
    if (index.kind === 'refused') {
      if (index.status === 404) continue;
      return index;
    }
    if (index.stats.isFile()) return { kind: 'file', handle: index.handle, stats: index.stats, name };
    await closeQuietly(index.handle);
  }
  // No listings: a directory without an index is not found.
  return { kind: 'refused', status: 404, reason: 'directory without index' };
}

type Opened =
  | {
      readonly kind: 'opened';
      readonly handle: FileHandle;
      readonly stats: BigIntStats;
      readonly real: string;
    }
  | Refusal;

async function openConfined(realRoot: string, candidate: string): Promise<Opened> {
  let real: string;
  try {
    real = await realpath(candidate);
  } catch (error) {
    return refusal(error);
  }
  const below = relative(realRoot, real);
  if (isAbsolute(below)) return { kind: 'refused', status: 404, reason: 'outside the root' };
  if (below !== '') {
    const parts = below.split(sep);
    if (parts[0] === '..') return { kind: 'refused', status: 404, reason: 'outside the root' };
    if (parts.some((part) => part.startsWith('.')))
      return { kind: 'refused', status: 404, reason: 'dotfile' };
  }

  let handle: FileHandle;
  try {
    handle = await open(real, OPEN_FLAGS);
  } catch (error) {
    return refusal(error);
  }
  try {
    return { kind: 'opened', handle, stats: await handle.stat({ bigint: true }), real };
  } catch (error) {
    await closeQuietly(handle);
    return refusal(error);
  }
}

function refusal(error: unknown): Refusal {
  const code = (error as NodeJS.ErrnoException | null)?.code ?? 'unknown error';
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ELOOP':
    case 'ENAMETOOLONG':
    case 'EISDIR':
      return { kind: 'refused', status: 404, reason: code };
    case 'EACCES':
    case 'EPERM':
      return { kind: 'refused', status: 403, reason: code };
    default:
      return { kind: 'refused', status: 500, reason: code };
  }
}

async function closeAndRefuse(handle: FileHandle, status: 404, reason: string): Promise<Resolution> {
  await closeQuietly(handle);
  return { kind: 'refused', status, reason };
}

/** Closes a handle whose close result nobody can act on; a failure must not become an unhandled rejection. */
export async function closeQuietly(handle: FileHandle): Promise<void> {
  try {
    await handle.close();
  } catch {
    // EBADF after a double close, EIO on a network file system: the descriptor is gone either way.
  }
}
