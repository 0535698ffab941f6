import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RetryTimers } from '../../../src/delivery/retry-timers.js';

describe('RetryTimers', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires each item after its delay, never early, at most one tick late, in due order', async () => {
    const fired: Array<[string, number]> = [];
    const start = Date.now();
    const timers = new RetryTimers<string>((s) => fired.push([s, Date.now() - start]), { tickMs: 25 });
    timers.schedule('c', 4000);
    timers.schedule('a', 10);
    timers.schedule('b', 2000);
    timers.schedule('zero', 0);
    expect(timers.size).toBe(4);
    await vi.advanceTimersByTimeAsync(5000);
    expect(fired.map(([s]) => s)).toEqual(['zero', 'a', 'b', 'c']);
    const delays: Record<string, number> = { zero: 0, a: 10, b: 2000, c: 4000 };
    for (const [s, at] of fired) {
      expect(at).toBeGreaterThanOrEqual(delays[s]!);
      expect(at).toBeLessThanOrEqual(delays[s]! + 25);
    }
    expect(timers.size).toBe(0);
  });

  it('handles delays longer than one turn of the wheel', async () => {
    const fired: number[] = [];
    const start = Date.now();
    // 8 slots of 10 ms: one turn is 80 ms.
    const timers = new RetryTimers<number>(() => fired.push(Date.now() - start), { tickMs: 10, slots: 8 });
    timers.schedule(1, 250);
    await vi.advanceTimersByTimeAsync(249);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(250);
  });

  it('uses one Node timer however many retries wait, and looks at each entry once', async () => {
    let fired = 0;
    const timers = new RetryTimers<number>(() => fired++, { tickMs: 25 });
    const n = 10_000;
    for (let i = 0; i < n; i++) timers.schedule(i, 2000 + (i % 1000) * 25);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(fired).toBe(n);
    // Every delay is within one turn of the wheel (4096 × 25 ms), so each entry is visited exactly once.
    expect(timers.visits).toBe(n);
    // Nothing waits: no timer is left armed.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an item scheduled from the callback fires later; clear drops everything and disarms', async () => {
    const fired: string[] = [];
    const timers: RetryTimers<string> = new RetryTimers<string>((s) => {
      fired.push(s);
      if (s === 'first') timers.schedule('again', 100);
    });
    timers.schedule('first', 50);
    await vi.advanceTimersByTimeAsync(200);
    expect(fired).toEqual(['first', 'again']);
    timers.schedule('dropped', 100);
    timers.clear();
    expect(timers.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(fired).toEqual(['first', 'again']);
  });
});
