/**
 * The last minute of traffic in one-second buckets, for the status page: requests, 5xx answers
 * and a fine log-scale latency histogram per second, from which percentiles are read. The request
 * path only adds to the current bucket; a 1 s timer (unref'd) moves to the next one, so no clock
 * is read per request.
 */
export const WINDOW_SECONDS = 60;
/** Latency slots: slot i holds durations ≤ SLOT_BASE_MS · SLOT_GROWTH^i. */
const SLOT_BASE_MS = 0.05;
const SLOT_GROWTH = 1.25;
const SLOTS = 64; // up to ~0.05 ms · 1.25^63 ≈ 62 s
const LOG_GROWTH = Math.log(SLOT_GROWTH);

function slotOf(ms: number): number {
  if (ms <= SLOT_BASE_MS) return 0;
  const slot = Math.ceil(Math.log(ms / SLOT_BASE_MS) / LOG_GROWTH);
  return slot < SLOTS ? slot : SLOTS - 1;
}

/** Upper bound of a latency slot, ms. */
function slotBoundMs(slot: number): number {
  return SLOT_BASE_MS * SLOT_GROWTH ** slot;
}

/** One second of traffic as the status page draws it. */
export interface SecondSample {
  /** Start of the second, ms since the epoch. */
  readonly time: number;
  readonly requests: number;
  /** Answers with a 5xx status. */
  readonly errors: number;
  /** Latency percentiles of the requests completed in that second, ms (null without requests). */
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
}

function advanceWindow(window: RateWindow): void {
  window.advance(Date.now());
}

export class RateWindow {
  readonly #requests = new Float64Array(WINDOW_SECONDS);
  readonly #errors = new Float64Array(WINDOW_SECONDS);
  readonly #latency = new Float64Array(WINDOW_SECONDS * SLOTS);
  readonly #startedAt = new Float64Array(WINDOW_SECONDS);
  /** Index of the bucket requests go to now. */
  #current = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(now = Date.now()) {
    this.#startedAt[0] = now;
  }

  /** Starts the one-second clock (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(advanceWindow, 1000, this);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  record(durationMs: number, error: boolean): void {
    const current = this.#current;
    this.#requests[current]++;
    if (error) this.#errors[current]++;
    this.#latency[current * SLOTS + slotOf(durationMs)]++;
  }

  /** Closes the current second and opens the next (the timer calls it; tests call it directly). */
  advance(now: number): void {
    const next = (this.#current + 1) % WINDOW_SECONDS;
    this.#requests[next] = 0;
    this.#errors[next] = 0;
    this.#latency.fill(0, next * SLOTS, next * SLOTS + SLOTS);
    this.#startedAt[next] = now;
    this.#current = next;
  }

  /**
   * The completed seconds, oldest first (the one in progress is left out: it would always look
   * like a dip).
   */
  samples(): SecondSample[] {
    const out: SecondSample[] = [];
    for (let age = WINDOW_SECONDS - 1; age >= 1; age--) {
      const index = (this.#current - age + WINDOW_SECONDS) % WINDOW_SECONDS;
      const time = this.#startedAt[index];
      if (time === 0) continue;
      out.push(this.#sample(index, time));
    }
    return out;
  }

  #sample(index: number, time: number): SecondSample {
    const requests = this.#requests[index];
    const base = index * SLOTS;
    const percentile = (fraction: number): number | null => {
      if (requests === 0) return null;
      const rank = Math.ceil(requests * fraction);
      let seen = 0;
      for (let slot = 0; slot < SLOTS; slot++) {
        seen += this.#latency[base + slot];
        if (seen >= rank) return Math.round(slotBoundMs(slot) * 100) / 100;
      }
      return Math.round(slotBoundMs(SLOTS - 1) * 100) / 100;
    };
    return {
      time,
      requests,
      errors: this.#errors[index],
      p50Ms: percentile(0.5),
      p90Ms: percentile(0.9),
      p99Ms: percentile(0.99),
    };
  }
}
