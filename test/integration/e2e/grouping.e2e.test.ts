// Burst grouping end to end through real `herald serve` processes: one Slack message per window, the flush at 50,
// commit-status types never grouped, `herald check` on the annotation, shutdown flush, and kill -9 under --outbox jetstream.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { postEvent, startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import { startJetStreamHerald } from '../../helpers/jetstream-e2e.js';
import { startNatsServer } from '../../helpers/nats-server.js';
import { startRecordingServer, type RecordedRequest, type RecordingServer } from '../../helpers/recording-server.js';
import { until } from '../../helpers/wait.js';
import { checkDirectory } from '../../../src/tools.js';

const SHA = '36e078398e08984c645aaad358c9b33e256195fd';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function configDir(sinkUrl: string, window: string): string {
  const alert = (name: string, provider: string) => `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: ${name}, namespace: apps, annotations: { herald.dev/group-window: '${window}' } }
spec: { providerRef: { name: ${provider} }, eventSources: [{ kind: Kustomization, name: '*' }] }`;
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-grouping-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'herald.yaml'), `
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: slack, namespace: apps }
spec: { type: slack, address: '${sinkUrl}/slack', timeout: 5s }
---
${alert('burst', 'slack')}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: gitea, namespace: apps }
spec: { type: gitea, address: '${sinkUrl}/acme/webapp', timeout: 5s, secretRef: { name: gitea-token } }
---
apiVersion: v1
kind: Secret
metadata: { name: gitea-token, namespace: apps }
stringData: { token: gitea-secret-token }
---
${alert('status', 'gitea')}
`);
  return dir;
}

function event(i: number, severity = 'info'): Record<string, unknown> {
  return {
    involvedObject: { kind: 'Kustomization', namespace: 'apps', name: `app-${i}`, apiVersion: 'kustomize.toolkit.fluxcd.io/v1', uid: `uid-${i}` },
    severity,
    timestamp: '2026-07-20T10:18:45Z',
    message: `message ${i}`,
    reason: severity === 'error' ? 'ReconciliationFailed' : 'ReconciliationSucceeded',
    metadata: { 'kustomize.toolkit.fluxcd.io/revision': `main@sha1:${SHA}`, 'event.toolkit.fluxcd.io/commit': SHA },
    reportingController: 'kustomize-controller',
  };
}

async function sink(): Promise<RecordingServer> {
  // Gitea asks for the server version and lists a commit's statuses before posting one.
  const json = (body: string) => ({ status: 200, headers: { 'content-type': 'application/json' }, body });
  const s = await startRecordingServer({
    respond: (req) => (req.url === '/api/v1/version' ? json('{"version":"1.21.0"}') : req.method === 'GET' ? json('[]') : { status: 200 }),
  });
  cleanups.push(() => s.close());
  return s;
}

const slackPosts = (s: RecordingServer): RecordedRequest[] => s.requests.filter((r) => r.url === "/slack");
const statusPosts = (s: RecordingServer): RecordedRequest[] => s.requests.filter((r) => r.method === 'POST' && r.url.includes('/statuses/'));
type Attachment = { color: string; text: string; author_name: string };
const attachment = (r: RecordedRequest): Attachment => (JSON.parse(r.text) as { attachments: Attachment[] }).attachments[0]!;
const objectsIn = (a: Attachment): string[] => [...a.text.matchAll(/Kustomization\/apps\/(app-\d+)/g)].map((m) => m[1]!);

async function postAll(h: HeraldProcess, ids: number[], severityOf: (i: number) => string = () => 'info'): Promise<void> {
  for (const i of ids) {
    const res = await postEvent(h.eventsUrl, event(i, severityOf(i)));
    await res.arrayBuffer();
    expect(res.status).toBe(202);
  }
}

function track(h: HeraldProcess): HeraldProcess {
  cleanups.push(() => h.kill());
  return h;
}

