import { performance } from 'node:perf_hooks';
import type { Hello } from '@gatewire/protocol';
import { CheckContext, type ContextEnvironment } from './check-context.js';
import type { Check, CheckResult } from './check.js';
import { CheckFailed, CheckSkipped } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { PeerConnection } from './peer-connection.js';
import { WorkerProcess } from './worker-process.js';

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

const PROBE_TIMEOUT_MS = 3000;

/**
 * Runs checks one at a time against one worker process, which it starts, probes, and restarts
 * when a check leaves it dead or deaf, so that one failure does not cascade into the next check.
 */
export class ConformanceSession {
  #options: ResolvedOptions;
  #worker: WorkerProcess | undefined;
  #hello: Hello | undefined;
  #helloError: string | undefined;
  #scenarios = new Map<string, Promise<Outcome<unknown>>>();

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /** The HELLO the worker sent to the first probe, if it was valid. */
  get workerHello(): Hello | undefined {
    return this.#hello;
  }

  get helloError(): string | undefined {
    return this.#helloError;
  }

  /** Starts the worker and reads its HELLO. Throws WorkerStartError if it never listens. */
  async start(): Promise<void> {
    await this.#ensureWorker();
  }

  async run(check: Check, skipReason?: string): Promise<CheckResult> {
    if (skipReason !== undefined)
      return { name: check.name, status: 'skip', detail: skipReason, durationMs: 0 };
    const started = performance.now();
    const result = (status: CheckResult['status'], detail?: string, note?: string): CheckResult => {
      const out: CheckResult = {
        name: check.name,
        status,
        durationMs: Math.round(performance.now() - started),
      };
      if (detail !== undefined) out.detail = detail;
      if (note !== undefined && note !== '') out.note = note;
      return out;
    };
    let worker: WorkerProcess;
    try {
      worker = await this.#ensureWorker();
    } catch (error) {
      return result('fail', `the worker could not be (re)started: ${(error as Error).message}`);
    }
    const ctx = new CheckContext(this.#environment(worker));
    let status: CheckResult['status'] = 'pass';
    let detail: string | undefined;
    try {
      await this.#withDeadline(check.run(ctx), ctx);
      const violations = ctx.violations();
      if (violations.length > 0) {
        status = 'fail';
        detail = violations.join('; ');
      }
    } catch (error) {
      if (error instanceof CheckSkipped) {
        status = 'skip';
        detail = error.message;
      } else {
        status = 'fail';
        detail = error instanceof CheckFailed ? error.message : `${(error as Error).stack ?? String(error)}`;
        const violations = ctx.violations().filter((violation) => !detail!.includes(violation));
        if (violations.length > 0) detail += `; also: ${violations.join('; ')}`;
      }
    } finally {
      await ctx.dispose();
    }
    // Did the check leave the worker dead or deaf?
    await new Promise((resolve) => setImmediate(resolve));
    if (!worker.running) {
      await worker.settled();
      const exit = `the worker process ${worker.describeExit()} during this check`;
      const tail = worker.output.text().split('\n').slice(-5).join(' | ');
      if (status !== 'fail') {
        status = 'fail';
        detail = `${exit}${tail ? ` (last output: ${tail})` : ''}`;
      } else {
        detail += `; ${exit}${tail ? ` (last output: ${tail})` : ''}`;
      }
      await this.#discardWorker();
    } else if (status === 'fail' && !(await this.#probe(worker))) {
      detail +=
        '; afterwards the worker no longer answered a new connection with its HELLO, so it was restarted';
      await this.#discardWorker();
    }
    return result(status, detail, status === 'pass' ? ctx.notes.join('; ') : undefined);
  }

  async close(): Promise<void> {
    await this.#discardWorker();
  }

  #environment(worker: WorkerProcess): ContextEnvironment {
    const hello = this.#hello;
    const helloError = this.#helloError;
    return {
      socketPath: worker.socketPath,
      timeoutMs: this.#options.timeoutMs,
      startTimeoutMs: this.#options.startTimeoutMs,
      get workerHello(): Hello {
        if (!hello) throw new CheckFailed(helloError ?? "the worker's HELLO could not be read");
        return hello;
      },
      worker: this.#options.worker,
      secret: this.#options.secret,
      shared: <T>(key: string, scenario: (ctx: CheckContext) => Promise<T>) =>
        this.#shared(key, scenario, worker),
    };
  }

  async #shared<T>(
    key: string,
    scenario: (ctx: CheckContext) => Promise<T>,
    worker: WorkerProcess,
  ): Promise<T> {
    let outcome = this.#scenarios.get(key) as Promise<Outcome<T>> | undefined;
    if (!outcome) {
      const ctx = new CheckContext(this.#environment(worker));
      outcome = scenario(ctx).then(
        (value): Outcome<T> => ({ ok: true, value }),
        (error: unknown): Outcome<T> => ({ ok: false, error }),
      );
      outcome = outcome.finally(() => ctx.dispose());
      this.#scenarios.set(key, outcome);
    }
    const settled = await outcome;
    if (!settled.ok) throw settled.error;
    return settled.value;
  }

  /** Bounds a whole check: each wait has its own timeout, this is the backstop. */
  async #withDeadline(run: Promise<void>, ctx: CheckContext): Promise<void> {
    const limitMs = Math.max(30_000, this.#options.timeoutMs * 6);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void ctx.dispose();
        reject(new CheckFailed(`the check did not finish within ${limitMs} ms`));
      }, limitMs);
    });
    run.catch(() => undefined);
    try {
      await Promise.race([run, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #ensureWorker(): Promise<WorkerProcess> {
    if (this.#worker && this.#worker.running) return this.#worker;
    await this.#discardWorker();
    const worker = await WorkerProcess.start(this.#options.worker, this.#options.startTimeoutMs);
    this.#worker = worker;
    if (!this.#hello) {
      try {
        const conn = await PeerConnection.open(worker.socketPath, {
          timeoutMs: this.#options.timeoutMs,
          secret: this.#options.secret,
        });
        this.#hello = conn.workerHello;
        this.#helloError = undefined;
        conn.close();
      } catch (error) {
        this.#helloError = (error as Error).message;
      }
    }
    return worker;
  }

  /** Whether the worker still accepts a connection and sends its preface and a HELLO (valid or not). */
  async #probe(worker: WorkerProcess): Promise<boolean> {
    let conn: PeerConnection | undefined;
    try {
      conn = await PeerConnection.connectRaw(worker.socketPath, {
        timeoutMs: Math.min(PROBE_TIMEOUT_MS, this.#options.timeoutMs),
      });
      conn.sendPrefaceAndHello();
      const probe = conn;
      await probe.until("the worker's HELLO", () =>
        probe.workerHello || probe.helloError ? true : undefined,
      );
      return true;
    } catch {
      return false;
    } finally {
      conn?.close();
    }
  }

  async #discardWorker(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await worker.stop();
  }
}
