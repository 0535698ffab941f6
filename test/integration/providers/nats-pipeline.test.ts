// The nats provider inside the real delivery worker: retries then failure, and pooled connections following Provider/Secret changes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { connect } from '@nats-io/transport-node';
import { createLogger } from '../../../src/logger.js';
import { ResourceStore } from '../../../src/resources/store.js';
import { parseManifests } from '../../../src/resources/manifests.js';
import { ProviderCache } from '../../../src/delivery/provider-cache.js';
import { FluxRetryPolicy } from '../../../src/delivery/retry.js';
import { createDeliveryHandler } from '../../../src/delivery/worker.js';
import type { Delivery } from '../../../src/delivery/outbox.js';
import type { AlertEventRecorder, AlertRef, EventReason } from '../../../src/resources/recorder.js';
import { natsConnectionPool } from '../../../src/providers/cloud/nats.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { CANONICAL_PAYLOAD, canonicalNotification, natsProviderManifests, type NatsProviderInput } from '../../helpers/nats-fixtures.js';
import { testRuntime } from '../../helpers/providers.js';

const runtime = testRuntime();

const logLines: string[] = [];
const log = createLogger({
  level: 'debug',
  destination: new Writable({ write(chunk: Buffer, _enc, cb) { logLines.push(chunk.toString('utf8')); cb(); } }),
});

/** Collects the Warning events the worker records on the Alert. */
class CollectingRecorder implements AlertEventRecorder {
  readonly events: { alert: AlertRef; reason: EventReason; message: string }[] = [];
  warning(alert: AlertRef, reason: EventReason, message: string): void {
    this.events.push({ alert, reason, message });
  }
}

const ALERT = `
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: webapp-alerts, namespace: apps, uid: a6b8c0d2-1e3f-4a5b-8c7d-9e0f1a2b3c4d }
spec:
  providerRef: { name: ops }
  eventSources: [ { kind: Kustomization, name: webapp } ]
`;

function load(store: ResourceStore, input: NatsProviderInput): void {
  const { objects, problems } = parseManifests(`${natsProviderManifests({ channel: 'flux.events', ...input })}---\n${ALERT}`, 'test.yaml');
  expect(problems).toEqual([]);
  for (const o of objects) store.upsert(o);
}

function delivery(id: string): Delivery {
  return { id, notification: canonicalNotification(), acceptedAt: Date.now() };
}

async function publisherConnections(server: NatsServer): Promise<number> {
  const body = (await (await fetch(`${server.monitorUrl}/connz`)).json()) as { connections?: { name?: string }[] };
  return (body.connections ?? []).filter((c) => c.name === 'NATS Provider Publisher').length;
}

describe('nats provider in the delivery worker', () => {
  let server: NatsServer;
  let store: ResourceStore;
  let cache: ProviderCache;
  let recorder: CollectingRecorder;
  beforeAll(async () => {
    server = await startNatsServer({ config: 'authorization { users: [ { user: flux, password: s3cret }, { user: flux2, password: s3cret-rotated } ] }' });
  });
  afterAll(async () => {
    await server.stop();
    expect(logLines.join('\n')).not.toContain('s3cret');
  });
  afterEach(async () => {
    await cache.closeAll();
    await natsConnectionPool(runtime).close();
  });

  function handler(policy = new FluxRetryPolicy(20, 100, 5)) {
    store = new ResourceStore();
    cache = new ProviderCache(store, log, runtime);
    recorder = new CollectingRecorder();
    return createDeliveryHandler({ store, providers: cache, recorder, policy, log });
  }

  it('server down: every attempt is retried by the policy, then the delivery fails with a Warning on the Alert', async () => {
    const handle = handler();
    load(store, { address: 'nats://127.0.0.1:1', timeout: '10s', secret: { username: 'flux', password: 's3cret' } });
    const d = delivery('down-1');
    const outcomes = [];
    for (;;) {
      const outcome = await handle(d, new AbortController().signal);
      outcomes.push(outcome.result);
      if (outcome.result !== 'retry') {
        expect(outcome.result).toBe('failed');
        if (outcome.result === 'failed') {
          expect(outcome.error).toMatch(/^error publishing event to subject flux\.events: error connecting to server nats:\/\/127\.0\.0\.1:1: .*\(giving up after 5 attempt\(s\)\)$/);
        }
        break;
      }
      await new Promise((r) => setTimeout(r, outcome.delayMs));
    }
    expect(outcomes).toEqual(['retry', 'retry', 'retry', 'retry', 'failed']);
    expect(recorder.events).toHaveLength(1);
    expect(recorder.events[0]!.reason).toBe('NotificationDispatchFailed');
    expect(recorder.events[0]!.message).toMatch(/^failed to send notification for Kustomization\/apps\/webapp: error publishing event to subject flux\.events/);
  });

  it('permission violation: no retry, one failure', async () => {
    const restricted = await startNatsServer({
      config: 'authorization { users: [ { user: flux, password: s3cret, permissions: { publish: { deny: ["flux.events"] } } } ] }',
    });
    try {
      const handle = handler();
      load(store, { address: restricted.url, secret: { username: 'flux', password: 's3cret' } });
      const outcome = await handle(delivery('denied-1'), new AbortController().signal);
      expect(outcome).toEqual({ result: 'failed', error: 'error publishing event to subject flux.events: error publishing message to server: Permissions Violation for Publish to "flux.events"' });
    } finally {
      await restricted.stop();
    }
  });

  it('one connection for many deliveries; a changed Secret closes it and the next delivery uses the new credentials; a deleted Provider closes it', async () => {
    const handle = handler();
    const sub = await connect({ servers: server.url, user: 'flux', pass: 's3cret', name: 'test-subscriber' });
    const received: string[] = [];
    sub.subscribe('flux.events', { callback: (_e, m) => { received.push(m.string()); } });
    await sub.flush();
    try {
      load(store, { address: server.url, secret: { username: 'flux', password: 's3cret' } });
      for (let i = 0; i < 10; i++) expect((await handle(delivery(`d-${i}`), new AbortController().signal)).result).toBe('delivered');
      expect(await publisherConnections(server)).toBe(1);

      // Rotate the Secret: the pooled connection made with the old password goes away.
      load(store, { address: server.url, secret: { username: 'flux2', password: 's3cret-rotated' } });
      await expect.poll(() => publisherConnections(server)).toBe(0);
      expect((await handle(delivery('after-rotation'), new AbortController().signal)).result).toBe('delivered');
      expect(await publisherConnections(server)).toBe(1);
      const connz = (await (await fetch(`${server.monitorUrl}/connz?auth=true`)).json()) as { connections: { name?: string; authorized_user?: string }[] };
      expect(connz.connections.find((c) => c.name === 'NATS Provider Publisher')?.authorized_user).toBe('flux2');

      store.delete('Provider', 'apps', 'ops');
      await expect.poll(() => publisherConnections(server)).toBe(0);
      await expect.poll(() => received.length).toBe(11);
      expect(received.every((r) => r === CANONICAL_PAYLOAD)).toBe(true);
    } finally {
      await sub.close();
    }
  });
});
