/**
 * Clients hammering the proxy while the topology changes: `loops` concurrent request loops over an
 * undici Pool (keep-alive connections, as a real client keeps them), each request recorded with its
 * status, the container and process that answered (/whoami, /slow) or the client error. Order is
 * kept with a sequence number, not clock time: `mark()` returns the sequence number at an event
 * (a kill, say), and a request "started before" it if its `startSeq` is lower.
 */
import { Pool } from 'undici';

export interface Outcome {
  readonly path: string;
  readonly startSeq: number;
  endSeq: number;
  status: number | null;
  host: string | null;
  pid: number | null;
  requestId: string | null;
  error: string | null;
}

export class RequestLoop {
  readonly outcomes: Outcome[] = [];
  readonly #pool: Pool;
  readonly #paths: (n: number) => string;
  #seq = 0;
  #running = false;
  #loops: Array<Promise<void>> = [];
  #waiters: Array<() => void> = [];

  constructor(origin: string, paths: (n: number) => string) {
    this.#pool = new Pool(origin, { connections: 8, keepAliveTimeout: 30_000 });
    this.#paths = paths;
  }

  start(loops: number): void {
    this.#running = true;
    for (let i = 0; i < loops; i++) this.#loops.push(this.#loop(i));
  }

  mark(): number {
    return ++this.#seq;
  }

  async #loop(index: number): Promise<void> {
    let n = index;
    while (this.#running) {
      const outcome: Outcome = {
        path: this.#paths(n),
        startSeq: ++this.#seq,
        endSeq: 0,
        status: null,
        host: null,
        pid: null,
        requestId: null,
        error: null,
      };
      n += 1;
      this.outcomes.push(outcome);
      try {
        const response = await this.#pool.request({ path: outcome.path, method: 'GET' });
        outcome.status = response.statusCode;
        const requestId = response.headers['x-request-id'];
        outcome.requestId = typeof requestId === 'string' ? requestId : null;
        const text = await response.body.text();
        if (response.statusCode === 200 && text.startsWith('{')) {
          const body = JSON.parse(text) as { host: string; pid: number };
          outcome.host = body.host;
          outcome.pid = body.pid;
        }
      } catch (error) {
        outcome.error = (error as Error).message;
      }
      outcome.endSeq = ++this.#seq;
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  /** Resolves once `predicate` holds over the outcomes; rejects with `what` after `timeoutMs`. */
  async until(
    predicate: (outcomes: readonly Outcome[]) => boolean,
    what: string,
    timeoutMs = 60_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.outcomes)) {
      if (Date.now() > deadline) throw new Error(`request loop: gave up waiting for ${what}`);
      if (!this.#running) throw new Error(`request loop stopped before ${what}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
  }

  /** Outcomes that completed after the mark. */
  after(mark: number): Outcome[] {
    return this.outcomes.filter((outcome) => outcome.endSeq > mark && outcome.startSeq > mark);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    await this.#pool.close();
  }
}
