// All-namespace Alerts end to end: the real `herald serve` with --cross-namespace-alert-namespaces delivers an
// event from any namespace for an allowed Alert, never for a refused one, and nothing with --no-cross-namespace-refs.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, postEvent, startHerald } from '../../helpers/herald-process.js';
import { startRecordingServer, type RecordingServer } from '../../helpers/recording-server.js';
import { tempConfigDirs } from '../../helpers/config-dir.js';

const configDir = tempConfigDirs('herald-allns-');

function manifests(address: string): string {
  const pair = (ns: string) => `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: hook, namespace: ${ns} }
spec: { type: generic, address: '${address}/${ns}' }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: everything, namespace: ${ns} }
spec:
  providerRef: { name: hook }
  eventSources: [{ kind: Kustomization, name: '*', namespace: '*' }]
`;
  return `${pair('platform')}---\n${pair('tenant-a')}`;
}

function event(namespace: string, revision: string) {
  return {
    involvedObject: { kind: 'Kustomization', namespace, name: 'apps', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
    severity: 'info', timestamp: '2026-07-20T10:15:30Z', message: `applied ${revision}`, reason: 'ReconciliationSucceeded',
    metadata: { revision }, reportingController: 'kustomize-controller',
  };
}

describe('herald serve with all-namespace Alerts', () => {
  let sink: RecordingServer;
  let dir: string;
  beforeAll(async () => {
    sink = await startRecordingServer();
    dir = configDir({ 'a.yaml': manifests(sink.url) });
  });
  afterAll(async () => sink.close());

  it('delivers events of any namespace for an Alert in an allowed namespace only', async () => {
    const h = await startHerald({ configDir: dir, args: ['--cross-namespace-alert-namespaces', 'platform,ops'] });
    try {
      expect((await postEvent(h.eventsUrl, event('team-x', 'r1'))).status).toBe(202);
      expect((await postEvent(h.eventsUrl, event('team-y', 'r2'))).status).toBe(202);
      const got = await sink.waitFor(2);
      await new Promise((r) => setTimeout(r, 300));
      expect(sink.requests.map((r) => r.url).sort()).toEqual(['/platform', '/platform']);
      expect(got.map((r) => JSON.parse(r.body.toString()).involvedObject.namespace).sort()).toEqual(['team-x', 'team-y']);
      // The refused tenant Alert is not even a candidate (it stays indexed under the literal namespace "*").
      const trace = await (await fetch(`${h.metricsUrl}/debug/events?object=team-x`)).json() as { events: Array<{ alerts: Array<{ alert: string; matched: boolean; rule: string }> }> };
      expect(trace.events[0]!.alerts).toEqual([{ alert: 'platform/everything', provider: 'platform/hook', matched: true, rule: 'source Kustomization/*/*' }]);
    } finally {
      await h.stop();
    }
  });

  it('delivers nothing without the flag (Flux) and nothing with --no-cross-namespace-refs', async () => {
    sink.requests.length = 0;
    for (const args of [[], ['--cross-namespace-alert-namespaces', 'platform', '--no-cross-namespace-refs']]) {
      const h = await startHerald({ configDir: dir, args });
      try {
        expect((await postEvent(h.eventsUrl, event('team-x', `r-${args.length}`))).status).toBe(202);
        await new Promise((r) => setTimeout(r, 500));
        expect(sink.requests).toEqual([]);
      } finally {
        await h.stop();
      }
    }
  });

  it('herald check and explain say why a "*" namespace is ignored', async () => {
    const check = spawnSync(process.execPath, [cliPath, 'check', '--cross-namespace-alert-namespaces', 'platform', dir], { encoding: 'utf8' });
    expect(check.stdout).toContain('warning: Alert tenant-a/everything: spec.eventSources.0.namespace: namespace "*" is ignored: the Alert\'s namespace tenant-a is not in --cross-namespace-alert-namespaces');
    expect(check.stdout).not.toContain('Alert platform/everything: spec.eventSources');
    const blocked = spawnSync(process.execPath, [cliPath, 'check', '--no-cross-namespace-refs', '--cross-namespace-alert-namespaces', 'platform', dir], { encoding: 'utf8' });
    expect(blocked.stdout).toContain('warning: Alert platform/everything: spec.eventSources.0.namespace: namespace "*" is ignored: --no-cross-namespace-refs is set');
    const ev = configDir({ 'e.json': JSON.stringify(event('team-x', 'r9')) });
    const explain = spawnSync(process.execPath, [cliPath, 'explain', '--cross-namespace-alert-namespaces', 'platform', dir, `${ev}/e.json`], { encoding: 'utf8' });
    expect(explain.stdout).toContain('platform/everything: MATCH (source Kustomization/*) -> generic provider hook');
    expect(explain.stdout).toMatch(/tenant-a\/everything: no match: .*tenant-a is not in --cross-namespace-alert-namespaces/);
  });
});
