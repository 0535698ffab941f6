// Three real Herald replicas sharing one JetStream: each event delivered once, shared dedup, hand-back on SIGTERM.
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { postEvent, type HeraldProcess } from '../../helpers/herald-process.js';
import { startNatsServer } from '../../helpers/nats-server.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { countByKey, fluxEvent, metricValue, postMany, startJetStreamHerald, writeConfigDir } from '../../helpers/jetstream-e2e.js';
import { until } from '../../helpers/wait.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


describe('JetStream outbox end to end: three replicas', () => {
  it('delivers 3,000 distinct events spread over three replicas exactly once each, and one event sent to two replicas once', async () => {
    const nats = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    const sink = await startRecordingServer();
    cleanups.push(() => sink.close());
    const dir = writeConfigDir([{ name: 'sink', url: sink.url }]);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const replicas: HeraldProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const h = await startJetStreamHerald(dir, nats.url, ['--rate-limit-interval', '5m']);
      cleanups.push(() => h.kill());
      replicas.push(h);
    }
    const urls = replicas.map((h) => h.eventsUrl);

    const keys = Array.from({ length: 3000 }, (_, i) => `r${i}`);
    const started = Date.now();
    const statuses = await postMany(urls, keys, 48);
    expect([...statuses.values()].filter((s) => s !== 202)).toEqual([]);
    await until(() => countByKey(sink.requests).size === 3000, 60_000, '3000 deliveries');
    const seconds = (Date.now() - started) / 1000;
    await until(async () => (await metricValue(replicas[0]!.metricsUrl, 'herald_outbox_pending')) === 0, 10_000, 'an empty outbox');
    await sleep(500);
    const counts = countByKey(sink.requests);
    expect([...counts.values()].filter((c) => c !== 1)).toEqual([]);
    expect(sink.requests.length).toBe(3000);
    // Every replica did part of the work.
    for (const h of replicas) expect(h.logs.filter((l) => l.includes('dispatching event')).length).toBeGreaterThan(500);
    console.log(`3 replicas: 3000 events accepted and delivered exactly once in ${seconds.toFixed(1)} s`);

    // The same event at two replicas at once, then at the third: one passes, the others are duplicates for all.
    const same = fluxEvent('same');
    const [a, b] = await Promise.all([postEvent(urls[0]!, same), postEvent(urls[1]!, same)]);
    expect([a.status, b.status].sort()).toEqual([202, 429]);
    const c = await postEvent(urls[2]!, same);
    expect(c.status).toBe(429);
    expect(c.headers.get('x-ratelimit-reset')).toBe(((a.status === 429 ? a : b).headers.get('x-ratelimit-reset')));
    await until(() => sink.requests.some((r) => r.text.includes('"event same"')), 5000, 'the event');
    await sleep(1000);
    expect(sink.requests.filter((r) => r.text.includes('"event same"'))).toHaveLength(1);
    for (const h of replicas) expect(await h.stop()).toBe(0);
  }, 120_000);

  it('on SIGTERM hands in-flight deliveries back so another replica sends them at once, and exits within the grace period', async () => {
    const nats = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    const sink = await startRecordingServer({ respond: async () => { await sleep(4000); return { status: 200 }; } });
    cleanups.push(() => sink.close());
    const dir = writeConfigDir([{ name: 'slow', url: sink.url, timeout: '20s' }]);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startJetStreamHerald(dir, nats.url, ['--shutdown-grace-period', '1s']);
    cleanups.push(() => first.kill());
    const keys = Array.from({ length: 8 }, (_, i) => `g${i}`);
    expect([...(await postMany([first.eventsUrl], keys, 8)).values()]).toEqual(keys.map(() => 202));
    await sink.waitFor(8, 5000);
    const second = await startJetStreamHerald(dir, nats.url);
    cleanups.push(() => second.kill());

    const t0 = Date.now();
    const exit = first.stop();
    await first.waitForLog('shutting down', 5000);
    // Stops accepting at once: 503, or the listener is already closed.
    const refused = await postEvent(first.eventsUrl, fluxEvent('late')).then((r) => r.status, () => 0);
    expect([0, 503]).toContain(refused);
    expect(await exit).toBe(0);
    const exitedAfter = Date.now() - t0;
    expect(exitedAfter).toBeLessThan(5000);
    expect(first.logs.some((l) => l.includes('JetStream outbox closed') && l.includes('"handedBack":8'))).toBe(true);

    // The other replica takes them long before the 30 s ack wait would have freed them.
    await sink.waitFor(16, 8000);
    const resentAfter = Date.now() - t0;
    expect(resentAfter).toBeLessThan(8000);
    expect([...countByKey(sink.requests.slice(8)).entries()].sort()).toEqual(keys.map((k) => [k, 1]).sort());
    await until(async () => (await metricValue(second.metricsUrl, 'herald_outbox_pending')) === 0, 15_000, 'an empty outbox');
    console.log(`SIGTERM: replica exited after ${exitedAfter} ms, its 8 in-flight deliveries re-sent by the other replica after ${resentAfter} ms`);
    expect(await second.stop()).toBe(0);
  }, 60_000);
});
