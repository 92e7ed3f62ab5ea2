import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Who hears from a spool. Methods, not closures: the owner is the per-request object. */
export interface SpoolSink {
  /** Data became readable (a file read or write completed, or the spool ended). */
  onSpoolReadable(): void;
  /** Pending file writes fell below the high-water mark after write() returned false. */
  onSpoolDrain(): void;
  /** The temporary file failed; the spool is unusable. */
  onSpoolError(error: Error): void;
}

export interface SpoolOptions {
  /** Bytes kept in memory before spilling to a temporary file. */
  readonly memoryBytes: number;
  /** Directory for the temporary file (unlinked as soon as it is open). */
  readonly tempDir: string;
  /**
   * Keep everything for rewind() (request bodies, replayed on a retry). Without it, bytes are
   * dropped once read, and the file is reused from offset 0 whenever the reader has caught up.
   */
  readonly retain: boolean;
}

/** File writes in flight or queued above this make write() return false. */
const WRITE_HIGH_WATER = 1 << 20;
/** Largest single read from the file. */
const READ_SIZE = 64 * 1024;

interface MemorySegment {
  readonly file: false;
  readonly chunks: Buffer[];
  /** Bytes in `chunks`. */
  bytes: number;
}

interface FileSegment {
  readonly file: true;
  /** File offset of the segment's first byte. */
  readonly start: number;
  bytes: number;
}

type Segment = MemorySegment | FileSegment;

function onFileOpened(this: BodySpool, handle: FileHandle): void {
  this.fileOpened(handle);
}

/**
 * A body held on the proxy (request and response buffering, nginx's client_body_buffer_size and
 * proxy_buffers + proxy_temp_path): memory up to a limit, then a temporary file, read back in order.
 * Writes and reads may interleave (a response drains to the client while the worker still sends).
 * Memory is bounded by `memoryBytes` plus one read buffer plus the file-write high-water mark.
 */
export class BodySpool {
  readonly #options: SpoolOptions;
  readonly #sink: SpoolSink;
  readonly #segments: Segment[] = [];
  #memoryBytes = 0;
  /** Bytes written by the producer over the spool's life. */
  #written = 0;
  #ended = false;
  #closed = false;
  #failed: Error | null = null;
  // file side
  #file: FileHandle | null = null;
  #opening = false;
  /** Next file offset to append at. */
  #fileEnd = 0;
  /** File bytes below this offset are on disk. */
  #fileDurable = 0;
  readonly #writeQueue: Buffer[] = [];
  #writeQueueBytes = 0;
  #writing = false;
  #producerBlocked = false;
  // read side
  #segmentIndex = 0;
  #chunkIndex = 0;
  #chunkOffset = 0;
  #segmentOffset = 0;
  #reading = false;
  #readGeneration = 0;
  #prefetched: Buffer | null = null;
  #readerWaiting = false;
  /** Bytes handed to the reader since the last rewind. */
  #read = 0;

  constructor(options: SpoolOptions, sink: SpoolSink) {
    this.#options = options;
    this.#sink = sink;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#written;
  }

