// The shared dedup store against a real nats-server: Flux's fixed windows, decided once for all replicas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { captureLog, uniqueNames, waitUntil } from '../../helpers/jetstream-outbox.js';
import { NatsLink, natsConnectOptions } from '../../../src/jetstream/link.js';
import { JetStreamDedupStore } from '../../../src/jetstream/dedup-store.js';
import { MemoryDedupStore } from '../../../src/server/dedup.js';

let nats: NatsServer;
const links: NatsLink[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
});

afterAll(async () => {
  await Promise.all(links.map((l) => l.close(500)));
  await nats?.stop();
});

/** One replica's store on its own connection. */
async function replica(bucket: string, intervalMs: number, url = nats.url, waitReady = true): Promise<{ store: JetStreamDedupStore; link: NatsLink }> {
  const { log } = captureLog();
  const link = new NatsLink(natsConnectOptions({ natsUrl: url }), { log, requestTimeoutMs: 2000, maxRetryDelayMs: 250 });
  links.push(link);
  const store = new JetStreamDedupStore({ link, intervalMs, log, bucket });
  link.start();
  if (waitReady) await link.whenReady(AbortSignal.timeout(10_000));
  return { store, link };
}

describe('JetStreamDedupStore', () => {
  it('lets the first event pass and rejects the same key on any replica inside the window', async () => {
    const bucket = uniqueNames().dedupBucket!;
    const a = await replica(bucket, 60_000);
    const b = await replica(bucket, 60_000);
    const t0 = Date.now();
    expect(await a.store.take('k1', t0)).toEqual({ allowed: true, resetAt: t0 + 60_000 });
    expect(await b.store.take('k1', t0 + 10)).toEqual({ allowed: false, resetAt: t0 + 60_000 });
    expect(await a.store.take('k1', t0 + 20)).toEqual({ allowed: false, resetAt: t0 + 60_000 });
    // Another key is independent.
    expect((await b.store.take('k2', t0 + 30)).allowed).toBe(true);
  });

  it('gives a replica whose request came a few ms before the winner\'s the winner\'s reset time, not an earlier one', async () => {
    const bucket = uniqueNames().dedupBucket!;
    const a = await replica(bucket, 60_000);
    const b = await replica(bucket, 60_000);
    const t0 = Date.now();
    expect(await a.store.take('k1', t0)).toEqual({ allowed: true, resetAt: t0 + 60_000 });
    // b took its `now` 5 ms before a's, but a created the key first: b is a duplicate in the same window.
    expect(await b.store.take('k1', t0 - 5)).toEqual({ allowed: false, resetAt: t0 + 60_000 });
  });

  it('makes the same decisions as the in-memory limiter on the spec example (fixed windows anchored at the first event)', async () => {
    const bucket = uniqueNames().dedupBucket!;
    const I = 60_000;
    const a = await replica(bucket, I);
    const b = await replica(bucket, I);
    const memory = new MemoryDedupStore(I);
    const t0 = Date.now();
    // event-server.md §6.2 with I = 5m scaled to 1m, alternating replicas.
    const offsets = [0, 59_000, 61_000, 108_000, 120_000, 121_000, 300_500];
    const shared = [];
    const local = [];
    for (const [i, off] of offsets.entries()) {
      shared.push(await (i % 2 ? b : a).store.take('key', t0 + off));
      local.push(await memory.take('key', t0 + off));
    }
    await memory.close();
    expect(shared).toEqual(local);
    expect(shared.map((d) => d.allowed)).toEqual([true, false, true, false, true, false, true]);
  });

  it('lets exactly one of many simultaneous events with one key pass, across replicas', async () => {
    const bucket = uniqueNames().dedupBucket!;
    const reps = await Promise.all([replica(bucket, 60_000), replica(bucket, 60_000), replica(bucket, 60_000)]);
    const t0 = Date.now();
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => reps[i % 3]!.store.take('hot', t0 + i)));
    expect(first.filter((d) => d.allowed)).toHaveLength(1);
    // And exactly one in the next window, too (the compare-and-set on the window index).
    const next = await Promise.all(Array.from({ length: 30 }, (_, i) => reps[i % 3]!.store.take('hot', t0 + 60_000 + i)));
    expect(next.filter((d) => d.allowed)).toHaveLength(1);
  });

  it('forgets a key one interval after its last pass (the bucket TTL)', async () => {
    const bucket = uniqueNames().dedupBucket!;
    const a = await replica(bucket, 1000);
    const b = await replica(bucket, 1000);
    expect((await a.store.take('ttl')).allowed).toBe(true);
    expect((await b.store.take('ttl')).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 1400));
    const again = await b.store.take('ttl');
    expect(again.allowed).toBe(true);
    expect((await a.store.take('ttl')).allowed).toBe(false);
  });

  it('gives a window back on release, so the emitter retry of an event that got 503 is not a duplicate', async () => {
    const bucket = uniqueNames().dedupBucket!;
    const a = await replica(bucket, 60_000);
    const b = await replica(bucket, 60_000);
    const t0 = Date.now();
    expect((await a.store.take('r', t0)).allowed).toBe(true);
    await a.store.release('r', t0 + 1);
    expect((await b.store.take('r', t0 + 2)).allowed).toBe(true);
    expect((await a.store.take('r', t0 + 3)).allowed).toBe(false);
    // In a later window, release goes back one window only.
    expect((await a.store.take('r', t0 + 2 + 60_000)).allowed).toBe(true);
    await a.store.release('r', t0 + 3 + 60_000);
    expect((await b.store.take('r', t0 + 4 + 60_000)).allowed).toBe(true);
    expect((await b.store.take('r', t0 + 5 + 60_000)).allowed).toBe(false);
  });

  it('sets the bucket TTL to the interval, and corrects it when the interval changes', async () => {
    const bucket = uniqueNames().dedupBucket!;
    const a = await replica(bucket, 60_000);
    const h = a.link.current()!;
    expect((await h.jsm.streams.info(`KV_${bucket}`)).config.max_age).toBe(60_000 * 1_000_000);
    await replica(bucket, 5_000);
    expect((await h.jsm.streams.info(`KV_${bucket}`)).config.max_age).toBe(5_000 * 1_000_000);
  });

  it('falls back to this replica while NATS is down, and shares again once it is back', async () => {
    const own = await startNatsServer({ jetstream: true });
    const bucket = uniqueNames().dedupBucket!;
    try {
      await own.halt();
      const a = await replica(bucket, 60_000, own.url, false);
      const t0 = Date.now();
      expect((await a.store.take('down', t0)).allowed).toBe(true);
      expect((await a.store.take('down', t0 + 1)).allowed).toBe(false);
      await own.start();
      await a.link.whenReady(AbortSignal.timeout(10_000));
      const b = await replica(bucket, 60_000, own.url);
      expect((await a.store.take('up', t0 + 2)).allowed).toBe(true);
      expect((await b.store.take('up', t0 + 3)).allowed).toBe(false);
      await own.halt();
      await waitUntil(() => !a.link.ready, 5000, 'the link to notice the outage');
      // Not refused for a dedup outage: the outbox decides whether the event can be stored.
      expect((await a.store.take('other', t0 + 4)).allowed).toBe(true);
    } finally {
      await own.stop();
    }
  });
});