describe('burst grouping (herald.dev/group-window)', () => {
  it('sends a burst of 30 events as one Slack message with the worst severity, 60 as two (flush at 50), and never groups commit statuses', async () => {
    const s = await sink();
    const h = track(await startHerald({ configDir: configDir(s.url, '1500ms') }));

    await postAll(h, Array.from({ length: 30 }, (_, i) => i), (i) => (i === 7 ? 'error' : 'info'));
    // Nothing for Slack before the window ends; the commit statuses go one by one at once.
    await until(() => statusPosts(s).length === 30, 10_000, '30 commit statuses');
    expect(slackPosts(s)).toHaveLength(0);
    await until(() => slackPosts(s).length === 1, 10_000, 'the grouped Slack message');
    const a = attachment(slackPosts(s)[0]!);
    expect(objectsIn(a)).toEqual(Array.from({ length: 30 }, (_, i) => `app-${i}`));
    expect(a.text).toContain('Kustomization/apps/app-7 [error] message 7');
    expect(a.text).toContain('Kustomization/apps/app-3 [info] message 3');
    expect(a.color).toBe('danger');
    expect(a.author_name).toBe('30 events for Alert apps/burst (1 error, 29 info)');
    await sleep(2000);
    expect(slackPosts(s)).toHaveLength(1);

    // 60 more: the 50th sends at once, the other 10 at the end of their own window.
    await postAll(h, Array.from({ length: 60 }, (_, i) => 100 + i));
    await until(() => slackPosts(s).length === 3, 10_000, 'two more Slack messages');
    const [first, second] = slackPosts(s).slice(1).map(attachment);
    expect(objectsIn(first!)).toEqual(Array.from({ length: 50 }, (_, i) => `app-${100 + i}`));
    expect(objectsIn(second!)).toEqual(Array.from({ length: 10 }, (_, i) => `app-${150 + i}`));
    expect(first!.color).toBe('good');
    await until(() => statusPosts(s).length === 90, 10_000, '90 commit statuses');
    expect(statusPosts(s)).toHaveLength(90);
    await h.stop();
  }, 60_000);

  it('a lone event is sent unchanged, and a pending group is flushed on shutdown (memory outbox)', async () => {
    const s = await sink();
    const h = track(await startHerald({ configDir: configDir(s.url, '2s') }));
    await postAll(h, [1]);
    await until(() => slackPosts(s).length === 1, 10_000, 'the lone event');
    const lone = attachment(slackPosts(s)[0]!);
    expect(lone.text).toBe('message 1');

    await postAll(h, [2, 3, 4]);
    expect(await h.stop()).toBe(0);
    expect(slackPosts(s)).toHaveLength(2);
    expect(objectsIn(attachment(slackPosts(s)[1]!))).toEqual(['app-2', 'app-3', 'app-4']);
  }, 30_000);

  it('an Alert with a bad window sends its events one by one and records a Warning Event', async () => {
    const s = await sink();
    const h = track(await startHerald({ configDir: configDir(s.url, 'soon') }));
    await postAll(h, [1, 2]);
    await until(() => slackPosts(s).length === 2, 10_000, 'two ungrouped messages');
    expect(slackPosts(s).map((r) => attachment(r).text)).toEqual(['message 1', 'message 2']);
    await h.waitForLog('annotation herald.dev/group-window: invalid duration \\"soon\\"');
    await h.waitForLog('"reason":"InvalidConfig"');
    await h.stop();
  }, 30_000);

  it('herald check reports a bad group window and warns when the type is never grouped', async () => {
    const dir = configDir('http://127.0.0.1:1', 'soon');
    const out: string[] = [];
    expect(await checkDirectory(dir, (l) => out.push(l))).not.toBe(0);
    expect(out.join('\n')).toContain('Alert apps/burst: annotation herald.dev/group-window: invalid duration "soon"');

    const ok = configDir('http://127.0.0.1:1', '30s');
    const lines: string[] = [];
    expect(await checkDirectory(ok, (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toContain('warning: Alert apps/status: annotation herald.dev/group-window has no effect: gitea notifications are never grouped');
    expect(lines.join('\n')).not.toContain('apps/burst');
  });

  it('with --outbox jetstream, a group pending at kill -9 is sent after the restart, once', async () => {
    const nats = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    const s = await sink();
    const dir = configDir(s.url, '3s');
    const first = track(await startJetStreamHerald(dir, nats.url));
    await postAll(first, [1, 2, 3, 4, 5], (i) => (i === 4 ? 'error' : 'info'));
    await first.kill();
    expect(slackPosts(s)).toHaveLength(0);

    const second = track(await startJetStreamHerald(dir, nats.url));
    await until(() => slackPosts(s).length === 1, 20_000, 'the stored group after the restart');
    const a = attachment(slackPosts(s)[0]!);
    expect(objectsIn(a)).toEqual(['app-1', 'app-2', 'app-3', 'app-4', 'app-5']);
    expect(a.color).toBe('danger');
    // A later scan must not send it again: the stored events were removed once the group was in the outbox.
    await sleep(3000);
    expect(slackPosts(s)).toHaveLength(1);

    // And a group that is not interrupted is sent by the window, as in memory.
    await postAll(second, [6, 7]);
    await until(() => slackPosts(s).length === 2, 15_000, 'the second group');
    expect(objectsIn(attachment(slackPosts(s)[1]!))).toEqual(['app-6', 'app-7']);
    await second.stop();
  }, 90_000);

  it('with --outbox jetstream, 60 events give two messages (50 at once), and a grouped event gets 503 while NATS is down', async () => {
    const nats = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    const s = await sink();
    const h = track(await startJetStreamHerald(configDir(s.url, '5s'), nats.url));
    const started = Date.now();
    await postAll(h, Array.from({ length: 60 }, (_, i) => i));
    // The first 50 are sent without waiting for the window.
    await until(() => slackPosts(s).length === 1, 4000, 'the first 50 before the window ends');
    expect(Date.now() - started).toBeLessThan(5000);
    await until(() => slackPosts(s).length === 2, 15_000, 'two grouped messages');
    const [first, second] = slackPosts(s).map(attachment);
    expect(objectsIn(first!)).toEqual(Array.from({ length: 50 }, (_, i) => `app-${i}`));
    expect(objectsIn(second!)).toEqual(Array.from({ length: 10 }, (_, i) => `app-${50 + i}`));

    await nats.halt();
    const down = await postEvent(h.eventsUrl, event(99));
    expect(down.status).toBe(503);
    await down.arrayBuffer();
    await h.stop();
  }, 60_000);
});