  /** Bytes written and not yet read. */
  get unread(): number {
    return this.#written - this.#read;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Everything written has been read and the producer ended. */
  get drained(): boolean {
    return this.#ended && this.#read === this.#written;
  }

  /** True once any byte went to the temporary file. */
  get spilled(): boolean {
    return this.#file !== null || this.#opening;
  }

  // ---- producer ---------------------------------------------------------------------------------

  /** Appends a copy of `chunk`. Returns false when the producer should pause until onSpoolDrain. */
  write(chunk: Buffer): boolean {
    if (this.#closed || this.#ended || chunk.length === 0) return !this.#producerBlocked;
    const length = chunk.length;
    const copy = Buffer.allocUnsafe(length);
    chunk.copy(copy);
    this.#written += length;
    const last = this.#segments[this.#segments.length - 1] as Segment | undefined;
    if (this.#memoryBytes + length <= this.#options.memoryBytes) {
      this.#memoryBytes += length;
      if (last !== undefined && !last.file) {
        last.chunks.push(copy);
        last.bytes += length;
      } else this.#segments.push({ file: false, chunks: [copy], bytes: length });
    } else {
      if (last !== undefined && last.file) last.bytes += length;
      else this.#segments.push({ file: true, start: this.#fileEnd, bytes: length });
      this.#fileEnd += length;
      this.#writeQueue.push(copy);
      this.#writeQueueBytes += length;
      this.#pumpWrites();
      if (this.#writeQueueBytes >= WRITE_HIGH_WATER) this.#producerBlocked = true;
    }
    this.#wakeReader();
    return !this.#producerBlocked;
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wakeReader();
  }

  // ---- consumer ---------------------------------------------------------------------------------

  /**
   * Up to `max` bytes in order, or null when nothing is readable right now (then onSpoolReadable
   * follows when something is, or check `drained`). The returned buffer belongs to the caller.
   */
  read(max: number): Buffer | null {
    if (this.#closed || this.#failed !== null) return null;
    for (;;) {
      const segment = this.#segments[this.#segmentIndex] as Segment | undefined;
      if (segment === undefined) {
        this.#readerWaiting = true;
        return null;
      }
      if (!segment.file) {
        if (this.#chunkIndex < segment.chunks.length) {
          const chunk = segment.chunks[this.#chunkIndex];
          const available = chunk.length - this.#chunkOffset;
          const take = Math.min(available, max);
          const out =
            this.#chunkOffset === 0 && take === chunk.length
              ? chunk
              : chunk.subarray(this.#chunkOffset, this.#chunkOffset + take);
          this.#chunkOffset += take;
          this.#segmentOffset += take;
          if (this.#chunkOffset === chunk.length) {
            this.#chunkIndex++;
            this.#chunkOffset = 0;
            if (!this.#options.retain) {
              // Release memory as it is read; compact the array now and then.
              this.#memoryBytes -= chunk.length;
              segment.chunks[this.#chunkIndex - 1] = EMPTY;
              if (this.#chunkIndex >= 64) {
                segment.chunks.splice(0, this.#chunkIndex);
                this.#chunkIndex = 0;
              }
            }
          }
          this.#read += take;
          return out;
        }
        if (this.#segmentIndex === this.#segments.length - 1) {
          // The last segment, read to its end: more may be appended to it.
          this.#readerWaiting = true;
          return null;
        }
        this.#nextSegment();
        continue;
      }
      // file segment
      const prefetched = this.#prefetched;
      if (prefetched !== null) {
        if (prefetched.length <= max) {
          this.#prefetched = null;
          this.#read += prefetched.length;
          return prefetched;
        }
        this.#prefetched = prefetched.subarray(max);
        this.#read += max;
        return prefetched.subarray(0, max);
      }
      if (this.#segmentOffset < segment.bytes) {
        this.#startRead(segment);
        this.#readerWaiting = true;
        return null;
      }
      if (this.#segmentIndex === this.#segments.length - 1) {
        this.#readerWaiting = true;
        return null;
      }
      this.#nextSegment();
    }
  }

  /** Back to the first byte (retain mode only): a retried request sends its body again. */
  rewind(): void {
    if (!this.#options.retain) throw new Error('rewind() needs a retaining spool');
    this.#segmentIndex = 0;
    this.#chunkIndex = 0;
    this.#chunkOffset = 0;
    this.#segmentOffset = 0;
    this.#prefetched = null;
    this.#readGeneration++;
    this.#reading = false;
    this.#read = 0;
  }

  /** Frees memory and closes (and so deletes) the temporary file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#segments.length = 0;
    this.#writeQueue.length = 0;
    this.#prefetched = null;
    this.#readGeneration++;
    const file = this.#file;
    this.#file = null;
    if (file !== null && !this.#writing) file.close().catch(ignore);
  }

  // ---- internals ----------------------------------------------------------------------------------

  #nextSegment(): void {
    const segment = this.#segments[this.#segmentIndex];
    if (!this.#options.retain) {
      this.#segments.shift();
      if (
        segment.file &&
        !this.#segments.some((s) => s.file) &&
        this.#writeQueueBytes === 0 &&
        !this.#writing
      ) {
        // The reader caught up with the file: reuse it from the start.
        this.#fileEnd = 0;
        this.#fileDurable = 0;
      }
    } else this.#segmentIndex++;
    this.#chunkIndex = 0;
    this.#chunkOffset = 0;
    this.#segmentOffset = 0;
  }

  #wakeReader(): void {
    if (!this.#readerWaiting) return;
    this.#readerWaiting = false;
    this.#sink.onSpoolReadable();
  }

  #pumpWrites(): void {
    if (this.#writing || this.#closed || this.#writeQueue.length === 0) return;
    if (this.#file === null) {
      if (this.#opening) return;
      this.#opening = true;
      this.#writing = true;
      openTempFile(this.#options.tempDir).then(onFileOpened.bind(this), (error: Error) => this.#fail(error));
      return;
    }
    this.#writing = true;
    const chunks = this.#writeQueue.splice(0, this.#writeQueue.length);
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    const position = this.#fileDurable;
    this.#file.writev(chunks, position).then(
      () => this.#writeDone(bytes),
      (error: Error) => this.#fail(error),
    );
  }

  /** Public only for the open callback. */
  fileOpened(handle: FileHandle): void {
    this.#writing = false;
    if (this.#closed) {
      handle.close().catch(ignore);
      return;
    }
    this.#file = handle;
    this.#pumpWrites();
  }

  #writeDone(bytes: number): void {
    this.#writing = false;
    this.#writeQueueBytes -= bytes;
    this.#fileDurable += bytes;
    if (this.#closed) {
      this.#file?.close().catch(ignore);
      return;
    }
    if (this.#producerBlocked && this.#writeQueueBytes < WRITE_HIGH_WATER / 2) {
      this.#producerBlocked = false;
      this.#sink.onSpoolDrain();
    }
    this.#pumpWrites();
    this.#wakeReader();
  }

  #startRead(segment: FileSegment): void {
    if (this.#reading || this.#file === null) return;
    const position = segment.start + this.#segmentOffset;
    const available = Math.min(segment.bytes - this.#segmentOffset, this.#fileDurable - position);
    if (available <= 0) return; // not on disk yet: the write completion wakes the reader
    const length = Math.min(available, READ_SIZE);
    this.#reading = true;
    const generation = this.#readGeneration;
    const buffer = Buffer.allocUnsafe(length);
    this.#file.read(buffer, 0, length, position).then(
      ({ bytesRead }) => this.#readDone(generation, buffer, bytesRead),
      (error: Error) => this.#fail(error),
    );
  }

  #readDone(generation: number, buffer: Buffer, bytesRead: number): void {
    if (generation !== this.#readGeneration || this.#closed) return;
    this.#reading = false;
    if (bytesRead === 0) {
      this.#fail(new Error('temporary file ended early'));
      return;
    }
    this.#prefetched = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    this.#segmentOffset += bytesRead;
    this.#readerWaiting = false;
    this.#sink.onSpoolReadable();
  }

  #fail(error: Error): void {
    this.#writing = false;
    this.#reading = false;
    if (this.#closed || this.#failed !== null) return;
    this.#failed = error;
    this.#sink.onSpoolError(error);
  }
}

const EMPTY = Buffer.alloc(0);

function ignore(): void {}

/** Opens a fresh temporary file and unlinks it at once: nothing is left behind, even after a crash. */
async function openTempFile(dir: string): Promise<FileHandle> {
  const path = join(dir, `gatewire-body-${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
  const handle = await open(path, 'wx+', 0o600);
  await unlink(path);
  return handle;
}
