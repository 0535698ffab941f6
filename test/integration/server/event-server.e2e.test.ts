// End to end through a real `herald serve` process: status codes, dedup, delivery bytes, retries, timeouts, hot reload, secrets in logs.
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postEvent, startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import { startRecordingServer, type RecordingServer } from '../../helpers/recording-server.js';
import { fixtureJson, fixtureText } from '../../helpers/fixtures.js';

const HMAC_KEY = 's3cr3t-hmac-key';
const BEARER = 'Bearer super-secret-header-token-42';

function manifests(webhookUrl: string, slowUrl: string, flakyUrl: string): string {
  return `
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: webhook-hmac, namespace: apps }
spec:
  type: generic-hmac
  address: https://overridden.example.com/not-used
  timeout: 10s
  secretRef: { name: webhook-hmac-token }
---
apiVersion: v1
kind: Secret
metadata: { name: webhook-hmac-token, namespace: apps }
stringData:
  address: ${webhookUrl}/flux
  token: ${HMAC_KEY}
  headers: |
    X-Environment: production
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: helm-releases, namespace: apps }
spec:
  providerRef: { name: webhook-hmac }
  eventSources: [{ kind: HelmRelease, name: '*' }]
  eventMetadata: { env: production, cluster: prod-eu-1, region: eu-west-1 }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: slow, namespace: flux-system }
spec: { type: generic, address: '${slowUrl}/slow', timeout: 1s }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: slow, namespace: flux-system }
spec:
  providerRef: { name: slow }
  eventSources: [{ kind: GitRepository, name: '*' }]
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: plain, namespace: flux-system }
spec:
  type: generic
  address: ${webhookUrl}/plain
  secretRef: { name: plain-headers }
---
apiVersion: v1
kind: Secret
metadata: { name: plain-headers, namespace: flux-system }
stringData:
  headers: |
    Authorization: ${BEARER}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: plain-git, namespace: flux-system }
spec:
  providerRef: { name: plain }
  eventSources: [{ kind: GitRepository, name: '*' }]
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: flaky, namespace: flux-system }
spec: { type: generic, address: '${flakyUrl}/flaky', timeout: 10s }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: flaky, namespace: flux-system }
spec:
  providerRef: { name: flaky }
  eventSources: [{ kind: ImageUpdateAutomation, name: '*' }]
`;
}

