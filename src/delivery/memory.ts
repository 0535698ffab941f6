// The in-memory outbox: one queue per provider with its own concurrency, so a slow or failing provider delays only itself,
// and a share of memory per provider, so a stuck provider fills only its own share and never makes Herald refuse events
// for the healthy ones.
import type { Logger } from '../logger.js';
import type { Notification } from '../providers/types.js';
import { outboxRefusedTotal, reportMemoryOutbox } from '../metrics.js';
import { LaneQueue } from './lane-queue.js';
import { DEFAULT_DELIVERY_CONCURRENCY, type Delivery, type DeliveryHandler, type Outbox } from './outbox.js';
import { RetryTimers } from './retry-timers.js';

export interface OutboxLimits {
  /** Deliveries (waiting, in flight or waiting for a retry) held for all providers. */
  maxPending: number;
  /** Their encoded size, for all providers. */
  maxBytes: number;
  /** Deliveries held for one provider. */
  providerMaxPending: number;
  /** Their encoded size, for one provider. */
  providerMaxBytes: number;
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = {
  maxPending: 100_000,
  maxBytes: 256 * 1024 * 1024,
  providerMaxPending: 10_000,
  providerMaxBytes: 64 * 1024 * 1024,
};

/**
 * A provider holding less than this fraction of its own bound is never refused for the global bound: the global
 * bound can only be reached by providers that hold a lot, and those are the ones refused.
 */
const RESERVED_FRACTION = 8;

export interface MemoryOutboxOptions {
  /** Deliveries in flight at once for one provider. */
  perProviderConcurrency?: number;
  limits?: Partial<OutboxLimits>;
  log: Logger;
}

interface Lane {
  /** O(1) push/shift, where Array.shift copied the whole backlog (lane-queue.ts). */
  queue: LaneQueue<Delivery>;
  running: number;
}

/**
 * An Error without a captured stack: refusals come by the thousand per second under a saturating burst, a stack
 * trace each was a measurable share of the CPU (bench/RESULTS.md), and it would only ever point at the outbox.
 */
export function stacklessError<E extends Error>(create: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return create();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The delivery was refused because its provider's share, or the outbox as a whole, is full. */
export class OutboxFullError extends Error {
  constructor(message: string, readonly scope: 'provider' | 'global') {
    super(message);
  }

  static create(message: string, scope: 'provider' | 'global'): OutboxFullError {
    return stacklessError(() => new OutboxFullError(message, scope));
  }
}

interface Usage {
  count: number;
  bytes: number;
  /** Refusals since the last log line for this provider (one line per provider per second at most). */
  refusedSinceLog: number;
  lastLog: number;
}

/**
 * The size of a delivery as stored: the lengths of its strings plus a fixed overhead per object. Close to its JSON
 * encoding, without building it (an event of 3 MiB fanned out to 50 Alerts would otherwise be stringified 50 times).
 */
export function notificationBytes(n: Notification): number {
  const e = n.event;
  let size = 512 + e.message.length + e.reason.length + e.severity.length + e.reportingController.length + (e.reportingInstance?.length ?? 0);
  const o = e.involvedObject as unknown as Record<string, unknown>;
  for (const k in o) {
    const v = o[k];
    if (typeof v === 'string') size += k.length + v.length + 6;
  }
  for (const k in e.metadata) size += k.length + (e.metadata[k]?.length ?? 0) + 6;
  for (const k in n.alert.eventMetadata ?? {}) size += k.length + (n.alert.eventMetadata![k]?.length ?? 0) + 6;
  return size + (n.commitStatusId?.length ?? 0);
}

export class MemoryOutbox implements Outbox {
  readonly kind = 'memory' as const;
  private readonly lanes = new Map<string, Lane>();
  /** One timer wheel for every waiting retry instead of a setTimeout each (retry-timers.ts). */
  private readonly retries = new RetryTimers<Delivery>((d) => this.push(d));
  private readonly inflight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private handler?: DeliveryHandler;
  private pending = 0;
  private closed = false;
  private closing?: Promise<void>;
  /** Deliveries dropped by close (set once it has aborted them). */
  dropped?: number;
  private onDrained?: () => void;
  private readonly concurrency: number;
  readonly limits: OutboxLimits;
  private pendingBytes = 0;
  private readonly usage = new Map<string, Usage>();
  private readonly sizes = new WeakMap<Delivery, number>();
  private readonly stopReporting: () => void;

  constructor(private readonly opts: MemoryOutboxOptions) {
    this.concurrency = opts.perProviderConcurrency ?? DEFAULT_DELIVERY_CONCURRENCY;
    this.limits = { ...DEFAULT_OUTBOX_LIMITS, ...opts.limits };
    this.stopReporting = reportMemoryOutbox(() => ({ count: this.pending, bytes: this.pendingBytes }));
  }

  async enqueue(delivery: Delivery): Promise<void> {
    if (this.closed) throw new Error('outbox is closed');
    const key = this.laneKey(delivery);
    const bytes = notificationBytes(delivery.notification);
    let u = this.usage.get(key);
    if (!u) this.usage.set(key, (u = { count: 0, bytes: 0, refusedSinceLog: 0, lastLog: 0 }));
    const refusal = this.refusal(u, bytes);
    if (refusal) {
      if (u.count === 0) this.usage.delete(key);
      this.refuse(delivery, key, u, refusal);
    }
    u.count++;
    u.bytes += bytes;
    this.sizes.set(delivery, bytes);
    this.pending++;
    this.pendingBytes += bytes;
    this.push(delivery);
  }

  /** Why a delivery of `bytes` for a provider using `u` is refused, or undefined when it is taken. */
  private refusal(u: Usage, bytes: number): { scope: 'provider' | 'global'; why: string } | undefined {
    const l = this.limits;
    if (u.count + 1 > l.providerMaxPending) return { scope: 'provider', why: `provider holds ${u.count} deliveries (limit --outbox-provider-max-pending ${l.providerMaxPending})` };
    // A single delivery larger than the share is still taken when the provider holds nothing: events are at most 3 MiB.
    if (u.count > 0 && u.bytes + bytes > l.providerMaxBytes) return { scope: 'provider', why: `provider holds ${u.bytes} bytes (limit --outbox-provider-max-bytes ${l.providerMaxBytes})` };
    const small = u.count < l.providerMaxPending / RESERVED_FRACTION && u.bytes < l.providerMaxBytes / RESERVED_FRACTION;
    if (small) return undefined;
    if (this.pending + 1 > l.maxPending) return { scope: 'global', why: `outbox holds ${this.pending} deliveries (limit --outbox-max-pending ${l.maxPending})` };
    if (this.pendingBytes + bytes > l.maxBytes) return { scope: 'global', why: `outbox holds ${this.pendingBytes} bytes (limit --outbox-max-bytes ${l.maxBytes})` };
    return undefined;
  }

  private refuse(delivery: Delivery, key: string, u: Usage, refusal: { scope: 'provider' | 'global'; why: string }): never {
    const n = delivery.notification;
    outboxRefusedTotal.inc({ type: n.provider.type, scope: refusal.scope });
    u.refusedSinceLog++;
    const now = Date.now();
    if (now - u.lastLog >= 1000) {
      this.opts.log.error(
        { provider: key, providerType: n.provider.type, alert: `${n.alert.namespace}/${n.alert.name}`, scope: refusal.scope, refused: u.refusedSinceLog, pending: u.count, pendingBytes: u.bytes },
        `outbox full for provider ${key}: notification refused, ${refusal.why}; the provider is not keeping up (slow, failing or unreachable)`,
      );
      u.refusedSinceLog = 0;
      u.lastLog = now;
    }
    throw OutboxFullError.create(`outbox full for provider ${key}: ${refusal.why}`, refusal.scope);
  }

  private release(d: Delivery): void {
    const bytes = this.sizes.get(d) ?? 0;
    this.pending--;
    this.pendingBytes -= bytes;
    const key = this.laneKey(d);
    const u = this.usage.get(key);
    if (u) {
      u.count--;
      u.bytes -= bytes;
      if (u.count <= 0) this.usage.delete(key);
    }
  }

  /** Deliveries and bytes held for one provider (`namespace/name`). */
  held(provider: string): { count: number; bytes: number } {
    const u = this.usage.get(provider);
    return { count: u?.count ?? 0, bytes: u?.bytes ?? 0 };
  }

  /** Encoded size of all held deliveries. */
  get bytes(): number {
    return this.pendingBytes;
  }

  start(handler: DeliveryHandler): void {
    this.handler = handler;
    for (const key of this.lanes.keys()) this.pump(key);
  }

  /** Deliveries waiting or in flight. */
  get size(): number {
    return this.pending;
  }

  private laneKey(d: Delivery): string {
    const p = d.notification.provider;
    return `${p.namespace}/${p.name}`;
  }

  private push(d: Delivery): void {
    const key = this.laneKey(d);
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { queue: new LaneQueue(), running: 0 }));
    lane.queue.push(d);
    this.pump(key);
  }

