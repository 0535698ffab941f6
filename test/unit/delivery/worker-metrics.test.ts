import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '../../../src/delivery/outbox.js';
import { ProviderCache } from '../../../src/delivery/provider-cache.js';
import { FluxRetryPolicy } from '../../../src/delivery/retry.js';
import { createDeliveryHandler } from '../../../src/delivery/worker.js';
import { createLogger } from '../../../src/logger.js';
import { deliveryLatency, notificationsTotal } from '../../../src/metrics.js';
import { parseManifests } from '../../../src/resources/manifests.js';
import type { AlertEventRecorder } from '../../../src/resources/recorder.js';
import { ResourceStore } from '../../../src/resources/store.js';
import { canonicalEvent, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type RecordingServer } from '../../helpers/recording-server.js';

const runtime = testRuntime();
const log = createLogger({ level: 'error', destination: new Writable({ write(_c, _e, cb) { cb(); } }) });
const recorder: AlertEventRecorder = { warning() {} };

async function value(metric: typeof deliveryLatency | typeof notificationsTotal, name: string, labels: Record<string, string>): Promise<number> {
  const m = await metric.get();
  const values = m.values as Array<{ value: number; metricName?: string; labels: Record<string, string | number | undefined> }>;
  const v = values.find((x) => (x.metricName ?? m.name) === name && Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value ?? 0;
}

describe('delivery latency metric', () => {
  let server: RecordingServer;
  let store: ResourceStore;
  let cache: ProviderCache;
  beforeAll(async () => {
    // The path decides the answer: /ok delivers, /bad is a final 400.
    server = await startRecordingServer({ respond: (req) => ({ status: req.url.startsWith('/bad') ? 400 : 200 }) });
  });
  afterAll(async () => {
    await cache.closeAll();
    await server.close();
  });

  function setup(path: string) {
    store = new ResourceStore();
    cache = new ProviderCache(store, log, runtime);
    const { objects, problems } = parseManifests(`apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: hook, namespace: apps }
spec: { type: generic, address: '${server.url}${path}' }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: all, namespace: apps }
spec:
  providerRef: { name: hook }
  eventSources: [ { kind: Kustomization, name: '*' } ]
`, 'test.yaml');
    expect(problems).toEqual([]);
    for (const o of objects) store.upsert(o);
    return createDeliveryHandler({ store, providers: cache, recorder, policy: new FluxRetryPolicy(), log });
  }

  const delivery = (id: string, acceptedAt: number): Delivery => ({
    id, acceptedAt,
    notification: {
      event: canonicalEvent(),
      alert: { namespace: 'apps', name: 'all', uid: 'a1' },
      provider: { namespace: 'apps', name: 'hook', uid: 'p1', type: 'generic' },
    },
  });

  it('observes acceptance-to-answer time under the provider type for a delivered notification, and nothing for a failed one', async () => {
    const handle = setup('/ok');
    const count0 = await value(deliveryLatency, 'herald_delivery_latency_seconds_count', { type: 'generic' });
    const sum0 = await value(deliveryLatency, 'herald_delivery_latency_seconds_sum', { type: 'generic' });
    // Accepted 300 ms ago: the observation covers the time waiting in the outbox, not just the request.
    const outcome = await handle(delivery('d1', Date.now() - 300), new AbortController().signal);
    expect(outcome.result).toBe('delivered');
    expect(await value(deliveryLatency, 'herald_delivery_latency_seconds_count', { type: 'generic' })).toBe(count0 + 1);
    const observed = (await value(deliveryLatency, 'herald_delivery_latency_seconds_sum', { type: 'generic' })) - sum0;
    expect(observed).toBeGreaterThanOrEqual(0.3);
    expect(observed).toBeLessThan(5);
    // Only the 'generic' label carries it.
    expect(((await deliveryLatency.get()).values as Array<{ metricName?: string; labels: object }>).filter((x) => x.metricName === 'herald_delivery_latency_seconds_count').map((x) => x.labels)).toEqual([{ type: 'generic' }]);
    expect(await value(notificationsTotal, 'herald_notifications_total', { type: 'generic', result: 'delivered' })).toBeGreaterThanOrEqual(1);

    const failing = setup('/bad');
    const failed0 = await value(notificationsTotal, 'herald_notifications_total', { type: 'generic', result: 'failed' });
    expect((await failing(delivery('d2', Date.now()), new AbortController().signal)).result).toBe('failed');
    expect(await value(deliveryLatency, 'herald_delivery_latency_seconds_count', { type: 'generic' })).toBe(count0 + 1);
    expect(await value(notificationsTotal, 'herald_notifications_total', { type: 'generic', result: 'failed' })).toBe(failed0 + 1);
  });
});
