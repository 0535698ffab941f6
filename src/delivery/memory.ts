// The in-memory outbox: one queue per provider with its own concurrency, so a slow or failing provider delays only itself.
import type { Logger } from '../logger.js';
import { LaneQueue } from './lane-queue.js';
import type { Delivery, DeliveryHandler, Outbox } from './outbox.js';
import { RetryTimers } from './retry-timers.js';

export interface MemoryOutboxOptions {
  /** Deliveries in flight at once for one provider. */
  perProviderConcurrency?: number;
  /** Deliveries waiting in memory before enqueue is refused (the event server then answers 503). */
  maxPending?: number;
  log: Logger;
}

interface Lane {
  /** O(1) push/shift, where Array.shift copied the whole backlog (lane-queue.ts). */
  queue: LaneQueue<Delivery>;
  running: number;
}

export class OutboxFullError extends Error {}

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
    this.pending--;
  }

  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    const settled = Promise.allSettled([...this.inflight]);
    const timer = new Promise((r) => setTimeout(r, graceMs).unref());
    await Promise.race([settled, timer]);
    this.abort.abort(new Error('shutting down'));
    this.retries.clear();
    const lost = this.pending - this.inflight.size;
    if (this.pending > 0) this.opts.log.warn({ pending: this.pending, waiting: lost }, 'memory outbox closed with deliveries not sent (use --outbox jetstream to keep them across restarts)');
    await Promise.allSettled([...this.inflight]);
  }
}
