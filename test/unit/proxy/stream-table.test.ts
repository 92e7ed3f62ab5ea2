import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamTable } from '../../../proxy/src/upstream/stream-table.js';
import type { WorkerStream } from '../../../proxy/src/upstream/worker-stream.js';

const stream = (id: number): WorkerStream => ({ id }) as WorkerStream;

describe('StreamTable', () => {
  it('keeps streams whose ids share a slot (a long-lived stream and a new one)', () => {
    const table = new StreamTable(8); // 16 slots
    const old = stream(3);
    const young = stream(3 + 16);
    table.add(old);
    table.add(young);
    expect(table.size).toBe(2);
    expect(table.get(3)).toBe(old);
    expect(table.get(19)).toBe(young);
    table.delete(old);
    expect(table.get(3)).toBeUndefined();
    expect(table.get(19)).toBe(young);
    table.delete(young);
    table.delete(young); // twice: no effect
    expect(table.size).toBe(0);
  });

  it('property: behaves like a Map for any mix of adds (increasing ids) and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(40), fc.integer({ min: 1, max: 3 })), { maxLength: 200 }),
        fc.integer({ min: 1, max: 64 }),
        (ops, maxStreams) => {
          const table = new StreamTable();
          table.resize(maxStreams);
          const model = new Map<number, WorkerStream>();
          let nextId = 1;
          for (const [add, pick, step] of ops) {
            if (add || model.size === 0) {
              const s = stream(nextId);
              nextId += step;
              table.add(s);
              model.set(s.id, s);
            } else {
              const ids = [...model.keys()];
              const id = ids[pick % ids.length];
              table.delete(model.get(id)!);
              model.delete(id);
            }
            expect(table.size).toBe(model.size);
          }
          for (let id = 1; id < nextId; id++) expect(table.get(id)).toBe(model.get(id));
          expect(table.toArray().sort((a, b) => a.id - b.id)).toEqual([...model.values()]);
        },
      ),
    );
  });
});
