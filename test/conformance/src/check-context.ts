import type { Hello } from '@gatewire/protocol';
import { CheckSkipped } from './errors.js';
import { PeerConnection, type PeerOptions } from './peer-connection.js';
import { WorkerProcess, type WorkerCommand } from './worker-process.js';

export interface ContextEnvironment {
  socketPath: string;
  timeoutMs: number;
  startTimeoutMs: number;
  /** The HELLO the worker sent when the session probed it. */
  workerHello: Hello;
  worker: WorkerCommand;
  secret: Uint8Array | undefined;
  /** Runs a scenario once per session and hands every caller its outcome (see CheckContext.shared). */
  shared<T>(key: string, scenario: (ctx: CheckContext) => Promise<T>): Promise<T>;
}

/**
 * What a check gets to work with: connections to the worker (each tracked, closed and inspected
 * for violations when the check ends), fresh workers of its own, skip and note.
 */
export class CheckContext {
  readonly socketPath: string;
  readonly timeoutMs: number;
  readonly notes: string[] = [];
  #env: ContextEnvironment;
  #connections: PeerConnection[] = [];
  #workers: WorkerProcess[] = [];

  constructor(env: ContextEnvironment) {
    this.#env = env;
    this.socketPath = env.socketPath;
    this.timeoutMs = env.timeoutMs;
  }

  /** The shared secret the suite was given (SPEC §5.4), if any. */
  get secret(): Uint8Array | undefined {
    return this.#env.secret;
  }

  /** The worker's HELLO as first probed; fails the check if the worker sent no valid one. */
  get workerHello(): Hello {
    return this.#env.workerHello;
  }

  /** A connection with the handshake done, the suite playing the proxy. */
  async connect(options: Partial<PeerOptions> & { socketPath?: string } = {}): Promise<PeerConnection> {
    const conn = await PeerConnection.open(options.socketPath ?? this.socketPath, this.#peerOptions(options));
    this.#connections.push(conn);
    return conn;
  }

  /** A connection on which nothing was sent yet. */
  async connectRaw(options: Partial<PeerOptions> & { socketPath?: string } = {}): Promise<PeerConnection> {
    const conn = await PeerConnection.connectRaw(
      options.socketPath ?? this.socketPath,
      this.#peerOptions(options),
    );
    this.#connections.push(conn);
    return conn;
  }

  /** A worker of the check's own (for checks that signal or stop it), stopped when the check ends. */
  async startWorker(): Promise<WorkerProcess> {
    const worker = await WorkerProcess.start(this.#env.worker, this.#env.startTimeoutMs);
    this.#workers.push(worker);
    return worker;
  }

  skip(reason: string): never {
    throw new CheckSkipped(reason);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /**
   * Runs `scenario` once for the whole session (in a context of its own) and returns its outcome
   * to every check that asks: several checks can judge one expensive scenario, such as a drain.
   */
  shared<T>(key: string, scenario: (ctx: CheckContext) => Promise<T>): Promise<T> {
    return this.#env.shared(key, scenario);
  }

  /** Rules of the SPEC the worker broke on this check's connections. */
  violations(): string[] {
    const out: string[] = [];
    this.#connections.forEach((conn, index) => {
      const label = this.#connections.length > 1 ? `connection ${index + 1}: ` : '';
      for (const violation of conn.violations) out.push(label + violation);
    });
    return out;
  }

  /** Closes every connection and stops every worker this context started. */
  async dispose(): Promise<void> {
    for (const conn of this.#connections) conn.close();
    await Promise.all(this.#workers.map((worker) => worker.stop()));
  }

  #peerOptions(options: Partial<PeerOptions>): PeerOptions {
    return {
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
      hello: options.hello,
      autoGrant: options.autoGrant,
      secret: options.secret ?? this.#env.secret,
    };
  }
}
