// Duplicate suppression (event-server.md §6): the Flux rate-limit key and fixed windows anchored at first sight.
import { hash } from 'node:crypto';
import { apiGroupOf, type FluxEvent } from '../api/event.js';

/** The key input string of event-server.md §6.1, computed from the cleaned event (before the token is removed). */
export function rateLimitKeyInput(event: FluxEvent): string {
  const g = apiGroupOf(event.involvedObject.apiVersion);
  const ref = event.involvedObject;
  const parts = ['event', `name=${ref.name}`, `namespace=${ref.namespace}`, `kind=${ref.kind}`, `message=${event.message}`];
  const md = event.metadata;
  for (const [key, label] of [['originRevision', 'originRevision'], ['revision', 'revision'], ['token', 'token']] as const) {
    const k = `${g}/${key}`;
    if (Object.prototype.hasOwnProperty.call(md, k)) parts.push(`${label}=${md[k]}`);
  }
  return parts.join('/');
}

export function rateLimitKey(event: FluxEvent): string {
  // One-shot hash: no Hash object per event.
  return hash('sha256', rateLimitKeyInput(event), 'hex');
}

export interface DedupDecision {
  allowed: boolean;
  /** Epoch ms at which the current window of this key ends (X-RateLimit-Reset / Retry-After). */
  resetAt: number;
}

/** Where rate-limit windows live: this process's memory, or a JetStream key-value bucket shared by replicas. */
export interface DedupStore {
  take(key: string, now?: number): Promise<DedupDecision>;
  /** The same decision without a promise, for a store that holds its windows in this process. */
  takeSync?(key: string, now?: number): DedupDecision;
  /**
   * Gives back the pass `take` just granted, when the event could not be stored (503): the emitter's retry of the
   * same event must not be answered 429 and lost.
   */
  release(key: string, now?: number): Promise<void>;
  close?(): Promise<void>;
}

interface Bucket {
  t0: number;
  /** Index of the last window in which an event passed. */
  lastWindow: number;
}

/** One token per fixed window anchored at the first event of a key; GC of buckets idle for 2 windows, as go-limiter does. */
export class MemoryDedupStore implements DedupStore {
  private readonly buckets = new Map<string, Bucket>();
  private readonly interval: number;
  private readonly gcTimer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.interval = intervalMs > 0 ? intervalMs : 1000;
    this.gcTimer = setInterval(() => this.gc(Date.now()), this.interval);
    this.gcTimer.unref();
  }

  async take(key: string, now = Date.now()): Promise<DedupDecision> {
    return this.takeSync(key, now);
  }

  takeSync(key: string, now = Date.now()): DedupDecision {
    const b = this.buckets.get(key);
    if (!b) {
      this.buckets.set(key, { t0: now, lastWindow: 0 });
      return { allowed: true, resetAt: now + this.interval };
    }
    const window = Math.floor((now - b.t0) / this.interval);
    const resetAt = b.t0 + (window + 1) * this.interval;
    if (window > b.lastWindow) {
      b.lastWindow = window;
      return { allowed: true, resetAt };
    }
    return { allowed: false, resetAt };
  }

  async release(key: string, now = Date.now()): Promise<void> {
    const b = this.buckets.get(key);
    if (!b) return;
    const window = Math.floor((now - b.t0) / this.interval);
    if (b.lastWindow !== window) return;
    if (window === 0) this.buckets.delete(key);
    else b.lastWindow = window - 1;
  }

  gc(now: number): void {
    for (const [key, b] of this.buckets) {
      if (now - (b.t0 + b.lastWindow * this.interval) > 2 * this.interval) this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }

  async close(): Promise<void> {
    clearInterval(this.gcTimer);
  }
}

/** Go's RFC 1123 layout in UTC prints the zone as "UTC" (not GMT). */
let lastResetSecond = -1;
let lastResetText = '';
export function formatResetHeader(epochMs: number): string {
  // Most responses in a burst share the same second: format it once.
  const second = Math.floor(epochMs / 1000);
  if (second !== lastResetSecond) {
    lastResetSecond = second;
    lastResetText = new Date(second * 1000).toUTCString().replace(/GMT$/, 'UTC');
  }
  return lastResetText;
}