  private pump(key: string): void {
    const lane = this.lanes.get(key);
    const handler = this.handler;
    if (!lane || !handler) return;
    while (lane.running < this.concurrency && lane.queue.length > 0 && !this.abort.signal.aborted) {
      const d = lane.queue.shift()!;
      lane.running++;
      const p = this.run(handler, d).finally(() => {
        lane.running--;
        this.inflight.delete(p);
        if (lane.running === 0 && lane.queue.length === 0) this.lanes.delete(key);
        else this.pump(key);
      });
      this.inflight.add(p);
    }
  }

  private async run(handler: DeliveryHandler, d: Delivery): Promise<void> {
    let outcome;
    try {
      outcome = await handler(d, this.abort.signal);
    } catch (err) {
      this.opts.log.error({ delivery: d.id, err: (err as Error).message }, 'delivery handler failed');
      outcome = { result: 'failed' as const, error: (err as Error).message };
    }
    if (outcome.result === 'retry' && !this.abort.signal.aborted) {
      this.retries.schedule(d, outcome.delayMs);
      return;
    }
    this.release(d);
    if (this.pending === 0) this.onDrained?.();
  }

  /**
   * Stops taking deliveries, keeps sending for up to `graceMs` until nothing is pending, then aborts the rest (an
   * attempt that ignores the abort gets one more second). `dropped` then holds how many were not sent.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      if (this.pending > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, graceMs);
          this.onDrained = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      this.onDrained = undefined;
      const dropped = this.pending;
      this.abort.abort(new Error('shutting down'));
      this.retries.clear();
      if (dropped > 0) {
        this.opts.log.error({ dropped, inFlight: this.inflight.size, waiting: dropped - this.inflight.size }, `memory outbox closed: ${dropped} deliveries dropped, not sent within the grace period (use --outbox jetstream to keep them across restarts)`);
      } else {
        this.opts.log.info({ dropped: 0 }, 'memory outbox closed: every accepted delivery was finished');
      }
      await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 1000).unref())]);
      this.dropped = dropped;
      this.stopReporting();
    })();
    return this.closing;
  }
}
