// End to end: a Flux event POSTed to a real `herald serve` reaches NATS subscribers (core and JetStream) through nats Providers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { fixtureJson, fixtureText } from '../../helpers/fixtures.js';
import { postEvent, startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';

const PASSWORD = 'n4ts-p4ssw0rd';

interface FixtureEvent {
  involvedObject: Record<string, string>;
  severity: string;
  timestamp: string;
  message: string;
  reason: string;
  metadata: Record<string, string>;
  reportingController: string;
  reportingInstance: string;
}

/** The config directory: the shared fixture (Provider nats-events + Secret + Alert) pointed at the test server, plus a JetStream Provider and a broken one. */
function manifests(server: NatsServer): string {
  const fixture = fixtureText('manifests/provider-nats.yaml').replace('nats://nats.messaging.svc.cluster.local:4222', server.url);
  expect(fixture).toContain(server.url);
  return `${fixture}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: nats-durable
  namespace: flux-system
  annotations: { herald.dev/nats-jetstream: "true" }
spec:
  type: nats
  address: ${server.url}
  channel: flux.durable
  secretRef: { name: nats-auth }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: nats-durable, namespace: flux-system }
spec:
  providerRef: { name: nats-durable }
  eventSources: [ { kind: Kustomization, name: '*' } ]
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: nats-wrong-password, namespace: flux-system }
spec:
  type: nats
  address: ${server.url}
  channel: flux.events
  timeout: 2s
  secretRef: { name: nats-wrong-password }
---
apiVersion: v1
kind: Secret
metadata: { name: nats-wrong-password, namespace: flux-system }
stringData: { username: flux-publisher, password: not-${PASSWORD} }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: nats-wrong-password, namespace: flux-system }
spec:
  providerRef: { name: nats-wrong-password }
  eventSources: [ { kind: Kustomization, name: '*' } ]
`;
}

describe('herald serve with nats Providers', () => {
  let dir: string;
  let server: NatsServer;
  let herald: HeraldProcess;
  let sub: NatsConnection;
  const received: { subject: string; data: string }[] = [];

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true, config: `authorization { user: flux-publisher, password: ${PASSWORD} }` });
    sub = await connect({ servers: server.url, user: 'flux-publisher', pass: PASSWORD, name: 'test-subscriber' });
    sub.subscribe('flux.events', { callback: (_e, m) => { received.push({ subject: m.subject, data: m.string() }); } });
    await sub.flush();
    const jsm = await jetstreamManager(sub);
    await jsm.streams.add({ name: 'FLUX_DURABLE', subjects: ['flux.durable'] });
    dir = mkdtempSync(path.join(tmpdir(), 'herald-nats-e2e-'));
    writeFileSync(path.join(dir, 'nats.yaml'), manifests(server));
    herald = await startHerald({ configDir: dir });
  });

  afterAll(async () => {
    await herald?.kill();
    await sub?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers the event, after metadata merge, to a core NATS subscriber and to a JetStream stream; a wrong password fails without leaking it', async () => {
    const event = fixtureJson<FixtureEvent>('events/kustomize-controller-health-check-failed.json');
    const res = await postEvent(herald.eventsUrl, event);
    expect(res.status).toBe(202);

    // Go field order, metadata with the group prefix stripped (providers/README.md §2 step 6).
    const expected = JSON.stringify({
      involvedObject: event.involvedObject, severity: event.severity, timestamp: event.timestamp, message: event.message, reason: event.reason,
      metadata: { revision: event.metadata['kustomize.toolkit.fluxcd.io/revision'] },
      reportingController: event.reportingController, reportingInstance: event.reportingInstance,
    });
    await expect.poll(() => received.length, { timeout: 5000 }).toBe(1);
    expect(received[0]).toEqual({ subject: 'flux.events', data: expected });

    const jsm = await jetstreamManager(sub);
    await expect.poll(async () => (await jsm.streams.info('FLUX_DURABLE')).state.messages, { timeout: 5000 }).toBe(1);
    const stored = await jsm.streams.getMessage('FLUX_DURABLE', { seq: 1 });
    expect(new TextDecoder().decode(stored!.data)).toBe(expected);
    expect(stored!.header.get('Nats-Msg-Id')).toMatch(/^[0-9a-f]{64}$/);

    const failure = await herald.waitForLog(/failed to send notification/, 10_000);
    expect(failure).toContain('Authorization Violation');
    expect(failure).toContain('nats-wrong-password');
    expect(herald.logs.join('\n')).not.toContain(PASSWORD);

    // One pooled connection serves both working Providers (same server and credentials).
    const connz = (await (await fetch(`${server.monitorUrl}/connz`)).json()) as { connections: { name?: string }[] };
    expect(connz.connections.filter((c) => c.name === 'NATS Provider Publisher')).toHaveLength(1);
  });

  it('a second event reuses the connection, and SIGTERM drains it', async () => {
    const event = fixtureJson<FixtureEvent>('events/kustomize-controller-health-check-failed.json');
    event.message = 'second';
    expect((await postEvent(herald.eventsUrl, event)).status).toBe(202);
    await expect.poll(() => received.length, { timeout: 5000 }).toBe(2);
    const publishers = async () => ((await (await fetch(`${server.monitorUrl}/connz`)).json()) as { connections: { name?: string }[] })
      .connections.filter((c) => c.name === 'NATS Provider Publisher').length;
    expect(await publishers()).toBe(1);
    expect(await herald.stop()).toBe(0);
    await expect.poll(publishers).toBe(0);
  });
});
