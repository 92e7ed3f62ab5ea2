import { describe, expect, it } from 'vitest';
import {
  pickLeastLoaded,
  pickQueueSlot,
  type Balanceable,
} from '../../../proxy/src/upstream/least-loaded.js';

function worker(
  inFlight: number,
  capacity: number,
  extra: Partial<Balanceable> = {},
): Balanceable & { name: string } {
  return {
    name: `${inFlight}/${capacity}`,
    available: inFlight < capacity,
    inFlight,
    capacity,
    runSlots: capacity,
    progressAt: 0,
    supportsUpgrade: true,
    ...extra,
  };
}

describe('pickLeastLoaded', () => {
  it('picks the lowest in-flight/capacity ratio', () => {
    const a = worker(3, 4);
    const b = worker(1, 4);
    const c = worker(5, 16);
    expect(pickLeastLoaded([a, b, c], false, null)).toBe(b);
  });

  it('weighs capacity: an idle-ish big worker beats a half-busy small one', () => {
    const small = worker(1, 2);
    const big = worker(4, 16);
    expect(pickLeastLoaded([small, big], false, null)).toBe(big);
  });

  it('skips unavailable workers and returns null when none can take a stream', () => {
    const full = worker(4, 4);
    const down = worker(0, 4, { available: false });
    expect(pickLeastLoaded([full, down], false, null)).toBeNull();
    expect(pickLeastLoaded([], false, null)).toBeNull();
  });

  it('breaks ties uniformly at random', () => {
    const workers = [worker(0, 1), worker(0, 1), worker(0, 1), worker(0, 1)];
    const counts = new Map<Balanceable, number>();
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 4000; i++) {
      const picked = pickLeastLoaded(workers, false, null, random)!;
      counts.set(picked, (counts.get(picked) ?? 0) + 1);
    }
    for (const w of workers) {
      expect(counts.get(w)).toBeGreaterThan(850);
      expect(counts.get(w)).toBeLessThan(1150);
    }
  });

  it('avoids the given worker unless it is the only choice (retries go elsewhere)', () => {
    const a = worker(0, 4);
    const b = worker(3, 4);
    expect(pickLeastLoaded([a, b], false, a)).toBe(b);
    expect(pickLeastLoaded([a], false, a)).toBe(a);
  });

  it('only picks workers that negotiated upgrade for an upgrade request', () => {
    const plain = worker(0, 4, { supportsUpgrade: false });
    const ws = worker(3, 4);
    expect(pickLeastLoaded([plain, ws], true, null)).toBe(ws);
    expect(pickLeastLoaded([plain], true, null)).toBeNull();
  });
});

describe('run slots and queue slots (SPEC §6.4)', () => {
  /** A worker with `runSlots` threads and capacity - runSlots queue slots, last progress at `progressAt`. */
  const queueing = (inFlight: number, runSlots: number, capacity: number, progressAt: number) =>
    worker(inFlight, capacity, { runSlots, progressAt });

  it('fills run slots first, by in-flight per run slot', () => {
    const busy = queueing(1, 1, 3, 0); // its thread is busy; only queue slots left
    const idle = queueing(0, 1, 3, 0);
    expect(pickLeastLoaded([busy, idle], false, null)).toBe(idle);
    expect(pickLeastLoaded([busy], false, null)).toBeNull();
    const half = queueing(1, 2, 3, 0);
    expect(pickLeastLoaded([busy, half], false, null)).toBe(half);
  });

  it('queues on the worker that progressed most recently, never on a stalled one', () => {
    const now = performance.now();
    const recent = queueing(1, 1, 2, now - 2);
    const older = queueing(1, 1, 2, now - 10);
    const stalled = queueing(1, 1, 2, now - 500);
    expect(pickQueueSlot([older, stalled, recent], null, 20)).toBe(recent);
    expect(pickQueueSlot([older, stalled], null, 20)).toBe(older);
    expect(pickQueueSlot([stalled], null, 20)).toBeNull();
  });

  it('never queues on the worker a request was recalled from, nor on a full or queue-less worker', () => {
    const now = performance.now();
    const recent = queueing(1, 1, 2, now);
    const full = queueing(2, 1, 2, now);
    const noQueue = worker(1, 1, { progressAt: now });
    expect(pickQueueSlot([recent], recent, 20)).toBeNull();
    expect(pickQueueSlot([full, noQueue], null, 20)).toBeNull();
  });
});
