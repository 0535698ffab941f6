// Real `herald serve --outbox jetstream` processes against a real nats-server: kill -9 of Herald, NATS outages.
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { postEvent, type HeraldProcess } from '../../helpers/herald-process.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { startRecordingServer, type RecordingServer } from '../../helpers/recording-server.js';
import { countByKey, fluxEvent, metricValue, postMany, startJetStreamHerald, writeConfigDir } from '../../helpers/jetstream-e2e.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(respond?: Parameters<typeof startRecordingServer>[0]): Promise<{ nats: NatsServer; sink: RecordingServer; dir: string }> {
  const nats = await startNatsServer({ jetstream: true });
  cleanups.push(() => nats.stop());
  const sink = await startRecordingServer(respond);
  cleanups.push(() => sink.close());
  const dir = writeConfigDir([{ name: 'sink', url: sink.url }]);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { nats, sink, dir };
}

function track(h: HeraldProcess): HeraldProcess {
  cleanups.push(() => h.kill());
  return h;
}

async function waitForKeys(sink: RecordingServer, keys: string[], timeoutMs: number): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = countByKey(sink.requests);
    const missing = keys.filter((k) => !counts.has(k));
    if (missing.length === 0) return counts;
    if (Date.now() > deadline) throw new Error(`${missing.length} of ${keys.length} deliveries never arrived, e.g. ${missing.slice(0, 5).join(', ')}`);
    await sleep(100);
  }
}

describe('JetStream outbox end to end: crashes and outages', () => {
  it('delivers every one of 1,000 accepted events after kill -9 of Herald with deliveries pending and in flight', async () => {
    const concurrency = 16;
    // A slow webhook keeps most deliveries waiting in the outbox when Herald dies.
    const { nats, sink, dir } = await setup({ respond: async () => { await sleep(100); return { status: 200 }; } });
    const first = track(await startJetStreamHerald(dir, nats.url, ['--delivery-concurrency', String(concurrency)]));
    const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
    const statuses = await postMany([first.eventsUrl], keys, 32);
    expect([...statuses.values()].filter((s) => s !== 202)).toEqual([]);
    await first.kill();
    const atKill = sink.requests.length;
    expect(atKill).toBeLessThan(900);

    const second = track(await startJetStreamHerald(dir, nats.url, ['--delivery-concurrency', String(concurrency)]));
    await waitForKeys(sink, keys, 30_000);
    // Deliveries the dead process held come back after the consumer's ack wait (30 s): wait for an empty outbox.
    const drainedBy = Date.now() + 60_000;
    while ((await metricValue(second.metricsUrl, 'herald_outbox_pending')) !== 0) {
      if (Date.now() > drainedBy) throw new Error('the outbox did not drain');
      await sleep(500);
    }
    await sleep(300);
    const counts = countByKey(sink.requests);
    expect(counts.size).toBe(1000);
    const duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
    console.log(`kill -9: ${atKill} of 1000 had arrived at the kill; after restart all 1000 arrived, ${duplicates} duplicate(s) (deliveries in flight at the kill)`);
    // Only what was in flight at the kill can arrive twice.
    expect(duplicates).toBeLessThanOrEqual(concurrency);
    await second.stop();
  }, 120_000);

  it('answers 503 while NATS is unavailable, at startup and during operation, and loses nothing it answered 202 for', async () => {
    const { nats, sink, dir } = await setup();
    await nats.halt();
    const herald = track(await startJetStreamHerald(dir, nats.url, [], false));

    // At startup, with no NATS: Herald runs and says 503, so that the Flux controller retries.
    const down = await postEvent(herald.eventsUrl, fluxEvent('startup'));
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(await down.text()).toMatch(/unavailable/);

    await nats.start();
    const deadline = Date.now() + 15_000;
    let recovered = 0;
    while (recovered !== 202) {
      if (Date.now() > deadline) throw new Error('Herald did not recover after NATS started');
      const res = await postEvent(herald.eventsUrl, fluxEvent('startup'));
      recovered = res.status;
      await res.arrayBuffer();
      if (recovered !== 202) await sleep(100);
    }

    // During operation: events keep coming while NATS goes away and returns.
    const statuses = new Map<string, number>();
    let n = 0;
    let posting = true;
    const poster = async (): Promise<void> => {
      while (posting) {
        const key = `op${n++}`;
        const res = await postEvent(herald.eventsUrl, fluxEvent(key)).catch(() => undefined);
        statuses.set(key, res?.status ?? 0);
        await res?.arrayBuffer();
        await sleep(20);
      }
    };
    const posters = Promise.all([poster(), poster(), poster(), poster()]);
    await sleep(800);
    await nats.halt();
    await sleep(1500);
    await nats.start();
    await sleep(2500);
    posting = false;
    await posters;

    const accepted = [...statuses].filter(([, s]) => s === 202).map(([k]) => k);
    const refused = [...statuses].filter(([, s]) => s === 503).map(([k]) => k);
    expect([...statuses.values()].filter((s) => s !== 202 && s !== 503)).toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(50);
    // A delivery the server handed to the connection just as it broke is in transit, not lost: JetStream gives it out
    // again after the consumer's ack wait (30 s).
    const waitStart = Date.now();
    await waitForKeys(sink, ['startup', ...accepted], 50_000);
    const waited = Date.now() - waitStart;

    // The emitter's retry of a refused event is accepted (its dedup window was given back) and delivered.
    const retried = await postMany([herald.eventsUrl], refused, 8);
    expect([...retried.values()].every((s) => s === 202)).toBe(true);
    await waitForKeys(sink, refused, 20_000);
    console.log(`NATS outage: ${accepted.length} events accepted (all delivered, the last ${(waited / 1000).toFixed(1)} s after the outage), ${refused.length} answered 503 and accepted on retry`);
    expect(await herald.stop()).toBe(0);
  }, 120_000);
});