describe('herald serve (embedded default) end to end', () => {
  let dir: string;
  let herald: HeraldProcess;
  let webhook: RecordingServer;
  let slow: RecordingServer;
  let flaky: RecordingServer;

  beforeAll(async () => {
    webhook = await startRecordingServer();
    // Never answers within the provider's 1 s timeout.
    slow = await startRecordingServer({ respond: () => new Promise((r) => setTimeout(() => r({ status: 200 }), 5000)) });
    flaky = await startRecordingServer({ respond: (_req, n) => (n === 0 ? { status: 500, body: 'boom' } : { status: 200 }) });
    dir = mkdtempSync(path.join(tmpdir(), 'herald-e2e-'));
    writeFileSync(path.join(dir, 'config.yaml'), manifests(webhook.url, slow.url, flaky.url));
    writeFileSync(path.join(dir, 'broken.yaml'), 'apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata: { name: broken, namespace: apps }\nspec: { eventSources: [] }\n');
    herald = await startHerald({ configDir: dir });
  });

  afterAll(async () => {
    await herald?.stop();
    await Promise.all([webhook?.close(), slow?.close(), flaky?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the exact generic-hmac request of the fixture vector (body bytes, headers, signature)', async () => {
    const res = await postEvent(herald.eventsUrl, fixtureText('events/helm-controller-upgrade-succeeded.json'));
    expect(res.status).toBe(202);
    expect(res.headers.get('x-ratelimit-limit')).toBe('1');
    expect(res.headers.get('x-ratelimit-reset')).toMatch(/ UTC$/);
    const [req] = await webhook.waitFor(1);
    const expected = fixtureJson<{ headers: Record<string, string>; bodySha256: string }>('expected/generic-hmac-upgrade-succeeded.request.json');
    const body = fixtureText('expected/generic-hmac-upgrade-succeeded.body.json');
    expect(req!.url).toBe('/flux');
    expect(req!.text).toBe(body);
    expect(createHash('sha256').update(req!.body).digest('hex')).toBe(expected.bodySha256);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['gotk-component']).toBe('helm-controller');
    expect(req!.headers['x-environment']).toBe('production');
    expect(req!.headers['x-signature']).toBe(expected.headers['X-Signature']);
    expect(req!.headers['x-signature']).toBe(`sha256=${createHmac('sha256', HMAC_KEY).update(req!.body).digest('hex')}`);
  });

  it('answers 429 to the same event inside the window, with Retry-After', async () => {
    const res = await postEvent(herald.eventsUrl, fixtureText('events/helm-controller-upgrade-succeeded.json'));
    expect(res.status).toBe(429);
    expect(await res.text()).toBe('Too Many Requests\n');
    expect(res.headers.get('retry-after')).toMatch(/ UTC$/);
  });

  it('answers 400 with the bad field for malformed events and 405 for other methods', async () => {
    const bad = await postEvent(herald.eventsUrl, { involvedObject: { kind: 'Kustomization', name: 'x' }, severity: 'info' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'involvedObject.namespace' });
    const notJson = await postEvent(herald.eventsUrl, '{nope');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toContain('not valid JSON');
    const sev = await postEvent(herald.eventsUrl, { involvedObject: { kind: 'K', namespace: 'a', name: 'b' }, severity: 'warning' });
    expect(((await sev.json()) as { field: string }).field).toBe('severity');
    const get = await fetch(`${herald.eventsUrl}/any/path`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('accepts POST on any path and without a content type', async () => {
    const ev = { involvedObject: { kind: 'Bucket', namespace: 'x', name: 'y' }, severity: 'info', message: 'any path' };
    const res = await fetch(`${herald.eventsUrl}/some/where`, { method: 'POST', body: JSON.stringify(ev) });
    expect(res.status).toBe(202);
  });

  it('answers 413 above 3 MiB and accepts exactly 3 MiB', async () => {
    const base = JSON.stringify({ involvedObject: { kind: 'Bucket', namespace: 'x', name: 'big' }, severity: 'info', message: '' });
    const pad = (n: number) => base.replace('"message":""', `"message":"${'a'.repeat(n - base.length)}"`);
    const big = await postEvent(herald.eventsUrl, pad(3 * 1024 * 1024 + 1));
    expect(big.status).toBe(413);
    const exact = await postEvent(herald.eventsUrl, pad(3 * 1024 * 1024));
    expect(exact.status).toBe(202);
  });

  it('keeps a slow provider from delaying another one, and times it out', async () => {
    const ev = JSON.parse(fixtureText('events/source-controller-new-artifact.json'));
    const started = Date.now();
    const res = await postEvent(herald.eventsUrl, ev);
    expect(res.status).toBe(202);
    const reqs = await webhook.waitFor(2);
    const plain = reqs.find((r) => r.url === '/plain')!;
    expect(Date.now() - started).toBeLessThan(900);
    expect(plain.headers.authorization).toBe(BEARER);
    // digest is stripped on receipt, revision forwarded unprefixed.
    expect(JSON.parse(plain.text).metadata).toEqual({ revision: 'main@sha1:3b31194874c356dd047ba2db7aa9d5347a0be7aa' });
    await herald.waitForLog(/failed to send notification.*slow|slow.*failed to send notification/, 10_000);
  });

  it('retries a provider that answers 500 and delivers on the next attempt', async () => {
    const res = await postEvent(herald.eventsUrl, fixtureText('events/image-automation-push-succeeded.json'));
    expect(res.status).toBe(202);
    const reqs = await flaky.waitFor(2, 8000);
    expect(reqs[0]!.text).toBe(reqs[1]!.text);
    const metrics = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/herald_notifications_total\{type="generic",result="delivered"\} [1-9]/);
    expect(metrics).toMatch(/gotk_event_http_request_duration_seconds_count\{service="",handler="\/",method="POST",code="429"\} 1/);
  });

  it('reports a broken manifest with its file and field and keeps the others working', () => {
    const line = herald.logs.find((l) => l.includes('broken.yaml'));
    expect(line).toBeDefined();
    expect(line).toContain('providerRef');
  });

  it('picks up an added and a removed file without a restart', async () => {
    const extra = path.join(dir, 'extra.yaml');
    const tmp = path.join(dir, '.extra.tmp');
    writeFileSync(tmp, `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: extra, namespace: flux-system }
spec:
  providerRef: { name: plain }
  eventSources: [{ kind: HelmChart, name: '*' }]
`);
    renameSync(tmp, extra);
    const ev = { involvedObject: { kind: 'HelmChart', namespace: 'flux-system', name: 'c' }, severity: 'info', message: 'hot reload' };
    const deadline = Date.now() + 3000;
    let delivered = false;
    for (let i = 0; !delivered && Date.now() < deadline; i++) {
      await postEvent(herald.eventsUrl, { ...ev, message: `hot reload ${i}` });
      await new Promise((r) => setTimeout(r, 200));
      delivered = webhook.requests.some((r) => r.text.includes('hot reload'));
    }
    expect(delivered).toBe(true);
    rmSync(extra);
    await new Promise((r) => setTimeout(r, 2000));
    const before = webhook.requests.length;
    await postEvent(herald.eventsUrl, { ...ev, message: 'after removal' });
    await new Promise((r) => setTimeout(r, 500));
    expect(webhook.requests.length).toBe(before);
  });

  it('never writes a token, password or secret header into a log line', () => {
    const all = herald.logs.join('\n');
    expect(all).not.toContain(HMAC_KEY);
    expect(all).not.toContain('super-secret-header-token-42');
  });
});
