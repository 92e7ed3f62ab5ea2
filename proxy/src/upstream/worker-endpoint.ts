import { Feature, type Health } from '@gatewire/protocol';
import type { Logger } from 'pino';
import { Backoff } from './backoff.js';
import type { Balanceable } from './least-loaded.js';
import { addressLabel, type WorkerAddress } from './worker-address.js';
import {
  WorkerConnection,
  type ConnectionFailure,
  type ConnectionOwner,
  type WorkerConnectionOptions,
} from './worker-connection.js';

export interface WorkerEndpointOptions extends WorkerConnectionOptions {
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  /** Consecutive failures (connect, handshake, protocol, worker died, upstream timeout) before ejection. */
  readonly maxFails: number;
  /** How long an ejected endpoint is left alone. */
  readonly failTimeoutMs: number;
}

/** A point-in-time view of one worker, for metrics and the status page. */
export interface WorkerStatus {
  readonly worker: string;
  readonly ready: boolean;
  readonly ejected: boolean;
  readonly retired: boolean;
  readonly inFlight: number;
  readonly capacity: number;
  readonly requestsSucceeded: number;
  readonly requestsFailed: number;
  readonly ejections: number;
  /** A different worker process (pid) answered behind this address than the one before. */
  readonly restarts: number;
  /** Connection attempts that failed before the handshake completed (connect, refused, handshake). */
  readonly connectFailures: number;
  /** Round-trip time of the last PING, ms (-1 before the first PONG). */
  readonly pingRttMs: number;
  /** The worker's last HEALTH report (SPEC §12.2) and when it came (ms since the epoch). */
  readonly health: Health | null;
  readonly healthAt: number;
  /** From the worker's HELLO. */
  readonly server: string | null;
  readonly pid: number | null;
  readonly name: string | null;
}

/** The group an endpoint belongs to hears when it can take more work or has gone for good. */
export interface EndpointOwner {
  /** A slot may have opened (a stream ended, a connection became ready, an ejection expired). */
  onEndpointCapacity(endpoint: WorkerEndpoint): void;
  /** A retired endpoint has closed its last connection. */
  onEndpointClosed(endpoint: WorkerEndpoint): void;
}

function reconnectEndpoint(endpoint: WorkerEndpoint): void {
  endpoint.reconnectNow();
}

function ejectionOver(endpoint: WorkerEndpoint): void {
  endpoint.endEjection();
}

/**
 * One worker address: keeps one persistent multiplexed connection to it (plus connections still
 * draining after a GOAWAY), reconnects with backoff, and ejects the worker for failTimeout after
 * maxFails consecutive failures (passive health checking, like nginx's max_fails/fail_timeout).
 */
export class WorkerEndpoint implements ConnectionOwner, Balanceable {
  readonly address: WorkerAddress;
  readonly label: string;
  readonly #options: WorkerEndpointOptions;
  readonly #owner: EndpointOwner;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  #connection: WorkerConnection | null = null;
  readonly #draining = new Set<WorkerConnection>();
  #retryTimer: NodeJS.Timeout | null = null;
  #ejectTimer: NodeJS.Timeout | null = null;
  #consecutiveFailures = 0;
  #ejected = false;
  #retired = false;
  #closedNotified = false;
  /** The socket file's inode when discovered from a directory, to notice a replaced socket. */
  fileIdentity = 0;
  /** Totals for status and metrics. */
  requestsSucceeded = 0;
  requestsFailed = 0;
  ejections = 0;
  /** Handshakes whose HELLO pid differed from the previous handshake's at this address. */
  restarts = 0;
  connectFailures = 0;
  /** The pid of the last worker that completed a handshake here (null before the first). */
  #lastPid: number | null = null;

  constructor(address: WorkerAddress, options: WorkerEndpointOptions, owner: EndpointOwner) {
    this.address = address;
    this.label = addressLabel(address);
    this.#options = options;
    this.#owner = owner;
    this.#log = options.logger;
    this.#backoff = new Backoff(options.reconnectBaseMs, options.reconnectMaxMs);
  }

