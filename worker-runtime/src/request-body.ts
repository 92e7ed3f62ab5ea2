import type { HeaderPairs } from '@gatewire/protocol';

/** What the body tells its stream: bytes the app consumed (credit to grant back, SPEC §9). */
export interface BodyOwner {
  consumed(bytes: number): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * The request body of one stream, as it arrives in DATA frames (SPEC §8.2).
 *
 * Chunks are kept as the views the frame decoder hands out (socket chunks are never reused, so no
 * copy is needed). Credit goes back to the proxy only as the app consumes bytes: a slow reader
 * slows its sender, and memory stays within the window we advertised (SPEC §9).
 *
 * Two consumers, whichever the app picks first: a ReadableStream (`stream()`, pulled on demand,
 * highWaterMark 0), or `collect()`, which gathers the whole body without a stream at all (the fast
 * path of `request.text()`/`json()`/`arrayBuffer()`).
 *
 * The object is its own ReadableStream underlying source (start/pull/cancel), so no per-request
 * closures are made.
 */
export class RequestBody {
  #owner: BodyOwner;
  #chunks: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #failed = false;
  #failure: unknown = undefined;
  #disturbed = false;
  #discarding = false;
  #controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  #pullPending = false;
  #stream: ReadableStream<Uint8Array> | null = null;
  #collectResolve: ((body: Buffer) => void) | null = null;
  #collectReject: ((reason: unknown) => void) | null = null;
  /** Request trailers (SPEC §8.3), once received. */
  trailers: HeaderPairs | null = null;
  #trailerWaiters: Array<{
    resolve(headers: HeaderPairs | null): void;
    reject(reason: unknown): void;
  }> | null = null;

  constructor(owner: BodyOwner) {
    this.#owner = owner;
  }

  /** True once a consumer has started reading (`bodyUsed`). */
  get disturbed(): boolean {
    return this.#disturbed;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes received and not yet handed to the app. */
  get queuedBytes(): number {
    return this.#queued;
  }

  // ── producer side (the connection) ──

  /** A piece of DATA arrived. */
  push(chunk: Buffer): void {
    if (this.#ended || this.#failed) return;
    const length = chunk.length;
    if (length === 0) return;
    if (this.#discarding) {
      this.#owner.consumed(length);
      return;
    }
    if (this.#pullPending) {
      this.#pullPending = false;
      this.#controller!.enqueue(chunk);
      this.#owner.consumed(length);
      return;
    }
    this.#chunks.push(chunk);
    this.#queued += length;
    if (this.#collectResolve !== null) this.#owner.consumed(length);
  }

  /** END_STREAM arrived (with trailers if TRAILERS ended the stream). */
  end(trailers: HeaderPairs | null): void {
    if (this.#ended || this.#failed) return;
    this.#ended = true;
    this.trailers = trailers;
    if (this.#trailerWaiters !== null) {
      for (const waiter of this.#trailerWaiters) waiter.resolve(trailers);
      this.#trailerWaiters = null;
    }
    if (this.#pullPending) {
      this.#pullPending = false;
      this.#controller!.close();
    }
    if (this.#collectResolve !== null) this.#finishCollect();
  }

  /** The stream was reset or its connection closed. */
  fail(reason: unknown): void {
    if (this.#failed) return;
    const wasEnded = this.#ended;
    this.#failed = true;
    this.#failure = reason;
    this.#chunks = [];
    this.#queued = 0;
    if (this.#trailerWaiters !== null) {
      for (const waiter of this.#trailerWaiters) waiter.reject(reason);
      this.#trailerWaiters = null;
    }
    if (wasEnded) return; // everything was already delivered or is queued in the ReadableStream
    if (this.#controller !== null) {
      this.#pullPending = false;
      try {
        this.#controller.error(reason);
      } catch {
        // already closed or errored
      }
    }
    if (this.#collectReject !== null) {
      const reject = this.#collectReject;
      this.#collectResolve = null;
      this.#collectReject = null;
      reject(reason);
    }
  }

  // ── consumer side (the app) ──

  /** The body as a ReadableStream (created once, on first use). */
  stream(): ReadableStream<Uint8Array> {
    if (this.#stream === null) {
      this.#stream = new ReadableStream<Uint8Array>(this, { highWaterMark: 0 });
    }
    return this.#stream;
  }

  /** UnderlyingSource.start */
  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller;
    if (this.#failed && !this.#ended) controller.error(this.#failure);
  }

  /** UnderlyingSource.pull: hand over the next chunk, or wait for one. */
  pull(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#disturbed = true;
    if (this.#chunks.length > 0) {
      const chunk = this.#chunks.shift()!;
      this.#queued -= chunk.length;
      controller.enqueue(chunk);
      this.#owner.consumed(chunk.length);
      if (this.#chunks.length === 0 && this.#ended) controller.close();
      return;
    }
    if (this.#ended) {
      controller.close();
      return;
    }
    if (this.#failed) return; // errored in fail()
    this.#pullPending = true;
  }

  /** UnderlyingSource.cancel: the app does not want the rest; keep granting credit so the proxy can finish. */
  cancel(): void {
    this.#disturbed = true;
    this.#discardQueued();
  }

  /** Gathers the whole body (fast path of text()/json()/arrayBuffer(): no ReadableStream). */
  collect(): Promise<Buffer> {
    if (this.#disturbed || this.#stream !== null) {
      return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    }
    this.#disturbed = true;
    if (this.#failed && !this.#ended) return Promise.reject(this.#failure);
    if (this.#ended) return Promise.resolve(this.#takeAll());
    const promise = new Promise<Buffer>((resolve, reject) => {
      this.#collectResolve = resolve;
      this.#collectReject = reject;
    });
    // Everything queued so far is now consumed: grant it back.
    if (this.#queued > 0) this.#owner.consumed(this.#queued);
    return promise;
  }

  /** Drops what is queued and everything still to come (app did not read the body), granting credit. */
  discard(): void {
    this.#discarding = true;
    this.#discardQueued();
  }

  /** Resolves with the trailers when the body ends (null when there were none). */
  trailersPromise(): Promise<HeaderPairs | null> {
    if (this.#ended) return Promise.resolve(this.trailers);
    if (this.#failed) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      (this.#trailerWaiters ??= []).push({ resolve, reject });
    });
  }

  #discardQueued(): void {
    const queued = this.#queued;
    this.#chunks = [];
    this.#queued = 0;
    this.#discarding = true;
    if (queued > 0) this.#owner.consumed(queued);
  }

  #finishCollect(): void {
    const resolve = this.#collectResolve!;
    this.#collectResolve = null;
    this.#collectReject = null;
    resolve(this.#takeAll());
  }

  #takeAll(): Buffer {
    const chunks = this.#chunks;
    const total = this.#queued;
    this.#chunks = [];
    this.#queued = 0;
    if (chunks.length === 0) return EMPTY;
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  }
}
