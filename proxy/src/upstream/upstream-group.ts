import type { Logger } from 'pino';
import { ProxyError } from '../errors/proxy-error.js';
import { pickLeastLoaded, pickQueueSlot } from './least-loaded.js';
import { WaitQueue, type QueueNode } from './wait-queue.js';
import { addressLabel, type WorkerAddress } from './worker-address.js';
import type { WorkerConnection } from './worker-connection.js';
import {
  WorkerEndpoint,
  type EndpointOwner,
  type WorkerEndpointOptions,
  type WorkerStatus,
} from './worker-endpoint.js';

/** A request waiting for a worker slot. The group links it into its queue (no allocation). */
export interface UpstreamWaiter extends QueueNode {
  /** Only workers that negotiated `upgrade` will do. */
  readonly needsUpgrade: boolean;
  /** Timer of the wait, owned by the group. */
  queueTimer: NodeJS.Timeout | null;
  /** A worker to pass over if any other can take the request (a retry's previous worker). */
  avoid: WorkerEndpoint | null;
  /** A worker has a free slot for you: open your stream on `connection` now (synchronously). */
  onWorkerAssigned(endpoint: WorkerEndpoint, connection: WorkerConnection): void;
  /** The wait ended without a worker (queue timeout, shutdown). */
  onWaitFailed(error: ProxyError): void;
}

export interface UpstreamGroupOptions {
  readonly endpoint: WorkerEndpointOptions;
  /** Requests that may wait for a slot when every worker is full; 0 answers 503 at once. */
  readonly queueLength: number;
  readonly queueTimeoutMs: number;
  /**
   * SPEC §6.4: a worker whose last progress is older than this gets no request in a queue slot,
   * and its queued requests are recalled for a worker with a free run slot.
   */
  readonly queueStallMs: number;
  /** Workers advertising max_streams at or below this count as low-concurrency (buffering auto). */
  readonly bufferingThreshold: number;
  readonly logger: Logger;
}

function queueTimedOut(waiter: UpstreamWaiter): void {
  waiter.queueTimer = null;
  const group = waiterGroups.get(waiter);
  if (group !== undefined) group.expire(waiter);
}

function stealTimerFired(group: UpstreamGroup): void {
  group.stealForFreeRunSlots();
}

/** Which group a queued waiter sits in; a WeakMap so waiters need no back-pointer field. */
const waiterGroups = new WeakMap<UpstreamWaiter, UpstreamGroup>();

/**
 * One upstream: the worker endpoints discovery found for it, the balancer over them, and the wait
 * queue for requests that arrive while every worker is at its max_streams.
 */
export class UpstreamGroup implements EndpointOwner {
  readonly name: string;
  readonly #options: UpstreamGroupOptions;
  readonly #log: Logger;
  readonly #endpoints = new Map<string, WorkerEndpoint>();
  /** The same endpoints as an array, for the balancer's scan. */
  #list: WorkerEndpoint[] = [];
  readonly #queue: WaitQueue<UpstreamWaiter>;
  #closing = false;
  #closedResolve: (() => void) | null = null;
  #drainingQueue = false;
  #lastRevival = -Infinity;
  /** Retired endpoints whose connections are still finishing their streams. */
  readonly #retiredOpen = new Set<WorkerEndpoint>();
  /** Addresses that left and whose place no new address has taken yet (restart counting). */
  #unreplaced = 0;
  /** New addresses that took the place of one that had left: a restarted process on a new socket. */
  #replacements = 0;
  /** Restarts and connect failures counted by endpoints that have since left. */
  #formerRestarts = 0;
  #formerConnectFailures = 0;
  /** Armed while a worker has queued streams that are not stalled yet and another has a free run slot. */
  #stealTimer: NodeJS.Timeout | null = null;

  constructor(name: string, options: UpstreamGroupOptions) {
    this.name = name;
    this.#options = options;
    this.#log = options.logger;
    this.#queue = new WaitQueue(options.queueLength);
  }

  // ---- membership (discovery) ---------------------------------------------------------------------

  get endpoints(): readonly WorkerEndpoint[] {
    return this.#list;
  }

  get queueLength(): number {
    return this.#queue.length;
  }

