// A provider that never answers, behind 50 Alerts, fills only its own share of the memory outbox: events for a healthy
// provider keep being accepted and delivered, and the stuck provider's refusals are logged and counted.
import { describe, expect, it } from 'vitest';
import { tempConfigDirs } from '../../helpers/config-dir.js';
import { postEvent, startHerald } from '../../helpers/herald-process.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { startHangingServer } from '../../helpers/overload.js';

function manifests(stuckUrl: string, healthyUrl: string): string {
  const docs = [
    `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: stuck, namespace: flux-system }
spec: { type: generic, address: '${stuckUrl}/hook', timeout: 60s }`,
    `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: healthy, namespace: flux-system }
spec: { type: generic, address: '${healthyUrl}/hook' }`,
    `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: healthy, namespace: flux-system }
spec:
  providerRef: { name: healthy }
  eventSources: [{ kind: Kustomization, name: '*' }]`,
  ];
  for (let i = 0; i < 50; i++) {
    docs.push(`apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: stuck-${i}, namespace: flux-system }
spec:
  providerRef: { name: stuck }
  eventSources: [{ kind: GitRepository, name: '*' }, { kind: Kustomization, name: 'both' }]`);
  }
  return docs.join('\n---\n');
}

function metric(text: string, name: string): number {
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('fair memory outbox', () => {
  const configDir = tempConfigDirs('herald-fair-');

  it('keeps accepting and delivering events for a healthy provider while a stuck one is over its share', async () => {
    const stuck = await startHangingServer();
    const healthy = await startRecordingServer();
    const dir = configDir({ 'c.yaml': manifests(stuck.url, healthy.url) });
    const h = await startHerald({
      configDir: dir,
      args: ['--outbox-provider-max-pending', '200', '--outbox-max-pending', '100000', '--shutdown-grace-period', '1s'],
    });
    try {
      const statuses = { stuck: [] as number[], healthy: [] as number[], both: [] as number[] };
      const msg = 'm'.repeat(10_000);
      for (let i = 0; i < 30; i++) {
        // 50 deliveries each for the stuck provider: its share (200) is full after four such events.
        const s = await postEvent(h.eventsUrl, { involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'repo' }, severity: 'info', message: `stuck ${i} ${msg}` });
        statuses.stuck.push(s.status);
        const ok = await postEvent(h.eventsUrl, { involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: 'app' }, severity: 'info', message: `healthy ${i}` });
        statuses.healthy.push(ok.status);
        // Matches the healthy provider and all 50 stuck Alerts: accepted for the healthy one.
        const both = await postEvent(h.eventsUrl, { involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: 'both' }, severity: 'info', message: `both ${i}` });
        statuses.both.push(both.status);
      }
      expect(statuses.healthy.every((s) => s === 202)).toBe(true);
      expect(statuses.both.every((s) => s === 202)).toBe(true);
      // stuck 0 and both 0, stuck 1 and both 1 fill the share of 200.
      expect(statuses.stuck.slice(0, 2)).toEqual([202, 202]);
      // Once the share is full, an event whose every delivery is refused gets 503, so that the emitter retries.
      expect(statuses.stuck.slice(2).every((s) => s === 503)).toBe(true);
      await healthy.waitFor(60, 10_000);
      const texts = healthy.requests.map((r) => JSON.parse(r.text).message as string);
      for (let i = 0; i < 30; i++) {
        expect(texts).toContain(`healthy ${i}`);
        expect(texts).toContain(`both ${i}`);
      }
      // The last healthy deliveries may still be finishing: wait until the outbox holds only the stuck share.
      let metrics = '';
      for (let i = 0; i < 40; i++) {
        metrics = await fetch(`${h.metricsUrl}/metrics`).then((r) => r.text());
        if (metric(metrics, 'herald_outbox_pending_deliveries') === 200) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      // The stuck provider holds exactly its share; the healthy one holds nothing once delivered.
      expect(metric(metrics, 'herald_outbox_pending_deliveries')).toBe(200);
      expect(metric(metrics, 'herald_outbox_refused_total{type="generic",scope="provider"}')).toBe(30 * 50 * 2 - 200);
      const refusal = h.records().find((r) => typeof r.msg === 'string' && r.msg.startsWith('outbox full for provider flux-system/stuck'));
      expect(refusal).toMatchObject({ level: 'error', provider: 'flux-system/stuck', scope: 'provider', pending: 200 });
      expect(String(refusal!.msg)).toContain('--outbox-provider-max-pending 200');
      expect(h.records().some((r) => typeof r.msg === 'string' && r.msg.includes('outbox full for provider flux-system/healthy'))).toBe(false);
      // Each of the 28 refused events is counted and answered 503, but not logged once more by the event server: the
      // outbox's line (at most one a second per provider) is the report; a line per refused event flooded the log.
      expect(metric(metrics, 'herald_events_total{outcome="unavailable"}')).toBe(28);
      expect(h.records().filter((r) => r.msg === 'could not accept the event' && r.level === 'error')).toHaveLength(0);
      expect(metric(metrics, 'process_resident_memory_bytes')).toBeLessThan(512 * 1024 * 1024);
    } finally {
      await h.kill();
      await stuck.close();
      await healthy.close();
    }
  });
});

