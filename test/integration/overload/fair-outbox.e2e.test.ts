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
      const metrics = await fetch(`${h.metricsUrl}/metrics`).then((r) => r.text());
      // The stuck provider holds exactly its share; the healthy one holds nothing once delivered.
      expect(metric(metrics, 'herald_outbox_pending_deliveries')).toBe(200);
      expect(metric(metrics, 'herald_outbox_refused_total{type="generic",scope="provider"}')).toBe(30 * 50 * 2 - 200);
      const refusal = h.records().find((r) => typeof r.msg === 'string' && r.msg.startsWith('outbox full for provider flux-system/stuck'));
      expect(refusal).toMatchObject({ level: 'error', provider: 'flux-system/stuck', scope: 'provider', pending: 200 });
      expect(String(refusal!.msg)).toContain('--outbox-provider-max-pending 200');
      expect(h.records().some((r) => typeof r.msg === 'string' && r.msg.includes('outbox full for provider flux-system/healthy'))).toBe(false);
      expect(metric(metrics, 'process_resident_memory_bytes')).toBeLessThan(512 * 1024 * 1024);
    } finally {
      await h.kill();
      await stuck.close();
      await healthy.close();
    }
  });
});
