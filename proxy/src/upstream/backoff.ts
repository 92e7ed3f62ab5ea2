/**
 * Exponential reconnect delay with full jitter: the n-th consecutive failure waits a random time
 * in [base/2, min(max, base·2^n)], so many proxies reconnecting to one restarted worker spread out.
 */
export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  #failures = 0;

  constructor(baseMs: number, maxMs: number) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  get failures(): number {
    return this.#failures;
  }

  /** Counts a failure and returns how long to wait before the next attempt. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    const floor = Math.min(this.#baseMs / 2, ceiling);
    return Math.round(floor + Math.random() * (ceiling - floor));
  }

  reset(): void {
    this.#failures = 0;
  }
}
