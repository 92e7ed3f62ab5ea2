import { mkdtemp, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileValidators } from '../../../proxy/src/static/file-etag.js';

describe('fileValidators', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatewire-etag-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const now = Date.UTC(2026, 0, 1) / 1000;
  const validatorsOf = async (path: string) => fileValidators(await stat(path, { bigint: true }), now);

  it('gives a strong, quoted tag that is stable while the file is unchanged', async () => {
    const path = join(dir, 'a.txt');
    await writeFile(path, 'hello');
    const first = await validatorsOf(path);
    expect(first.etag).toMatch(/^"[0-9a-f]+-5-[0-9a-f]+"$/);
    expect(await validatorsOf(path)).toEqual(first);
  });

  it('changes the tag with the size and with the mtime', async () => {
    const path = join(dir, 'a.txt');
    await writeFile(path, 'hello');
    await utimes(path, 1_000_000, 1_000_000);
    const before = await validatorsOf(path);
    await utimes(path, 1_000_000, 1_000_000.5);
    const touched = await validatorsOf(path);
    expect(touched.etag).not.toBe(before.etag);
    await writeFile(path, 'hello!');
    await utimes(path, 1_000_000, 1_000_000);
    expect((await validatorsOf(path)).etag).not.toBe(before.etag);
  });

  it('changes the tag when a same-size file with the same mtime replaces it by rename (inode)', async () => {
    const path = join(dir, 'a.txt');
    const next = join(dir, 'a.txt.new');
    await writeFile(path, 'v1 bytes');
    await utimes(path, 1_000_000, 1_000_000);
    const before = await validatorsOf(path);
    await writeFile(next, 'v2 bytes');
    await utimes(next, 1_000_000, 1_000_000);
    await rename(next, path);
    const after = await validatorsOf(path);
    expect(after.lastModified).toBe(before.lastModified);
    expect(after.etag).not.toBe(before.etag);
  });

  it('never dates Last-Modified after now, and calls it strong only a second or more in the past', async () => {
    const path = join(dir, 'a.txt');
    await writeFile(path, 'x');
    await utimes(path, now + 3600, now + 3600);
    expect(await validatorsOf(path)).toMatchObject({ lastModified: now, lastModifiedStrong: false });
    await utimes(path, now + 0.4, now + 0.4);
    expect(await validatorsOf(path)).toMatchObject({ lastModified: now, lastModifiedStrong: false });
    await utimes(path, now - 1, now - 1);
    expect(await validatorsOf(path)).toMatchObject({ lastModified: now - 1, lastModifiedStrong: true });
  });
});