describe('memory outbox bounded by bytes', () => {
  const configDir = tempConfigDirs('herald-bytes-');

  it('holds at most the provider byte share of 256 KiB events during an outage and delivers every accepted one after it', async () => {
    let down = true;
    const hook = await startRecordingServer({ respond: () => (down ? { status: 503, headers: { 'retry-after': '1' }, body: 'down' } : { status: 200 }) });
    const dir = configDir({ 'c.yaml': `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: flaky, namespace: flux-system }
spec: { type: generic, address: '${hook.url}/hook', timeout: 30s }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: all, namespace: flux-system }
spec:
  providerRef: { name: flaky }
  eventSources: [{ kind: GitRepository, name: '*' }]
` });
    const h = await startHerald({ configDir: dir, args: ['--outbox-provider-max-bytes', '4Mi'] });
    try {
      const accepted: string[] = [];
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const message = `event-${i}-${'x'.repeat(256 * 1024)}`;
        const r = await postEvent(h.eventsUrl, { involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'repo' }, severity: 'info', message });
        statuses.push(r.status);
        if (r.status === 202) accepted.push(`event-${i}-`);
      }
      const metrics = await fetch(`${h.metricsUrl}/metrics`).then((r) => r.text());
      const held = metric(metrics, 'herald_outbox_pending_bytes');
      // 4 MiB hold 15 such notifications (their size counts the message and the metadata around it).
      expect(accepted.length).toBe(15);
      expect(statuses.slice(15).every((s) => s === 503)).toBe(true);
      expect(held).toBeLessThanOrEqual(4 * 1024 * 1024);
      expect(held).toBeGreaterThan(3.5 * 1024 * 1024);
      down = false;
      // The retries (every second, Retry-After) drain the outbox once the endpoint answers again.
      let pending = held;
      for (let i = 0; i < 100 && pending > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        pending = metric(await fetch(`${h.metricsUrl}/metrics`).then((r) => r.text()), 'herald_outbox_pending_bytes');
      }
      expect(pending).toBe(0);
      // Every accepted event was delivered (the refused ones were answered 503, so their emitters retry them).
      const delivered = new Set(hook.requests.filter((q) => q.headers['content-length'] !== undefined).flatMap((q) => {
        try {
          const m = String(JSON.parse(q.text).message);
          return [m.slice(0, m.indexOf('-', 6) + 1)];
        } catch {
          return [];
        }
      }));
      expect(hook.requests.length).toBeGreaterThan(accepted.length);
      for (const a of accepted) expect(delivered).toContain(a);
      expect(h.records().some((r) => r.msg === 'notification delivered')).toBe(true);
    } finally {
      await h.kill();
      await hook.close();
    }
  });
});
