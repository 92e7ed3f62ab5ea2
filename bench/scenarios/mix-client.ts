/**
 * Open-loop load for bench/scenarios/mix.ts (a process of its own): RATE requests per second over
 * a pool of CONNECTIONS keep-alive connections (undici), 5% of them to `/slow` (picked by a fixed
 * pseudo-random sequence, the same for every run), the rest to `/`. Latency is taken from the
 * moment a request was due, not sent, so a request queued behind a busy connection counts its
 * wait (no coordinated omission). The first WARMUP_MS are not counted. Prints one JSON line.
 *
 *   node --import tsx bench/scenarios/mix-client.ts ORIGIN RATE WARMUP_MS DURATION_MS CONNECTIONS
 */
import { Pool } from 'undici';

const [origin, rateArg, warmupArg, durationArg, connectionsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const warmupCount = Math.round((rate * Number(warmupArg)) / 1000);
const total = warmupCount + Math.round((rate * Number(durationArg)) / 1000);
const interval = 1000 / rate;
const SLOW_SHARE = 0.05;

const pool = new Pool(origin, { connections: Number(connectionsArg), pipelining: 1 });
const fast: number[] = [];
const slow: number[] = [];
let errors = 0;
let settled = 0;

/** A fixed sequence (LCG): every run sends its slow requests at the same positions. */
let seed = 12_345;
function nextRandom(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
}
const isSlow = Array.from({ length: total }, () => nextRandom() < SLOW_SHARE);

let finish: () => void = () => {};
const allSettled = new Promise<void>((done) => (finish = done));

function fire(index: number, due: number): void {
  const slowOne = isSlow[index];
  pool
    .request({ path: slowOne ? '/slow' : '/', method: 'GET' })
    .then(async (response) => {
      await response.body.dump();
      if (response.statusCode !== 200) errors++;
      else if (index >= warmupCount) (slowOne ? slow : fast).push(performance.now() - due);
    })
    .catch(() => errors++)
    .finally(() => {
      if (++settled === total) finish();
    });
}

const start = performance.now() + 10;
let next = 0;
function tick(): void {
  const now = performance.now();
  while (next < total && start + next * interval <= now) {
    fire(next, start + next * interval);
    next++;
  }
  if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
}
setTimeout(tick, 10);
await allSettled;
await pool.close();

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
    : Number.NaN;
}
process.stdout.write(
  `${JSON.stringify({
    fastCount: fast.length,
    slowCount: slow.length,
    errors,
    fastP50Ms: percentile(fast, 50),
    fastP99Ms: percentile(fast, 99),
    fastMaxMs: percentile(fast, 100),
    slowP50Ms: percentile(slow, 50),
  })}\n`,
);
