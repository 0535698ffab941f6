import { describe, expect, it } from 'vitest';
import { LaneQueue } from '../../../src/delivery/lane-queue.js';

describe('LaneQueue', () => {
  it('is first in, first out across growth and wrap-around', () => {
    const q = new LaneQueue<number>(4);
    const out: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the head wraps several times while the buffer grows.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) q.push(next++);
      for (let i = 0; i < 5; i++) out.push(q.shift()!);
    }
    while (q.length > 0) out.push(q.shift()!);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });

  it('peek shows the oldest item without removing it; length counts what is queued', () => {
    const q = new LaneQueue<string>();
    q.push('a');
    q.push('b');
    expect(q.peek()).toBe('a');
    expect(q.length).toBe(2);
    expect(q.shift()).toBe('a');
    expect(q.peek()).toBe('b');
    expect(q.length).toBe(1);
  });

  it('shift does not copy the backlog: fewer than two copies per push however deep the queue', () => {
    const q = new LaneQueue<number>(1);
    const n = 100_000;
    for (let i = 0; i < n; i++) q.push(i);
    // Draining a deep queue one by one (what Array.shift made quadratic) moves nothing.
    const before = q.moves;
    for (let i = 0; i < n / 2; i++) q.shift();
    expect(q.moves).toBe(before);
    for (let i = 0; i < n; i++) q.push(i);
    // Doubling: every copy is paid for by a push since the last growth, so fewer than 2 per push in total.
    expect(q.moves).toBeLessThan(2 * (2 * n));
    expect(q.length).toBe(n + n / 2);
  });

  it('does not keep shifted items reachable', () => {
    const q = new LaneQueue<object>(2);
    q.push({});
    q.shift();
    expect((q as unknown as { items: unknown[] }).items.every((x) => x === undefined)).toBe(true);
  });
});
