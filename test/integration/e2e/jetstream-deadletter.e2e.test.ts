// Real Herald with the JetStream outbox: dead letters after --max-delivery-age, `herald outbox` status and replay, deleted Alerts.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startNatsServer } from '../../helpers/nats-server.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { countByKey, fluxEvent, heraldOutbox, metricValue, postMany, startJetStreamHerald, writeConfigDir } from '../../helpers/jetstream-e2e.js';
import { postEvent } from '../../helpers/herald-process.js';
import type { OutboxStatus } from '../../../src/jetstream/admin.js';
import { until } from '../../helpers/wait.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


describe('JetStream outbox end to end: dead letters', () => {
  it('dead-letters a delivery that keeps failing past --max-delivery-age, reports it, and replay delivers it once the provider works', async () => {
    const nats = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    let working = false;
    const sink = await startRecordingServer({ respond: () => (working ? { status: 200 } : { status: 500, body: 'internal error' }) });
    cleanups.push(() => sink.close());
    const dir = writeConfigDir([{ name: 'broken', url: sink.url }, { name: 'fine', url: `${sink.url}/ok` }]);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const herald = await startJetStreamHerald(dir, nats.url, ['--max-delivery-age', '3s', '--retry-initial-delay', '300ms', '--retry-max-delay', '600ms']);
    cleanups.push(() => herald.kill());
    const started = Date.now();
    expect((await postEvent(herald.eventsUrl, fluxEvent('dl'))).status).toBe(202);

    await until(async () => (await metricValue(herald.metricsUrl, 'herald_outbox_dead_letters')) === 2, 15_000, 'two dead letters');
    const age = Date.now() - started;
    expect(age).toBeGreaterThanOrEqual(2500);
    const attempts = sink.requests.filter((r) => r.url === '/broken').length;
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(await metricValue(herald.metricsUrl, 'herald_outbox_pending')).toBe(0);
    expect(herald.logs.some((l) => l.includes('delivery moved to the dead letters') && l.includes('apps/broken') && l.includes('status code 500'))).toBe(true);

    const status = JSON.parse(await heraldOutbox(['status', '--json', '--nats-url', nats.url])) as OutboxStatus;
    expect(status).toMatchObject({ pending: 0, inFlight: 0, deadLetters: 2 });
    expect(status.providers).toEqual([
      { provider: 'apps/broken', pending: 0, inFlight: 0, deadLetters: 1 },
      { provider: 'apps/fine', pending: 0, inFlight: 0, deadLetters: 1 },
    ]);
    const table = await heraldOutbox(['status', '--nats-url', nats.url]);
    expect(table).toMatch(/^apps\/broken\s+0\s+0\s+1$/m);

    working = true;
    const before = sink.requests.length;
    expect(await heraldOutbox(['replay-dead', '--provider', 'apps/broken', '--nats-url', nats.url])).toMatch(/^replayed 1 dead letter\(s\) of provider apps\/broken/);
    await until(() => sink.requests.slice(before).some((r) => r.url === '/broken'), 10_000, 'the replayed delivery');
    await until(async () => (await metricValue(herald.metricsUrl, 'herald_outbox_dead_letters')) === 1, 5000, 'one dead letter left');
    await sleep(1500);
    expect(sink.requests.slice(before).map((r) => r.url)).toEqual(['/broken']);

    expect(await heraldOutbox(['replay-dead', '--nats-url', nats.url])).toMatch(/^replayed 1 dead letter\(s\)\n {2}apps\/fine: 1/);
    await until(() => sink.requests.slice(before).some((r) => r.url === '/ok/fine'), 10_000, 'the second replayed delivery');
    expect(await herald.stop()).toBe(0);
  }, 60_000);

  it('drops a retrying delivery whose Alert was deleted, with a log line, instead of retrying it until it is dead', async () => {
    const nats = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    const sink = await startRecordingServer({ respond: () => ({ status: 503 }) });
    cleanups.push(() => sink.close());
    const dir = writeConfigDir([{ name: 'gone', url: sink.url }]);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const herald = await startJetStreamHerald(dir, nats.url, ['--retry-initial-delay', '500ms', '--retry-max-delay', '1s']);
    cleanups.push(() => herald.kill());
    const statuses = await postMany([herald.eventsUrl], ['a', 'b', 'c'], 3);
    expect([...statuses.values()]).toEqual([202, 202, 202]);
    await until(() => countByKey(sink.requests).size === 3, 5000, 'first attempts');

    // The Alert (and Provider) disappear from the config dir while the deliveries wait for their retry.
    writeFileSync(path.join(dir, 'herald.yaml'), '# nothing\n');
    await herald.waitForLog('was deleted', 15_000);
    await until(async () => (await metricValue(herald.metricsUrl, 'herald_outbox_pending')) === 0, 10_000, 'an empty outbox');
    expect(await metricValue(herald.metricsUrl, 'herald_outbox_dead_letters')).toBe(0);
    const after = sink.requests.length;
    await sleep(2000);
    expect(sink.requests.length).toBe(after);
    expect(herald.logs.filter((l) => l.includes('dropping notification')).length).toBe(3);
    expect(await herald.stop()).toBe(0);
  }, 60_000);
});
