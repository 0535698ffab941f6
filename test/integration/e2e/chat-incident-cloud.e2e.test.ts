// End to end: one `herald serve` with a Provider of every chat, incident, observability and cloud-bus type, each
// pointed at its own local endpoint (recording HTTP servers, Telegram's fixed host through a routing CONNECT proxy,
// a gRPC Pub/Sub server, an AMQP 1.0 Event Hubs peer). Flux fixture events go in; each endpoint must receive the
// notification, a commit_status=update event must reach none of them, and no credential may reach the log.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventHubPeer, type EventHubPeer } from '../../helpers/eventhub-peer.js';
import { fixtureJson } from '../../helpers/fixtures.js';
import { postEvent, startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import { startProxy, type TinyProxy } from '../../helpers/proxy.js';
import { startPubSubServer, type PubSubServer } from '../../helpers/pubsub-server.js';
import { startRecordingServer, type RecordedRequest, type RecordingServer } from '../../helpers/recording-server.js';
import { makeTestPki, serverCertFor } from '../../helpers/tls.js';
import { until } from '../../helpers/wait.js';

/** One Provider per type: how to point it at its endpoint, and what its Secret holds. */
interface Case {
  type: string;
  spec(url: string): Record<string, string>;
  secret?: Record<string, string>;
  /** What in the body shows this event arrived (default: the event's message; Grafana sends only the object and tags). */
  expect?: string;
  /** A healthy answer where the type reads its 2xx body. */
  answer?: { status: number; headers?: Record<string, string>; body: string };
}

const SECRETS = {
  webex: 'webex-bot-t0ken-0123456789',
  matrix: 'syt_matrix_t0ken_0123456789',
  zulipKey: 'zulip-api-k3y-0123456789',
  zoom: 'zoom-verification-t0ken-0123',
  telegram: '123456:telegram-bot-t0ken-ABCDEF',
  opsgenie: 'opsgenie-genie-k3y-0123456789',
  incidentio: 'incident-io-t0ken-0123456789',
  grafana: 'grafana-service-account-t0ken',
  datadog: 'datadog-api-k3y-0123456789abc',
  pagerduty: 'R0UT1NGKEY0123456789abcdef012345',
  sentryKey: 'sentrypublickey0123456789',
  slackPath: 'T000/B000/XXXXsl4ckw3bh00kpath',
};

const JSON_OK = { 'Content-Type': 'application/json' };

const CASES: Case[] = [
  { type: 'slack', spec: (u) => ({ address: `${u}/services/${SECRETS.slackPath}` }) },
  { type: 'discord', spec: (u) => ({ address: `${u}/api/webhooks/1234/d1scordt0ken` }) },
  { type: 'rocket', spec: (u) => ({ address: `${u}/hooks/r0cketk3y`, channel: '#flux' }) },
  { type: 'msteams', spec: (u) => ({ address: `${u}/workflows/teamsw0rkflow/triggers/manual/paths/invoke` }) },
  { type: 'googlechat', spec: (u) => ({ address: `${u}/v1/spaces/AAAA/messages?key=gch4tk3y0123&token=gch4tt0ken0123` }) },
  { type: 'webex', spec: (u) => ({ address: `${u}/v1/messages`, channel: 'room-1' }), secret: { token: SECRETS.webex } },
  { type: 'lark', spec: (u) => ({ address: `${u}/open-apis/bot/v2/hook/l4rkhook` }), answer: { status: 200, headers: JSON_OK, body: '{"code":0,"msg":"success"}' } },
  { type: 'matrix', spec: (u) => ({ address: u, channel: '!flux:example.org' }), secret: { token: SECRETS.matrix } },
  { type: 'zulip', spec: (u) => ({ address: u, channel: 'flux/alerts' }), secret: { username: 'flux-bot@example.org', password: SECRETS.zulipKey } },
  { type: 'zoom', spec: (u) => ({ address: `${u}/inbound/webhook/z00m` }), secret: { token: SECRETS.zoom } },
  { type: 'pagerduty', spec: (u) => ({ address: u, channel: SECRETS.pagerduty }), answer: { status: 202, headers: JSON_OK, body: '{"status":"success"}' } },
  { type: 'opsgenie', spec: (u) => ({ address: `${u}/v2/alerts` }), secret: { token: SECRETS.opsgenie } },
  { type: 'incident.io', spec: (u) => ({ address: `${u}/v2/alert_events/http/01ABC` }), secret: { token: SECRETS.incidentio } },
  { type: 'alertmanager', spec: (u) => ({ address: `${u}/api/v2/alerts` }) },
  { type: 'grafana', spec: (u) => ({ address: `${u}/api/annotations` }), secret: { token: SECRETS.grafana }, expect: '"text":"kustomization/apps.flux-system"' },
  { type: 'datadog', spec: (u) => ({ address: u }), secret: { token: SECRETS.datadog }, answer: { status: 202, headers: JSON_OK, body: '{"status":"ok"}' } },
  { type: 'sentry', spec: (u) => ({ address: u.replace('http://', `http://${SECRETS.sentryKey}@`) + '/42', channel: 'production' }), answer: { status: 200, headers: JSON_OK, body: '{"id":"x"}' } },
  { type: 'otel', spec: (u) => ({ address: `${u}/v1/traces` }) },
];

const MESSAGE_PART = 'health check failed after 5m0';
const SKIPPED_PART = 'Reconciliation finished in 1.12s';

function providerYaml(name: string, type: string, spec: Record<string, string>, secret?: Record<string, string>): string {
  const specLines = Object.entries({ type, timeout: '5s', ...spec }).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  let out = `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: ${name}, namespace: flux-system }
spec:
${specLines.join('\n')}
${secret ? `  secretRef: { name: ${name}-secret }\n` : ''}---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: ${name}, namespace: flux-system }
spec:
  providerRef: { name: ${name} }
  eventSeverity: info
  eventSources:
    - { kind: Kustomization, name: '*' }
---
`;
  if (secret) {
    out += `apiVersion: v1
kind: Secret
metadata: { name: ${name}-secret, namespace: flux-system }
stringData:
${Object.entries(secret).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}
---
`;
  }
  return out;
}

/** The recorded body as text, with a form body decoded (zulip). */
function bodyText(r: RecordedRequest): string {
  if ((r.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return [...new URLSearchParams(r.text).values()].join('\n');
  }
  return r.text;
}

describe('herald serve with one Provider of every chat, incident and cloud-bus type', () => {
  const servers = new Map<string, RecordingServer>();
  let telegram: RecordingServer;
  let proxy: TinyProxy;
  let pubsub: PubSubServer;
  let eventhub: EventHubPeer;
  let herald: HeraldProcess;
  let dir: string;

  beforeAll(async () => {
    for (const c of CASES) servers.set(c.type, await startRecordingServer(c.answer ? { respond: () => c.answer! } : {}));
    const pki = makeTestPki();
    const host = serverCertFor(['api.telegram.org']);
    telegram = await startRecordingServer({ tls: host, respond: () => ({ status: 200, headers: JSON_OK, body: '{"ok":true,"result":{}}' }) });
    proxy = await startProxy(undefined, { route: (h, p) => (h === 'api.telegram.org' && p === 443 ? { host: '127.0.0.1', port: telegram.port } : { host: '127.0.0.1', port: 9 }) });
    pubsub = await startPubSubServer();
    eventhub = await startEventHubPeer();

    dir = mkdtempSync(path.join(tmpdir(), 'herald-e2e-all-'));
    let yaml = '';
    for (const c of CASES) yaml += providerYaml(c.type.replace('.', '-'), c.type, c.spec(servers.get(c.type)!.url), c.secret);
    yaml += providerYaml('telegram', 'telegram', { channel: '-1001234567890' }, { token: SECRETS.telegram });
    yaml += providerYaml('googlepubsub', 'googlepubsub', { address: 'flux-project', channel: 'flux-events' });
    yaml += providerYaml('azureeventhub', 'azureeventhub', { address: eventhub.connectionString('flux-events') });
    writeFileSync(path.join(dir, 'providers.yaml'), yaml);
    const caFile = path.join(dir, 'test-ca.pem');
    writeFileSync(caFile, pki.ca);

    herald = await startHerald({
      configDir: dir,
      env: {
        // Telegram's host is fixed: the environment proxy takes it to the local server, whose certificate the test CA signs.
        HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1,localhost', NODE_EXTRA_CA_CERTS: caFile,
        PUBSUB_EMULATOR_HOST: pubsub.host,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await herald?.stop();
    await Promise.all([...servers.values(), telegram, proxy, pubsub, eventhub].filter(Boolean).map((s) => s.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers a failed health check to every endpoint, and a commit-status update to none', async () => {
    const update = fixtureJson<{ message: string; involvedObject: { name: string } }>('events/kustomize-controller-reconciliation-succeeded.json');
    update.message = `${SKIPPED_PART}, next run in 10m0s`;
    expect((await postEvent(herald.eventsUrl, update)).status).toBe(202);
    const failed = fixtureJson('events/kustomize-controller-health-check-failed.json');
    expect((await postEvent(herald.eventsUrl, failed)).status).toBe(202);

    const received = (type: string): string[] => {
      if (type === 'telegram') return telegram.requests.map(bodyText);
      if (type === 'googlepubsub') return pubsub.calls.flatMap((c) => c.messages.map((m) => m.data.toString('utf8')));
      if (type === 'azureeventhub') return eventhub.events.flatMap((e) => e.messages.map((m) => m.body.toString("utf8")));
      return servers.get(type)!.requests.map(bodyText);
    };
    const all = [...CASES.map((c) => c.type), 'telegram', 'googlepubsub', 'azureeventhub'];
    const marker = (t: string) => CASES.find((c) => c.type === t)?.expect ?? MESSAGE_PART;
    const missing = () => all.filter((t) => !received(t).some((b) => b.includes(marker(t))));
    await until(() => missing().length === 0, 20_000, 'every type to deliver').catch((err: Error) => {
      throw new Error(`${err.message}; still missing: ${missing().join(', ')}\n${herald.logs.slice(-40).join('\n')}`);
    });
    // Only the failed health check arrived (Grafana's body does not quote the message: count its requests instead).
    for (const t of all) expect(received(t).some((b) => b.includes(SKIPPED_PART)), `${t} got the commit_status=update event`).toBe(false);
    expect(servers.get('grafana')!.requests).toHaveLength(1);
    // Telegram went to its real host name and path, through the proxy.
    expect(proxy.used.some((u) => u.method === 'CONNECT' && u.target === 'api.telegram.org:443')).toBe(true);
    expect(telegram.requests[0]!.url).toBe(`/bot${SECRETS.telegram}/sendMessage`);
  });

  it('logs no failure and no credential', async () => {
    const errors = herald.records().filter((r) => r['level'] === 'error');
    expect(errors).toEqual([]);
    const log = herald.logs.join('\n');
    for (const secret of Object.values(SECRETS)) expect(log).not.toContain(secret);
  });
});
