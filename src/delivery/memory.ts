// The in-memory outbox: one queue per provider with its own concurrency, so a slow or failing provider delays only itself.
import type { Logger } from '../logger.js';
import type { Delivery, DeliveryHandler, Outbox } from './outbox.js';

export interface MemoryOutboxOptions {
  /** Deliveries in flight at once for one provider. */
  perProviderConcurrency?: number;
  /** Deliveries waiting in memory before enqueue is refused (the event server then answers 503). */
  maxPending?: number;
  log: Logger;
}

interface Lane {
  queue: Delivery[];
  running: number;
}

export class OutboxFullError extends Error {}

export class MemoryOutbox implements Outbox {
  readonly kind = 'memory' as const;
  private readonly lanes = new Map<string, Lane>();
  private readonly timers = new Set<NodeJS.Timeout>();
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
  private readonly maxPending: number;

  constructor(private readonly opts: MemoryOutboxOptions) {
    this.concurrency = opts.perProviderConcurrency ?? 16;
    this.maxPending = opts.maxPending ?? 100_000;
  }

  async enqueue(delivery: Delivery): Promise<void> {
    if (this.closed) throw new Error('outbox is closed');
    if (this.pending >= this.maxPending) throw new OutboxFullError(`outbox full: ${this.pending} deliveries pending`);
    this.pending++;
    this.push(delivery);
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
    if (!lane) this.lanes.set(key, (lane = { queue: [], running: 0 }));
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
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.push(d);
      }, outcome.delayMs);
      this.timers.add(t);
      return;
    }
    this.pending--;
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
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      if (dropped > 0) {
        this.opts.log.error({ dropped, inFlight: this.inflight.size, waiting: dropped - this.inflight.size }, `memory outbox closed: ${dropped} deliveries dropped, not sent within the grace period (use --outbox jetstream to keep them across restarts)`);
      } else {
        this.opts.log.info({ dropped: 0 }, 'memory outbox closed: every accepted delivery was finished');
      }
      await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 1000).unref())]);
      this.dropped = dropped;
    })();
    return this.closing;
  }
}
