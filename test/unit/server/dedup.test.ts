import { afterEach, describe, expect, it } from 'vitest';
import { formatResetHeader, MemoryDedupStore } from '../../../src/server/dedup.js';

describe('MemoryDedupStore (event-server.md §6.2)', () => {
  const stores: MemoryDedupStore[] = [];
  afterEach(async () => { for (const s of stores.splice(0)) await s.close(); });
  const make = (ms: number) => { const s = new MemoryDedupStore(ms); stores.push(s); return s; };

  it('uses fixed windows anchored at the first event, one pass per window', () => {
    const m = 60_000, I = 5 * m, t0 = 1_000_000;
    const s = make(I);
    expect(s.takeSync('k', t0)).toEqual({ allowed: true, resetAt: t0 + I });
    expect(s.takeSync('k', t0 + 4 * m + 59_000)).toEqual({ allowed: false, resetAt: t0 + I });
    expect(s.takeSync('k', t0 + 5 * m + 1000).allowed).toBe(true);
    expect(s.takeSync('k', t0 + 9 * m).allowed).toBe(false);
    expect(s.takeSync('k', t0 + 10 * m)).toEqual({ allowed: true, resetAt: t0 + 15 * m });
    expect(s.takeSync('other', t0 + 1).allowed).toBe(true);
  });

  it('gives back a pass so that a retried event after a 503 is not a duplicate', async () => {
    const s = make(1000);
    expect(s.takeSync('k', 0).allowed).toBe(true);
    await s.release('k', 10);
    expect(s.takeSync('k', 20).allowed).toBe(true);
    expect(s.takeSync('k', 30).allowed).toBe(false);
  });

  it('garbage-collects buckets idle for more than two windows, re-anchoring later events', () => {
    const s = make(1000);
    s.takeSync('k', 0);
    s.gc(1999);
    expect(s.size).toBe(1);
    s.gc(2001);
    expect(s.size).toBe(0);
    expect(s.takeSync('k', 3500)).toEqual({ allowed: true, resetAt: 4500 });
  });

  it('falls back to a 1 s window for a non-positive interval', () => {
    const s = make(0);
    expect(s.takeSync('k', 0).resetAt).toBe(1000);
  });

  it('formats the reset time in Go RFC 1123 with the UTC zone name', () => {
    expect(formatResetHeader(Date.UTC(2026, 6, 20, 10, 20, 30))).toBe('Mon, 20 Jul 2026 10:20:30 UTC');
  });
});
