// Real Herald with the JetStream outbox against providers that answer 503 for a minute: nothing lost, retries spaced as configured.
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startNatsServer } from '../../helpers/nats-server.js';
import { startRecordingServer, type RecordedRequest } from '../../helpers/recording-server.js';
import { countByKey, keyOf, postMany, startJetStreamHerald, writeConfigDir } from '../../helpers/jetstream-e2e.js';

/** The issue asks for 60 s; a shorter outage can be set for local iterations. */
const OUTAGE_MS = Number(process.env.HERALD_E2E_OUTAGE_MS ?? 60_000);
const BASE_MS = 2000;
const CAP_MS = 8000;
const RETRY_AFTER_S = 3;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('JetStream outbox end to end: provider outage', () => {
  it(`delivers every notification after a ${OUTAGE_MS / 1000} s run of 503s, with backoff and jitter, honouring Retry-After`, async () => {
    const nats = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    let recoverAt = Number.POSITIVE_INFINITY;
    const arrivals = new Map<RecordedRequest, number>();
    const sink = await startRecordingServer({
      respond: (req) => {
        const now = Date.now();
        arrivals.set(req, now);
        if (now < recoverAt) {
          // /backoff answers a bare 503; /after asks for a fixed wait.
          return req.url.startsWith('/after') ? { status: 503, headers: { 'retry-after': String(RETRY_AFTER_S) }, body: 'maintenance' } : { status: 503, body: 'unavailable' };
        }
        return { status: 200 };
      },
    });
    cleanups.push(() => sink.close());
    const dir = writeConfigDir([{ name: 'backoff', url: sink.url }, { name: 'after', url: sink.url }]);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const herald = await startJetStreamHerald(dir, nats.url, ['--retry-initial-delay', `${BASE_MS}ms`, '--retry-max-delay', `${CAP_MS}ms`, '--max-delivery-age', '10m']);
    cleanups.push(() => herald.kill());

    recoverAt = Date.now() + OUTAGE_MS;
    const keys = Array.from({ length: 10 }, (_, i) => `o${i}`);
    const statuses = await postMany([herald.eventsUrl], keys, 10);
    expect([...statuses.values()]).toEqual(keys.map(() => 202));

    await sleep(Math.max(0, recoverAt - Date.now()));
    const deadline = Date.now() + CAP_MS + 15_000;
    const ok = (path: string) => sink.requests.filter((r) => r.url.startsWith(path) && arrivals.get(r)! >= recoverAt);
    while (new Set(ok('/backoff').map(keyOf)).size < keys.length || new Set(ok('/after').map(keyOf)).size < keys.length) {
      if (Date.now() > deadline) throw new Error(`not every notification arrived after recovery: ${ok('/backoff').length} + ${ok('/after').length} of ${2 * keys.length}`);
      await sleep(100);
    }
    await sleep(500);

    for (const path of ['/backoff', '/after']) {
      const successes = countByKey(ok(path));
      // Each notification succeeded exactly once: none lost, none sent again after its success.
      expect([...successes.entries()].sort()).toEqual(keys.map((k) => [k, 1]).sort());
    }

    const gapsOf = (path: string, key: string): number[] => {
      const times = sink.requests.filter((r) => r.url.startsWith(path) && keyOf(r) === key).map((r) => arrivals.get(r)!).sort((a, b) => a - b);
      return times.slice(1).map((t, i) => t - times[i]!);
    };
    const report: string[] = [];
    for (const key of keys) {
      const gaps = gapsOf('/backoff', key);
      expect(gaps.length).toBeGreaterThanOrEqual(Math.floor(OUTAGE_MS / CAP_MS));
      gaps.forEach((gap, i) => {
        // Wait before retry n (n = attempts made, from 1): half of min(base·2^(n-1), cap) fixed, half random.
        const exp = Math.min(BASE_MS * 2 ** i, CAP_MS);
        // The gap also holds the failed attempt itself and the redelivery.
        expect(gap).toBeGreaterThanOrEqual(exp / 2 - 50);
        expect(gap).toBeLessThanOrEqual(exp + 2000);
      });
      for (const gap of gapsOf('/after', key)) {
        expect(gap).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 50);
        expect(gap).toBeLessThanOrEqual(RETRY_AFTER_S * 1000 + 2000);
      }
      if (key === keys[0]) report.push(`backoff gaps ${gaps.map((g) => (g / 1000).toFixed(1)).join(' ')} s`, `Retry-After gaps ${gapsOf('/after', key).map((g) => (g / 1000).toFixed(1)).join(' ')} s`);
    }
    // Jitter: replicas' (here: deliveries') retries do not march in step.
    const secondGaps = keys.map((k) => gapsOf('/backoff', k)[2]!);
    expect(new Set(secondGaps.map((g) => Math.round(g / 100))).size).toBeGreaterThan(3);
    console.log(`provider outage ${OUTAGE_MS / 1000} s: ${sink.requests.length} attempts for ${2 * keys.length} notifications, all delivered once after recovery; ${report.join('; ')}`);
    expect(await herald.stop()).toBe(0);
  }, OUTAGE_MS + 60_000);
});