  /** A point-in-time view of the group, for metrics and the status page. */
  status(): {
    name: string;
    queued: number;
    restarts: number;
    connectFailures: number;
    workers: WorkerStatus[];
  } {
    return {
      name: this.name,
      queued: this.#queue.length,
      restarts: this.restarts,
      connectFailures: this.connectFailures,
      // Workers that left but still finish requests come last (retired: true; "draining").
      workers: [...this.#list, ...this.#retiredOpen].map((endpoint) => endpoint.status()),
    };
  }

  /**
   * Worker processes replaced, ever: a new pid behind an address that had another (a worker
   * restarted on the same socket), plus a new address joining after one had left and before
   * another joined in its place (a worker restarted on a socket named after its pid).
   */
  get restarts(): number {
    let total = this.#replacements + this.#formerRestarts;
    for (const endpoint of this.#list) total += endpoint.restarts;
    return total;
  }

  /** Failed connection attempts to the group's workers, ever. */
  get connectFailures(): number {
    let total = this.#formerConnectFailures;
    for (const endpoint of this.#list) total += endpoint.connectFailures;
    return total;
  }

  get(label: string): WorkerEndpoint | undefined {
    return this.#endpoints.get(label);
  }

  /** Adds a worker address (idempotent) and starts connecting to it. */
  add(address: WorkerAddress): WorkerEndpoint {
    const label = addressLabel(address);
    const existing = this.#endpoints.get(label);
    if (existing !== undefined) return existing;
    const endpoint = new WorkerEndpoint(address, this.#options.endpoint, this);
    if (this.#unreplaced > 0) {
      this.#unreplaced--;
      this.#replacements++;
    }
    this.#endpoints.set(label, endpoint);
    this.#list = [...this.#endpoints.values()];
    this.#log.info({ worker: label }, 'worker joined');
    if (!this.#closing) endpoint.start();
    return endpoint;
  }

  /** Forgets a worker address: no new requests; requests on it finish (SPEC §16). */
  remove(label: string, reason: string): void {
    const endpoint = this.#endpoints.get(label);
    if (endpoint === undefined) return;
    this.#endpoints.delete(label);
    this.#list = [...this.#endpoints.values()];
    this.#unreplaced++;
    this.#formerRestarts += endpoint.restarts;
    this.#formerConnectFailures += endpoint.connectFailures;
    this.#log.info({ worker: label, reason }, 'worker left');
    this.#retiredOpen.add(endpoint);
    endpoint.retire(reason);
    // A waiter that passed over a worker for this one may take that worker now.
    if (this.#queue.length > 0) this.#drainQueue();
  }

  // ---- balancing ----------------------------------------------------------------------------------

  /**
   * Low concurrency (buffering auto): some ready worker runs ≤ the threshold streams at once, or
   * no worker has handshaken yet (assume the cautious case).
   */
  get lowConcurrency(): boolean {
    let known = false;
    for (const endpoint of this.#list) {
      // Run slots, not queue slots, say how many requests a worker serves at once (SPEC §6.4).
      const runSlots = endpoint.runSlots;
      if (runSlots === 0) continue;
      known = true;
      if (runSlots <= this.#options.bufferingThreshold) return true;
    }
    return !known;
  }

  /**
   * Finds a worker slot for `waiter`: assigns it at once (onWorkerAssigned, synchronously) when a
   * worker has room, else queues it. Throws ProxyError when it can be neither (queue full, shutting
   * down, no worker can upgrade).
   */
  acquire(waiter: UpstreamWaiter, avoid: WorkerEndpoint | null): void {
    if (this.#closing) throw new ProxyError('SHUTTING_DOWN');
    waiter.avoid = avoid; // also when it waits: a retry must not land on the same worker from the queue
    let endpoint = this.#pickFor(waiter);
    if (endpoint === null && this.#reviveIfAllEjected()) endpoint = this.#pickFor(waiter);
    if (endpoint !== null && this.#queue.length === 0) {
      waiter.onWorkerAssigned(endpoint, endpoint.connection!);
      return;
    }
    if (endpoint !== null) {
      // Others are waiting already: first come, first served.
      this.#enqueue(waiter);
      this.#drainQueue();
      return;
    }
    if (waiter.needsUpgrade && this.#someReadyWithoutUpgrade()) {
      throw new ProxyError('UPGRADE_NOT_SUPPORTED');
    }
    this.#enqueue(waiter);
  }

  /** The waiter no longer wants a slot (client left). */
  cancel(waiter: UpstreamWaiter): void {
    if (!waiter.queued) return;
    this.#queue.remove(waiter);
    this.#clearWaitTimer(waiter);
  }

  /** Public only for the timer trampoline. */
  expire(waiter: UpstreamWaiter): void {
    if (!waiter.queued) return;
    this.#queue.remove(waiter);
    waiterGroups.delete(waiter);
    const detail = this.#list.some((endpoint) => endpoint.ready)
      ? `every worker stayed busy for ${this.#options.queueTimeoutMs} ms`
      : `no worker was ready within ${this.#options.queueTimeoutMs} ms`;
    waiter.onWaitFailed(
      new ProxyError(this.#list.length === 0 ? 'WORKER_UNAVAILABLE' : 'QUEUE_TIMEOUT', detail),
    );
  }

  #enqueue(waiter: UpstreamWaiter): void {
    if (this.#options.queueLength === 0) {
      throw new ProxyError(
        this.#list.some((endpoint) => endpoint.available || endpoint.ready)
          ? 'QUEUE_FULL'
          : 'WORKER_UNAVAILABLE',
      );
    }
    if (!this.#queue.push(waiter)) throw new ProxyError('QUEUE_FULL');
    waiterGroups.set(waiter, this);
    waiter.queueTimer = setTimeout(queueTimedOut, this.#options.queueTimeoutMs, waiter);
  }

  #clearWaitTimer(waiter: UpstreamWaiter): void {
    waiterGroups.delete(waiter);
    if (waiter.queueTimer !== null) clearTimeout(waiter.queueTimer);
    waiter.queueTimer = null;
  }

  /**
   * When every worker is ejected, ejection would only turn a struggling upstream into a dead one:
   * like nginx, try them again (at most once a second). Returns true when some were revived.
   */
  #reviveIfAllEjected(): boolean {
    const list = this.#list;
    if (list.length === 0) return false;
    for (const endpoint of list) if (!endpoint.ejected) return false;
    const now = performance.now();
    if (now - this.#lastRevival < 1000) return false;
    this.#lastRevival = now;
    this.#log.warn({ workers: list.length }, 'every worker is ejected: trying them again');
    for (const endpoint of list) endpoint.endEjection();
    return true;
  }

  #someReadyWithoutUpgrade(): boolean {
    for (const endpoint of this.#list) if (endpoint.ready && !endpoint.supportsUpgrade) return true;
    return false;
  }

  /**
   * The worker `waiter` should go to now, or null to wait. A retry passes over the worker that
   * refused it while another ready worker exists that can take it once a slot frees (it waits for
   * that one); the same worker is used again only when it is the only one, or when there is no
   * queue to wait in.
   */
  #pickFor(waiter: UpstreamWaiter): WorkerEndpoint | null {
    const avoid = waiter.avoid;
    const endpoint = pickLeastLoaded(this.#list, waiter.needsUpgrade, avoid);
    if (endpoint === null) {
      // No free run slot anywhere: a queue slot of a worker that is making progress (SPEC §6.4).
      return waiter.needsUpgrade ? null : pickQueueSlot(this.#list, avoid, this.#options.queueStallMs);
    }
    if (endpoint !== avoid || this.#options.queueLength === 0) return endpoint;
    for (const other of this.#list) {
      if (other !== avoid && other.ready && !other.ejected && (!waiter.needsUpgrade || other.supportsUpgrade))
        return pickQueueSlot(this.#list, avoid, this.#options.queueStallMs);
    }
    return endpoint;
  }

  /**
   * Hands free slots to queued requests, oldest first; a waiter that no free worker suits (it needs
   * an upgrade-capable one, or avoids the one that refused it) is passed over, not in the way.
   */
  #drainQueue(): void {
    if (this.#drainingQueue) return; // an assignment below freed a slot again: the loop continues
    this.#drainingQueue = true;
    try {
      for (;;) {
        // Nothing free at all: the usual case under load ends here, without a scan of the queue.
        if (
          pickLeastLoaded(this.#list, false, null) === null &&
          pickQueueSlot(this.#list, null, this.#options.queueStallMs) === null
        )
          return;
        let waiter = this.#queue.peek();
        let endpoint: WorkerEndpoint | null = null;
        while (waiter !== null) {
          endpoint = this.#pickFor(waiter);
          if (endpoint !== null) break;
          waiter = waiter.queueNext as UpstreamWaiter | null;
        }
        if (waiter === null || endpoint === null) return;
        this.#queue.remove(waiter);
        this.#clearWaitTimer(waiter);
        waiter.onWorkerAssigned(endpoint, endpoint.connection!);
      }
    } finally {
      this.#drainingQueue = false;
    }
  }

  // ---- EndpointOwner ---------------------------------------------------------------------------------

  onEndpointCapacity(endpoint: WorkerEndpoint): void {
    if (this.#queue.length > 0) this.#drainQueue();
    else if (endpoint.runSlots < endpoint.capacity) this.#steal(endpoint);
  }

  /**
   * Work stealing (SPEC §6.4): `free` has a free run slot and nobody waits in the proxy; a worker
   * that has requests queued behind a stalled one (no progress for queueStallMs) is asked to give
   * back its newest queued request (RECALL), which the refused-stream retry then sends to `free`.
   * A worker whose queue is not stalled yet is looked at again when it would be.
   */
  #steal(free: WorkerEndpoint): void {
    if (!free.available || free.inFlight >= free.runSlots) return;
    const stallMs = this.#options.queueStallMs;
    const now = performance.now();
    let victim: WorkerEndpoint | null = null;
    let victimProgress = now - stallMs;
    let recheckAt = Infinity;
    for (const other of this.#list) {
      if (other === free || other.inFlight <= other.runSlots) continue;
      const progress = other.progressAt;
      if (progress <= victimProgress) {
        victim = other;
        victimProgress = progress;
      } else if (progress + stallMs < recheckAt) recheckAt = progress + stallMs;
    }
    if (victim !== null && victim.recallNewest()) return;
    if (recheckAt !== Infinity && this.#stealTimer === null && !this.#closing) {
      this.#stealTimer = setTimeout(stealTimerFired, Math.max(1, Math.ceil(recheckAt - now)), this);
      this.#stealTimer.unref();
    }
  }

  /** Public only for the timer trampoline: steals for every worker with a free run slot. */
  stealForFreeRunSlots(): void {
    this.#stealTimer = null;
    if (this.#queue.length > 0 || this.#closing) return;
    for (const endpoint of this.#list) if (endpoint.runSlots < endpoint.capacity) this.#steal(endpoint);
  }

  onEndpointClosed(endpoint: WorkerEndpoint): void {
    if (this.#endpoints.get(endpoint.label) === endpoint) {
      this.#endpoints.delete(endpoint.label);
      this.#list = [...this.#endpoints.values()];
    }
    this.#retiredOpen.delete(endpoint);
    this.#checkClosed();
  }

  // ---- shutdown ---------------------------------------------------------------------------------------

  /**
   * Graceful: refuses queued and new requests, sends GOAWAY on every connection (SPEC §11) and
   * resolves when the requests in flight have finished and the connections are closed.
   */
  close(): Promise<void> {
    if (this.#stealTimer !== null) clearTimeout(this.#stealTimer);
    this.#stealTimer = null;
    if (!this.#closing) {
      this.#closing = true;
      for (let waiter = this.#queue.shift(); waiter !== null; waiter = this.#queue.shift()) {
        this.#clearWaitTimer(waiter);
        waiter.onWaitFailed(new ProxyError('SHUTTING_DOWN'));
      }
      for (const endpoint of this.#list) {
        this.#retiredOpen.add(endpoint);
        endpoint.retire('proxy is shutting down');
      }
    }
    return new Promise((resolve) => {
      this.#closedResolve = resolve;
      this.#checkClosed();
    });
  }

  /** Forced: closes every connection now; requests in flight fail. */
  destroy(): void {
    this.#closing = true;
    if (this.#stealTimer !== null) clearTimeout(this.#stealTimer);
    this.#stealTimer = null;
    for (const endpoint of [...this.#list, ...this.#retiredOpen])
      endpoint.destroy('proxy is shutting down now');
  }

  #checkClosed(): void {
    if (!this.#closing || this.#closedResolve === null) return;
    if (this.#retiredOpen.size > 0) return;
    const resolve = this.#closedResolve;
    this.#closedResolve = null;
    resolve();
  }
}
