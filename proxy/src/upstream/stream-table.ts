import type { WorkerStream } from './worker-stream.js';

const MIN_RING = 16;
const MAX_RING = 1024;

/**
 * The active streams of one connection, by id. Stream ids strictly increase (SPEC §6.1) and at
 * most max_streams are active (SPEC §6.3), so a ring indexed by the low bits of the id finds
 * nearly every stream with one array load, no hashing and no allocation; a stream whose slot is
 * still held by an older one (a long-lived tunnel, or more active streams than slots) goes to an
 * overflow Map. A Map alone rehashes its table every few dozen insert/delete pairs, measured as
 * ~200 bytes of garbage per proxied request.
 */
export class StreamTable {
  #ring: Array<WorkerStream | null>;
  #mask: number;
  #overflow: Map<number, WorkerStream> | null = null;
  #size = 0;

  constructor(expected = MIN_RING) {
    this.#ring = [];
    this.#mask = 0;
    this.resize(expected);
  }

  /** Sizes the ring for `maxStreams` active streams (twice that, a power of two, 16…1024). Only while empty. */
  resize(maxStreams: number): void {
    if (this.#size !== 0) return;
    let slots = MIN_RING;
    while (slots < maxStreams * 2 && slots < MAX_RING) slots *= 2;
    this.#ring = new Array<WorkerStream | null>(slots).fill(null);
    this.#mask = slots - 1;
  }

  get size(): number {
    return this.#size;
  }

  get(id: number): WorkerStream | undefined {
    const stream = this.#ring[id & this.#mask];
    if (stream !== null && stream.id === id) return stream;
    return this.#overflow === null ? undefined : this.#overflow.get(id);
  }

  add(stream: WorkerStream): void {
    const slot = stream.id & this.#mask;
    if (this.#ring[slot] === null) this.#ring[slot] = stream;
    else (this.#overflow ??= new Map()).set(stream.id, stream);
    this.#size++;
  }

  /** Removes `stream` if it is in the table. */
  delete(stream: WorkerStream): void {
    const slot = stream.id & this.#mask;
    if (this.#ring[slot] === stream) this.#ring[slot] = null;
    else if (this.#overflow === null || !this.#overflow.delete(stream.id)) return;
    this.#size--;
  }

  /** Every stream, in no particular order (GOAWAY, close: not the hot path). */
  toArray(): WorkerStream[] {
    const out: WorkerStream[] = [];
    for (const stream of this.#ring) if (stream !== null) out.push(stream);
    if (this.#overflow !== null) for (const stream of this.#overflow.values()) out.push(stream);
    return out;
  }

  clear(): void {
    this.#ring.fill(null);
    this.#overflow = null;
    this.#size = 0;
  }
}
