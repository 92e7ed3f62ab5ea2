import { describe, expect, it } from 'vitest';
import { WaitQueue, type QueueNode } from '../../../proxy/src/upstream/wait-queue.js';

function node(name: string): QueueNode & { name: string } {
  return { name, queuePrev: null, queueNext: null, queued: false };
}

describe('WaitQueue', () => {
  it('is first in, first out, and refuses entries beyond its capacity', () => {
    const queue = new WaitQueue<ReturnType<typeof node>>(2);
    const [a, b, c] = [node('a'), node('b'), node('c')];
    expect(queue.push(a)).toBe(true);
    expect(queue.push(b)).toBe(true);
    expect(queue.full).toBe(true);
    expect(queue.push(c)).toBe(false);
    expect(c.queued).toBe(false);
    expect(queue.shift()).toBe(a);
    expect(queue.push(c)).toBe(true);
    expect([...queue].map((n) => n.name)).toEqual(['b', 'c']);
  });

  it('removes any entry in O(1), and removing twice is harmless', () => {
    const queue = new WaitQueue<ReturnType<typeof node>>(10);
    const nodes = ['a', 'b', 'c', 'd'].map(node);
    for (const n of nodes) queue.push(n);
    queue.remove(nodes[1]);
    queue.remove(nodes[1]);
    queue.remove(nodes[3]);
    expect([...queue].map((n) => n.name)).toEqual(['a', 'c']);
    expect(queue.length).toBe(2);
    queue.remove(nodes[0]);
    queue.remove(nodes[2]);
    expect(queue.length).toBe(0);
    expect(queue.peek()).toBeNull();
    expect(queue.shift()).toBeNull();
  });

  it('with capacity 0 takes nothing', () => {
    const queue = new WaitQueue<ReturnType<typeof node>>(0);
    expect(queue.push(node('a'))).toBe(false);
  });
});
