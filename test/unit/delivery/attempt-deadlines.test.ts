import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AttemptDeadlines } from '../../../src/delivery/attempt-deadlines.js';

describe('AttemptDeadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts an attempt at its deadline with a TimeoutError, and not before', async () => {
    const d = new AttemptDeadlines();
    const a = d.start(new AbortController().signal, Date.now() + 1000);
    await vi.advanceTimersByTimeAsync(999);
    expect(a.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(a.signal.aborted).toBe(true);
    expect(a.timedOut).toBe(true);
    expect((a.signal.reason as Error).name).toBe('TimeoutError');
  });

  it('a deadline already past aborts on the next turn, not synchronously', async () => {
    const d = new AttemptDeadlines();
    const a = d.start(new AbortController().signal, Date.now() - 5);
    expect(a.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(a.timedOut).toBe(true);
  });

  it('finished attempts are never aborted; attempts with one timeout share a single timer', async () => {
    const d = new AttemptDeadlines();
    const parent = new AbortController().signal;
    const attempts = [];
    for (let i = 0; i < 1000; i++) {
      attempts.push(d.start(parent, Date.now() + 15_000));
      await vi.advanceTimersByTimeAsync(1);
    }
    // 1000 attempts started 1 ms apart with the same timeout: one timer armed.
    expect(d.timersArmed).toBe(1);
    for (const a of attempts.slice(0, 990)) d.finish(a);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(attempts.filter((a) => a.signal.aborted)).toHaveLength(10);
    expect(attempts.slice(0, 990).some((a) => a.signal.aborted)).toBe(false);
    // Then one timer per expiry of a live attempt (10, 1 ms apart): never one per attempt started.
    expect(d.timersArmed).toBe(11);
  });

  it('the outbox signal aborts every attempt in flight with its reason, not as a timeout', () => {
    const d = new AttemptDeadlines();
    const shutdown = new AbortController();
    const a = d.start(shutdown.signal, Date.now() + 15_000);
    const b = d.start(shutdown.signal, Date.now() + 15_000);
    const reason = new Error('shutting down');
    shutdown.abort(reason);
    for (const x of [a, b]) {
      expect(x.signal.aborted).toBe(true);
      expect(x.signal.reason).toBe(reason);
      expect(x.timedOut).toBe(false);
    }
    const late = d.start(shutdown.signal, Date.now() + 15_000);
    expect(late.signal.aborted).toBe(true);
  });
});
