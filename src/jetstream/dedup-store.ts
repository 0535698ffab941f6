// Shared duplicate suppression for replicas: Flux's first-event-anchored windows kept in a JetStream key-value bucket.
import { JetStreamApiCodes, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '../logger.js';
import { DEFAULT_JETSTREAM_NAMES } from './layout.js';
import type { NatsHandles, NatsLink } from './link.js';
import { MemoryDedupStore, type DedupDecision, type DedupStore } from '../server/dedup.js';

export interface JetStreamDedupStoreOptions {
  link: NatsLink;
  /** --rate-limit-interval; ≤ 0 falls back to 1 s as in Flux. Also the bucket's TTL. */
  intervalMs: number;
  log: Logger;
  bucket?: string;
  /** Bucket replicas when Herald creates it (default 1). */
  replicas?: number;
}

/** One key's state: the anchor of its windows and the last window in which an event passed. */
interface SharedWindow {
  t0: number;
  w: number;
}

function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError
    && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

const utf8 = new TextDecoder();

function decodeWindow(bytes: Uint8Array, fallbackT0: number): SharedWindow {
  try {
    const v = JSON.parse(utf8.decode(bytes)) as Partial<SharedWindow>;
    if (typeof v.t0 === 'number' && typeof v.w === 'number') return { t0: v.t0, w: v.w };
  } catch {
    // fall through
  }
  return { t0: fallbackT0, w: 0 };
}

const encodeWindow = (v: SharedWindow): string => JSON.stringify(v);

/**
 * The same decisions as MemoryDedupStore, made once for all replicas. A key holds {t0, w}: created with an
 * expected revision of 0 (so only one replica's first event passes), advanced to a new window with a
 * compare-and-set on its revision (so only one event per window passes). The bucket's max_age is the interval:
 * a key disappears one interval after the last event that passed, which is never before the end of that event's
 * window, so no decision differs from the in-memory limiter; only the anchor of a key that was idle for a whole
 * window moves to its next event, as after Flux's garbage collection.
 *
 * While JetStream cannot be reached, decisions fall back to this replica's memory: the event then meets the outbox,
 * which answers 503 when it cannot store, so nothing is lost and nothing is refused for a dedup outage.
 */
export class JetStreamDedupStore implements DedupStore {
  private readonly interval: number;
  private readonly bucket: string;
  private readonly fallback: MemoryDedupStore;
  private kv: KV | undefined;
  private kvOf: NatsHandles['nc'] | undefined;
  private warnedAt = 0;

  constructor(private readonly opts: JetStreamDedupStoreOptions) {
    this.interval = opts.intervalMs > 0 ? opts.intervalMs : 1000;
    this.bucket = opts.bucket ?? DEFAULT_JETSTREAM_NAMES.dedupBucket;
    this.fallback = new MemoryDedupStore(this.interval);
    opts.link.addSetup((h) => this.setup(h));
  }

  private async setup(h: NatsHandles): Promise<void> {
    // Memory storage: windows need no disk, and losing them with a NATS restart is what a Flux restart does too.
    const kv = await new Kvm(h.js).create(this.bucket, { ttl: this.interval, history: 1, storage: StorageType.Memory, replicas: this.opts.replicas ?? 1 });
    const status = await kv.status();
    if (status.ttl !== this.interval) {
      // The last replica started decides; replicas with different --rate-limit-interval would disagree anyway.
      this.opts.log.warn({ bucket: this.bucket, ttlMs: status.ttl, intervalMs: this.interval }, 'dedup bucket TTL differs from --rate-limit-interval, updating it');
      const config = status.streamInfo.config;
      const maxAge = this.interval * 1_000_000;
      // The server refuses a duplicate window longer than max_age.
      await h.jsm.streams.update(config.name, { ...config, max_age: maxAge, duplicate_window: Math.min(config.duplicate_window, maxAge) });
    }
    this.kv = kv;
    this.kvOf = h.nc;
  }

  private sharedKv(): KV | undefined {
    const h = this.opts.link.current();
    return h && this.kvOf === h.nc ? this.kv : undefined;
  }

  private degraded(error: string): void {
    const now = Date.now();
    if (now - this.warnedAt < 30_000) return;
    this.warnedAt = now;
    this.opts.log.warn({ bucket: this.bucket, error }, 'shared dedup unavailable, deduplicating in this replica only');
  }

  async take(key: string, now = Date.now()): Promise<DedupDecision> {
    const kv = this.sharedKv();
    if (!kv) {
      this.degraded(this.opts.link.lastError);
      return this.fallback.take(key, now);
    }
    try {
      return await this.takeShared(kv, key, now);
    } catch (err) {
      this.degraded((err as Error).message);
      return this.fallback.take(key, now);
    }
  }

  private async takeShared(kv: KV, key: string, now: number): Promise<DedupDecision> {
    const I = this.interval;
    // Create first: a new key (the common case) costs one round trip.
    let expected = 0;
    for (let round = 0; round < 10; round++) {
      if (expected >= 0) {
        try {
          const value = encodeWindow({ t0: now, w: 0 });
          const previousSeq = expected;
          await this.opts.link.coalesce(() => kv.put(key, value, { previousSeq }));
          return { allowed: true, resetAt: now + I };
        } catch (err) {
          if (!isWrongLastSequence(err)) throw err;
        }
      }
      const e = await kv.get(key);
      if (!e || e.operation !== 'PUT') {
        // Expired or given back meanwhile: create it again over the delete marker, if any.
        expected = e ? e.revision : 0;
        continue;
      }
      const b = decodeWindow(e.value, e.created.getTime());
      // Another replica may have created the key a few ms after this request's `now`: that is still window 0.
      const window = Math.max(0, Math.floor((now - b.t0) / I));
      const resetAt = b.t0 + (window + 1) * I;
      if (window <= b.w) return { allowed: false, resetAt };
      try {
        await kv.update(key, encodeWindow({ t0: b.t0, w: window }), e.revision);
        return { allowed: true, resetAt };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
        // Another replica moved the key first: read again, its event is now the one that passed.
        expected = -1;
      }
    }
    throw new Error(`dedup key ${key.slice(0, 12)}: too many concurrent updates`);
  }

  async release(key: string, now = Date.now()): Promise<void> {
    await this.fallback.release(key, now);
    const kv = this.sharedKv();
    if (!kv) return;
    try {
      const e = await kv.get(key);
      if (!e || e.operation !== 'PUT') return;
      const b = decodeWindow(e.value, e.created.getTime());
      const window = Math.max(0, Math.floor((now - b.t0) / this.interval));
      if (b.w !== window) return;
      // Compare-and-set: never undo a pass another replica granted after ours.
      if (window === 0) await kv.delete(key, { previousSeq: e.revision });
      else await kv.update(key, encodeWindow({ t0: b.t0, w: window - 1 }), e.revision);
    } catch (err) {
      this.opts.log.debug({ error: (err as Error).message }, 'giving back a dedup window failed');
    }
  }

  async close(): Promise<void> {
    await this.fallback.close();
  }
}
