import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BodySpool, type SpoolSink } from '../../../proxy/src/dispatch/body-spool.js';
import { tempDir } from '../../integration/proxy/helpers/test-proxy.js';

class Sink implements SpoolSink {
  readable = 0;
  drains = 0;
  errors: Error[] = [];
  #wake: (() => void) | null = null;

  onSpoolReadable(): void {
    this.readable++;
    this.#wake?.();
  }

  onSpoolDrain(): void {
    this.drains++;
  }

  onSpoolError(error: Error): void {
    this.errors.push(error);
    this.#wake?.();
  }

  next(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }
}

/** Reads everything, waiting for onSpoolReadable when the spool has nothing at hand. */
async function readAll(spool: BodySpool, sink: Sink, max = 10_000): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < 100_000; i++) {
    const chunk = spool.read(max);
    if (chunk !== null) {
      parts.push(Buffer.from(chunk));
      continue;
    }
    if (spool.drained) return Buffer.concat(parts);
    await sink.next();
  }
  throw new Error('readAll did not finish');
}

function bytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 7) & 0xff;
  return out;
}

describe('BodySpool', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('keeps a small body in memory and copies what it is given', async () => {
    const sink = new Sink();
    const spool = new BodySpool({ memoryBytes: 1024, tempDir: dir.path, retain: false }, sink);
    const chunk = Buffer.from('hello');
    spool.write(chunk);
    chunk.fill(0); // the caller may reuse its buffer
    spool.end();
    expect(spool.spilled).toBe(false);
    expect((await readAll(spool, sink)).toString()).toBe('hello');
    expect(spool.drained).toBe(true);
  });

  it('spills to a temporary file past the memory limit, and reads back in order', async () => {
    const sink = new Sink();
    const spool = new BodySpool({ memoryBytes: 4096, tempDir: dir.path, retain: false }, sink);
    const parts = Array.from({ length: 50 }, (_, i) => bytes(i, 1000 + i));
    for (const part of parts) spool.write(part);
    spool.end();
    expect(spool.spilled).toBe(true);
    expect((await readAll(spool, sink, 777)).equals(Buffer.concat(parts))).toBe(true);
    spool.close();
    expect(readdirSync(dir.path)).toEqual([]); // the file was unlinked at once
  });

  it('interleaves writes and reads (a response drained while the worker still sends)', async () => {
    const sink = new Sink();
    const spool = new BodySpool({ memoryBytes: 2048, tempDir: dir.path, retain: false }, sink);
    const written: Buffer[] = [];
    const reading = readAll(spool, sink, 1500);
    for (let i = 0; i < 200; i++) {
      const part = bytes(i * 3, 100 + (i % 17) * 50);
      written.push(part);
      spool.write(part);
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    spool.end();
    expect((await reading).equals(Buffer.concat(written))).toBe(true);
    expect(sink.errors).toEqual([]);
  });

  it('rewinds a retained body (a retried request sends it again)', async () => {
    const sink = new Sink();
    const spool = new BodySpool({ memoryBytes: 1000, tempDir: dir.path, retain: true }, sink);
    const body = bytes(5, 20_000);
    for (let offset = 0; offset < body.length; offset += 3000)
      spool.write(body.subarray(offset, offset + 3000));
    spool.end();
    const first = await readAll(spool, sink, 4096);
    spool.rewind();
    const second = await readAll(spool, sink, 999);
    expect(first.equals(body)).toBe(true);
    expect(second.equals(body)).toBe(true);
    spool.close();
  });

  it('asks the producer to pause while file writes pile up, then to resume', async () => {
    const sink = new Sink();
    const spool = new BodySpool({ memoryBytes: 0, tempDir: dir.path, retain: false }, sink);
    let paused = false;
    for (let i = 0; i < 40 && !paused; i++) paused = !spool.write(Buffer.alloc(64 * 1024, i));
    expect(paused).toBe(true);
    for (let i = 0; i < 500 && sink.drains === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(sink.drains).toBe(1);
    spool.close();
  });

  it('reports a temporary directory it cannot use', async () => {
    const sink = new Sink();
    const spool = new BodySpool({ memoryBytes: 10, tempDir: `${dir.path}/missing/dir`, retain: false }, sink);
    spool.write(Buffer.alloc(100));
    for (let i = 0; i < 200 && sink.errors.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(sink.errors[0]?.message).toMatch(/ENOENT/);
  });
});