  // ---- Balanceable ----------------------------------------------------------------------------

  get available(): boolean {
    const connection = this.#connection;
    return !this.#ejected && !this.#retired && connection !== null && connection.hasCapacity;
  }

  get inFlight(): number {
    return this.#connection?.activeStreams ?? 0;
  }

  get capacity(): number {
    return this.#connection?.maxStreams ?? 0;
  }

  get supportsUpgrade(): boolean {
    return this.#connection?.supports(Feature.UPGRADE) ?? false;
  }

  get runSlots(): number {
    return this.#connection?.runSlots ?? 0;
  }

  get progressAt(): number {
    return this.#connection?.progressAt ?? 0;
  }

  /** SPEC §6.4: asks the worker to give back its newest queued stream; false when there is none. */
  recallNewest(): boolean {
    return this.#connection?.recallNewest() ?? false;
  }

  // ---- state ----------------------------------------------------------------------------------------

  /** The current connection (may still be connecting). */
  get connection(): WorkerConnection | null {
    return this.#connection;
  }

  /** Connected and handshaken, whether or not it has free slots. */
  get ready(): boolean {
    return this.#connection?.ready ?? false;
  }

  get ejected(): boolean {
    return this.#ejected;
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** Streams on every connection, the draining ones included. */
  get totalInFlight(): number {
    let total = this.#connection?.activeStreams ?? 0;
    for (const connection of this.#draining) total += connection.activeStreams;
    return total;
  }

  status(): WorkerStatus {
    const connection = this.#connection;
    const hello = connection?.workerHello ?? null;
    return {
      worker: this.label,
      ready: this.ready,
      ejected: this.#ejected,
      retired: this.#retired,
      inFlight: this.totalInFlight,
      capacity: this.capacity,
      requestsSucceeded: this.requestsSucceeded,
      requestsFailed: this.requestsFailed,
      ejections: this.ejections,
      restarts: this.restarts,
      connectFailures: this.connectFailures,
      pingRttMs: connection?.pingRttMs ?? -1,
      health: connection?.health ?? null,
      healthAt: connection?.healthAt ?? 0,
      server: hello?.server ?? null,
      pid: hello?.pid ?? null,
      name: hello?.name ?? null,
    };
  }

  start(): void {
    if (this.#connection === null && this.#retryTimer === null && !this.#retired) this.#connect();
  }

  /** Connects at once (the socket file was replaced, or a backoff expired). */
  reconnectNow(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    if (this.#retired || this.#connection !== null) return;
    this.#connect();
  }

  /** Forgets the endpoint: no new streams, no reconnects; connections drain, then onEndpointClosed. */
  retire(message: string): void {
    if (this.#retired) return;
    this.#retired = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    if (this.#ejectTimer !== null) clearTimeout(this.#ejectTimer);
    this.#retryTimer = null;
    this.#ejectTimer = null;
    const connection = this.#connection;
    if (connection !== null) {
      this.#connection = null;
      this.#draining.add(connection);
      connection.drain(message);
    }
    this.#maybeClosed();
  }

  /** Closes every connection now (forced shutdown): their requests fail. */
  destroy(message: string): void {
    this.retire(message);
    for (const connection of [...this.#draining]) connection.destroy(message);
  }

  /** A request on this worker completed: the failure streak ends. */
  recordSuccess(): void {
    this.requestsSucceeded++;
    this.#consecutiveFailures = 0;
  }

  /** A request failed because of the worker (timeout, died, protocol): counts toward ejection. */
  recordFailure(reason: string): void {
    this.requestsFailed++;
    this.#countFailure(reason);
  }

  // ---- ConnectionOwner ---------------------------------------------------------------------------

  onConnectionReady(connection: WorkerConnection): void {
    if (connection !== this.#connection) return;
    const pid = connection.workerHello?.pid ?? null;
    if (pid !== null) {
      if (this.#lastPid !== null && pid !== this.#lastPid) this.restarts++;
      this.#lastPid = pid;
    }
    this.#backoff.reset();
    this.#owner.onEndpointCapacity(this);
  }

  onStreamClosed(connection: WorkerConnection): void {
    if (connection === this.#connection) this.#owner.onEndpointCapacity(this);
  }

  onConnectionDraining(connection: WorkerConnection): void {
    if (connection !== this.#connection) return;
    // SPEC §11: no new streams here; open a replacement (a restarted worker, or a sibling process
    // behind the same address) while this one finishes its streams.
    this.#connection = null;
    this.#draining.add(connection);
    if (!this.#retired && !this.#ejected) this.#connect();
  }

  onConnectionClosed(connection: WorkerConnection, failure: ConnectionFailure | null): void {
    if (this.#draining.delete(connection)) {
      this.#maybeClosed();
      return;
    }
    if (connection !== this.#connection) return;
    this.#connection = null;
    if (this.#retired) {
      this.#maybeClosed();
      return;
    }
    if (failure === null) {
      this.#connect();
      return;
    }
    if (failure.kind === 'connect' || failure.kind === 'refused' || failure.kind === 'handshake')
      this.connectFailures++;
    if (failure.kind === 'refused') {
      // A stale socket (SPEC §16): ignored quietly, retried with backoff until discovery drops it.
      this.#scheduleReconnect(this.#backoff.next());
      return;
    }
    if (failure.kind === 'auth') {
      this.#log.error(
        { worker: this.label, detail: failure.message },
        'worker authentication failed: check that the proxy and the worker share the same secret',
      );
      this.#eject(failure.message);
      return;
    }
    if (failure.kind === 'closed' && failure.streams === 0) {
      // Closed while idle, without GOAWAY: impolite but harmless; reconnect without counting it.
      this.#scheduleReconnect(this.#backoff.next());
      return;
    }
    if (!this.#countFailure(failure.message)) this.#scheduleReconnect(this.#backoff.next());
  }

  // ---- internals ---------------------------------------------------------------------------------

  #connect(): void {
    const connection = new WorkerConnection(this.address, this.#options, this);
    this.#connection = connection;
    connection.connect();
  }

  #scheduleReconnect(delayMs: number): void {
    if (this.#retryTimer !== null || this.#retired) return;
    this.#retryTimer = setTimeout(reconnectEndpoint, delayMs, this);
    this.#retryTimer.unref();
  }

  /** Returns true when the failure ejected the endpoint. */
  #countFailure(reason: string): boolean {
    this.#consecutiveFailures++;
    if (this.#consecutiveFailures < this.#options.maxFails || this.#ejected) return this.#ejected;
    this.#eject(reason);
    return true;
  }

  #eject(reason: string): void {
    if (this.#ejected) return;
    this.#ejected = true;
    this.ejections++;
    this.#log.warn(
      {
        worker: this.label,
        failures: this.#consecutiveFailures,
        ejectedForMs: this.#options.failTimeoutMs,
        detail: reason,
      },
      'worker ejected after consecutive failures',
    );
    this.#ejectTimer = setTimeout(ejectionOver, this.#options.failTimeoutMs, this);
    this.#ejectTimer.unref();
  }

  /** Public only for the timer trampoline. */
  endEjection(): void {
    this.#ejectTimer = null;
    if (!this.#ejected) return;
    this.#ejected = false;
    // One more failure ejects it again at once; a success clears the streak.
    this.#consecutiveFailures = Math.max(0, this.#options.maxFails - 1);
    if (this.#retired) return;
    if (this.#connection === null) this.reconnectNow();
    else this.#owner.onEndpointCapacity(this);
  }

  #maybeClosed(): void {
    if (!this.#retired || this.#closedNotified) return;
    if (this.#connection !== null || this.#draining.size > 0) return;
    this.#closedNotified = true;
    this.#owner.onEndpointClosed(this);
  }
}
