// Retry policies: Flux's shared-client schedule for the memory outbox, long exponential backoff with jitter for JetStream.
import type { Delivery } from './outbox.js';

export interface RetryDecision {
  retry: boolean;
  delayMs: number;
  /** Why the policy gave up, appended to the last error. */
  reason?: string;
}

export interface RetryPolicy {
  /** `attempts` counts the attempts made so far (>= 1); `timeoutMs` is the provider timeout. */
  next(delivery: Delivery, attempts: number, retryAfterMs: number | undefined, timeoutMs: number, now: number): RetryDecision;
  /** The deadline of the next attempt (epoch ms), at most one provider timeout away. */
  attemptDeadline(delivery: Delivery, timeoutMs: number, now: number): number;
}

/**
 * go-retryablehttp as Flux configures it (providers/README.md §5.2): at most 5 attempts, waits of
 * min(2 s × 2^n, 30 s) or Retry-After, and the provider timeout bounds the whole delivery.
 */
export class FluxRetryPolicy implements RetryPolicy {
  constructor(private readonly baseMs = 2000, private readonly capMs = 30_000, private readonly maxAttempts = 5) {}

  next(d: Delivery, attempts: number, retryAfterMs: number | undefined, timeoutMs: number, now: number): RetryDecision {
    if (attempts >= this.maxAttempts) return { retry: false, delayMs: 0, reason: `giving up after ${attempts} attempt(s)` };
    const delayMs = retryAfterMs ?? Math.min(this.baseMs * 2 ** (attempts - 1), this.capMs);
    const deadline = (d.firstAttemptAt ?? now) + timeoutMs;
    if (now + delayMs >= deadline) return { retry: false, delayMs: 0, reason: `context deadline exceeded after ${attempts} attempt(s)` };
    return { retry: true, delayMs };
  }

  attemptDeadline(d: Delivery, timeoutMs: number, now: number): number {
    return (d.firstAttemptAt ?? now) + timeoutMs;
  }
}

/** For the durable outbox: keep trying until the delivery is older than maxAgeMs, with full jitter on each wait. */
export class DurableRetryPolicy implements RetryPolicy {
  constructor(
    private readonly maxAgeMs: number,
    private readonly baseMs = 2000,
    private readonly capMs = 300_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(d: Delivery, attempts: number, retryAfterMs: number | undefined, _timeoutMs: number, now: number): RetryDecision {
    const exp = Math.min(this.baseMs * 2 ** Math.min(attempts - 1, 30), this.capMs);
    // Half fixed, half random: spreads replicas' retries without ever retrying immediately.
    const delayMs = retryAfterMs ?? Math.round(exp / 2 + (this.random() * exp) / 2);
    if (now + delayMs > d.acceptedAt + this.maxAgeMs) {
      return { retry: false, delayMs: 0, reason: `older than the maximum delivery age after ${attempts} attempt(s)` };
    }
    return { retry: true, delayMs };
  }

  attemptDeadline(_d: Delivery, timeoutMs: number, now: number): number {
    return now + timeoutMs;
  }
}
