import { mkdtemp, rm, writeFile, type FileHandle } from 'node:fs/promises';
import type * as fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StaticFiles } from '../../../proxy/src/static/static-files.js';
import { RecordingExchange } from './recording-exchange.js';

/**
 * File-system failures that a test cannot provoke for real (EACCES as root, EIO, EMFILE), injected
 * into node:fs/promises by file name, to check how each one reaches the client.
 */
const opened: FileHandle[] = [];

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof fsPromises>();
  return {
    ...actual,
    realpath: async (path: string) => {
      if (path.endsWith('no-search-dir/file.txt')) throw errno('EACCES');
      return actual.realpath(path);
    },
    open: async (path: string, flags: number) => {
      if (path.endsWith('locked.txt')) throw errno('EACCES');
      if (path.endsWith('busy.txt')) throw errno('EMFILE');
      const handle = await actual.open(path, flags);
      opened.push(handle);
      if (path.endsWith('bad-disk.bin')) {
        // The first read succeeds, the second fails as a dying disk would.
        let reads = 0;
        const read = handle.read.bind(handle) as (...args: unknown[]) => Promise<unknown>;
        Object.assign(handle, {
          read: (...args: unknown[]) => (++reads === 1 ? read(...args) : Promise.reject(errno('EIO'))),
        });
      }
      if (path.endsWith('unstattable.txt')) {
        Object.assign(handle, { stat: () => Promise.reject(errno('EIO')) });
      }
      return handle;
    },
  };
});

let root: string;
let files: StaticFiles;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gatewire-static-errors-'));
  for (const name of ['locked.txt', 'busy.txt', 'unstattable.txt']) await writeFile(join(root, name), 'x');
  await writeFile(join(root, 'bad-disk.bin'), Buffer.alloc(1024 * 1024, 7));
  files = new StaticFiles({ root });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function serve(relative: string): Promise<RecordingExchange> {
  const exchange = new RecordingExchange({ path: `/static/${relative}` });
  files.handle(exchange, relative);
  await exchange.finished;
  expect(exchange.violations).toEqual([]);
  return exchange;
}

async function allClosed(): Promise<boolean> {
  for (let i = 0; i < 100 && opened.some((handle) => handle.fd !== -1); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return opened.every((handle) => handle.fd === -1);
}

describe('StaticFiles: file-system errors', () => {
  it('answers EACCES on open with 403', async () => {
    expect((await serve('locked.txt')).error).toMatchObject({ status: 403, afterHead: false });
  });

  it('answers EACCES on a directory in the path with 403', async () => {
    expect((await serve('no-search-dir/file.txt')).error).toMatchObject({ status: 403, afterHead: false });
  });

  it('answers any other error before the head with 500', async () => {
    expect((await serve('busy.txt')).error).toMatchObject({ status: 500, afterHead: false });
    expect((await serve('unstattable.txt')).error).toMatchObject({ status: 500, afterHead: false });
    expect(await allClosed()).toBe(true);
  });

  it('cuts the response when a read fails after the head, and closes the file', async () => {
    const exchange = await serve('bad-disk.bin');
    expect(exchange.status).toBe(200);
    expect(exchange.bodyWrites).toBe(1);
    expect(exchange.error).toMatchObject({ status: 500, afterHead: true });
    expect(exchange.ended).toBe(false);
    expect(await allClosed()).toBe(true);
  });

  it('keeps no error message with a file-system path in it', async () => {
    for (const name of ['locked.txt', 'busy.txt', 'bad-disk.bin']) {
      expect((await serve(name)).error?.message).not.toContain(root);
    }
  });
});
