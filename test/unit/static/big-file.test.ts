import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticFiles } from '../../../proxy/src/static/static-files.js';
import { CHUNK_SIZE } from '../../../proxy/src/static/static-request.js';
import { RecordingExchange } from './recording-exchange.js';

/**
 * A sparse file larger than 4 GiB: sizes and offsets past 32 bits, and a body far larger than the
 * memory a request may hold. Sparse, so it costs no disk; the holes read as zeros. (Streaming all
 * of it takes ~15 s on tmpfs, most of it the kernel filling page cache for the holes.)
 */
const SIZE = 4 * 1024 ** 3 + 1024 ** 2 + 17;
const MARKER = Buffer.from('<<end of the 4 GiB file>>');
const MIDDLE = 4 * 1024 ** 3 + 5;
const MIDDLE_MARKER = Buffer.from('past 4 GiB');

let dir: string;
let files: StaticFiles;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatewire-static-big-'));
  const handle = await open(join(dir, 'big.iso'), 'w');
  await handle.truncate(SIZE);
  await handle.write(MIDDLE_MARKER, 0, MIDDLE_MARKER.length, MIDDLE);
  await handle.write(MARKER, 0, MARKER.length, SIZE - MARKER.length);
  await handle.close();
  files = new StaticFiles({ root: dir });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StaticFiles: a sparse file over 4 GiB', () => {
  it('announces its full length on HEAD', async () => {
    const exchange = new RecordingExchange({ method: 'HEAD', path: '/big.iso' });
    files.handle(exchange, 'big.iso');
    await exchange.finished;
    expect(exchange.header('content-length')).toBe(String(SIZE));
    expect(exchange.header('content-type')).toBe('application/octet-stream');
  });

  it('serves a range past 4 GiB', async () => {
    const exchange = new RecordingExchange({
      path: '/big.iso',
      headers: [['range', `bytes=${MIDDLE}-${MIDDLE + MIDDLE_MARKER.length - 1}`]],
    });
    files.handle(exchange, 'big.iso');
    await exchange.finished;
    expect(exchange.status).toBe(206);
    expect(exchange.header('content-range')).toBe(
      `bytes ${MIDDLE}-${MIDDLE + MIDDLE_MARKER.length - 1}/${SIZE}`,
    );
    expect(exchange.body().equals(MIDDLE_MARKER)).toBe(true);

    const suffix = new RecordingExchange({
      path: '/big.iso',
      headers: [['range', `bytes=-${MARKER.length}`]],
    });
    files.handle(suffix, 'big.iso');
    await suffix.finished;
    expect(suffix.header('content-range')).toBe(`bytes ${SIZE - MARKER.length}-${SIZE - 1}/${SIZE}`);
    expect(suffix.body().equals(MARKER)).toBe(true);
  });

  it('streams all of it with bounded memory', { timeout: 120_000 }, async () => {
    const highWaterMark = 256 * 1024;
    const exchange = new RecordingExchange({ path: '/big.iso', highWaterMark, keepBody: false });
    const heapBefore = process.memoryUsage().rss;
    let peakRss = heapBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    files.handle(exchange, 'big.iso');
    await exchange.finished;
    clearInterval(sampler);
    expect(exchange.violations).toEqual([]);
    expect(exchange.status).toBe(200);
    expect(exchange.header('content-length')).toBe(String(SIZE));
    expect(exchange.bodyBytes).toBe(SIZE);
    expect(exchange.tail.subarray(-MARKER.length).equals(MARKER)).toBe(true);
    expect(exchange.ended).toBe(true);
    expect(exchange.maxBuffered).toBeLessThanOrEqual(highWaterMark + CHUNK_SIZE);
    // The body is 4 GiB; the process must not have grown by more than a sliver of that. Generous,
    // because garbage collection reclaims the chunks lazily.
    expect(peakRss - heapBefore).toBeLessThan(256 * 1024 ** 2);
  });
});
