/** A queue entry: the queue links entries through these fields, so enqueueing allocates nothing. */
export interface QueueNode {
  queuePrev: QueueNode | null;
  queueNext: QueueNode | null;
  /** True while the node is in a queue. */
  queued: boolean;
}

/**
 * A bounded FIFO of requests waiting for a worker slot (nginx's `queue`, uWSGI's listen backlog).
 * Intrusive doubly-linked list: O(1) push, shift and removal of any entry (a client that leaves).
 */
export class WaitQueue<T extends QueueNode> {
  readonly capacity: number;
  #head: T | null = null;
  #tail: T | null = null;
  #length = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get length(): number {
    return this.#length;
  }

  get full(): boolean {
    return this.#length >= this.capacity;
  }

  /** Appends; returns false (and leaves the node alone) when the queue is full. */
  push(node: T): boolean {
    if (this.#length >= this.capacity) return false;
    node.queuePrev = this.#tail;
    node.queueNext = null;
    if (this.#tail === null) this.#head = node;
    else this.#tail.queueNext = node;
    this.#tail = node;
    node.queued = true;
    this.#length++;
    return true;
  }

  peek(): T | null {
    return this.#head;
  }

  shift(): T | null {
    const node = this.#head;
    if (node !== null) this.remove(node);
    return node;
  }

  remove(node: T): void {
    if (!node.queued) return;
    const prev = node.queuePrev as T | null;
    const next = node.queueNext as T | null;
    if (prev === null) this.#head = next;
    else prev.queueNext = next;
    if (next === null) this.#tail = prev;
    else next.queuePrev = prev;
    node.queuePrev = null;
    node.queueNext = null;
    node.queued = false;
    this.#length--;
  }

  /** Entries in order (tests, status). */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let node = this.#head; node !== null; node = node.queueNext as T | null) yield node;
  }
}
