// Tenant-safe all-namespace Alerts: `namespace: "*"` only for allowed Alert namespaces, never with
// --no-cross-namespace-refs, and an index whose cost does not grow with the number of Alerts.
import { describe, expect, it } from 'vitest';
import type { Alert, AlertSpec } from '../../../src/api/alert.js';
import type { FluxEvent } from '../../../src/api/event.js';
import { explainAlert, selectAlerts } from '../../../src/routing/match.js';
import { AllNamespacePolicy, parseNamespaceList } from '../../../src/routing/all-namespaces.js';
import { compileAlert, ResourceStore, type LabelLookup } from '../../../src/resources/store.js';
import { prepareNotification } from '../../../src/routing/notification.js';

function alert(name: string, namespace: string, spec: Partial<AlertSpec>): Alert {
  return {
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert',
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: { providerRef: { name: 'p' }, eventSeverity: 'info', eventSources: [], ...spec },
  };
}

function event(namespace: string, kind = 'Kustomization'): FluxEvent {
  return {
    involvedObject: { kind, namespace, name: 'apps', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
    severity: 'info', timestamp: null, message: 'Health check failed', reason: 'HealthCheckFailed', metadata: {}, reportingController: 'kustomize-controller',
  };
}

const noLabels: LabelLookup = async () => undefined;
const platformWide = alert('all', 'platform', { eventSources: [{ kind: 'Kustomization', name: '*', namespace: '*' }] });
const tenantWide = alert('sneaky', 'tenant-a', { eventSources: [{ kind: 'Kustomization', name: '*', namespace: '*' }] });

describe('the all-namespace policy', () => {
  it('parses the flag list and refuses everything by default (Flux: "*" is a literal namespace)', () => {
    expect(parseNamespaceList(' platform, ,ops ')).toEqual(['platform', 'ops']);
    expect(AllNamespacePolicy.none.allows('platform')).toBe(false);
    expect(AllNamespacePolicy.none.refusal('platform')).toMatch(/platform is not in --cross-namespace-alert-namespaces/);
  });

  it('allows only the named namespaces', () => {
    const p = new AllNamespacePolicy(['platform']);
    expect(p.allows('platform')).toBe(true);
    expect(p.allows('tenant-a')).toBe(false);
    expect(p.refusal('platform')).toBeUndefined();
  });

  it('allows nothing with --no-cross-namespace-refs', () => {
    const p = new AllNamespacePolicy(['platform'], true);
    expect(p.allows('platform')).toBe(false);
    expect(p.refusal('platform')).toMatch(/--no-cross-namespace-refs/);
  });
});

describe('matching a "*" namespace source', () => {
  const allowed = new AllNamespacePolicy(['platform']);

  it('matches events of every namespace for an allowed Alert', async () => {
    for (const ns of ['apps', 'tenant-b', 'platform']) {
      expect((await explainAlert(event(ns), compileAlert(platformWide), noLabels, [], allowed)).matched).toBe(true);
    }
    // Kind still has to match.
    expect((await explainAlert(event('apps', 'HelmRelease'), compileAlert(platformWide), noLabels, [], allowed)).matched).toBe(false);
  });

  it('refuses an Alert whose namespace is not named, and says why', async () => {
    const v = await explainAlert(event('apps'), compileAlert(tenantWide), noLabels, [], allowed);
    expect(v).toEqual({ matched: false, rule: expect.stringContaining('namespace "*" is ignored: the Alert\'s namespace tenant-a is not in --cross-namespace-alert-namespaces') });
  });

  it('without the flag behaves as Flux: no event matches', async () => {
    const v = await explainAlert(event('apps'), compileAlert(platformWide), noLabels);
    expect(v.matched).toBe(false);
  });

  it('with --no-cross-namespace-refs nothing matches, and the cross-namespace block would refuse it anyway', async () => {
    const blocked = new AllNamespacePolicy(['platform'], true);
    const v = await explainAlert(event('apps'), compileAlert(platformWide), noLabels, [], blocked);
    expect(v).toEqual({ matched: false, rule: expect.stringContaining('--no-cross-namespace-refs') });
    const prepared = prepareNotification(event('apps'), compileAlert(platformWide), { noCrossNamespaceRefs: true, provider: () => undefined });
    expect(prepared.kind).toBe('error');
  });
});

describe('the store index', () => {
  it('returns allowed all-namespace Alerts for every namespace, sorted and once, and not refused ones', () => {
    const store = new ResourceStore();
    store.setAllNamespacePolicy(new AllNamespacePolicy(['platform']));
    store.upsert(platformWide);
    store.upsert(tenantWide);
    const local = alert('local', 'apps', { eventSources: [{ kind: 'Kustomization', name: '*' }, { kind: 'Kustomization', name: 'x', namespace: '*' }] });
    store.upsert(local);
    const both = alert('both', 'platform', { eventSources: [{ kind: 'Kustomization', name: '*', namespace: 'apps' }, { kind: 'Kustomization', name: '*', namespace: '*' }] });
    store.upsert(both);
    const names = (ns: string, kind = 'Kustomization') => store.alertsFor({ kind, namespace: ns }).map((c) => `${c.alert.metadata.namespace}/${c.alert.metadata.name}`);
    expect(names('apps')).toEqual(['apps/local', 'platform/all', 'platform/both']);
    expect(names('zzz')).toEqual(['platform/all', 'platform/both']);
    expect(names('zzz', 'HelmRelease')).toEqual([]);
    // A refused "*" stays under the literal namespace "*", as in Flux: only an event of namespace "*" could match.
    expect(names('*')).toEqual(['apps/local', 'platform/all', 'platform/both', 'tenant-a/sneaky']);
  });

  it('re-indexes on a policy change and forgets deleted Alerts', () => {
    const store = new ResourceStore();
    store.upsert(platformWide);
    expect(store.alertsFor({ kind: 'Kustomization', namespace: 'apps' })).toEqual([]);
    store.setAllNamespacePolicy(new AllNamespacePolicy(['platform']));
    expect(store.alertsFor({ kind: 'Kustomization', namespace: 'apps' })).toHaveLength(1);
    store.upsert({ ...platformWide, spec: { ...platformWide.spec, eventSources: [{ kind: 'HelmRelease', name: '*', namespace: '*' }] } });
    expect(store.alertsFor({ kind: 'Kustomization', namespace: 'apps' })).toEqual([]);
    expect(store.alertsFor({ kind: 'HelmRelease', namespace: 'apps' })).toHaveLength(1);
    store.delete('Alert', 'platform', 'all');
    expect(store.alertsFor({ kind: 'HelmRelease', namespace: 'apps' })).toEqual([]);
    store.setAllNamespacePolicy(new AllNamespacePolicy(['platform'], true));
    store.upsert(platformWide);
    expect(store.alertsFor({ kind: 'Kustomization', namespace: 'apps' })).toEqual([]);
  });

  it('keeps candidates flat in the number of Alerts: 10,000 namespaced Alerts add nothing to an unrelated event', async () => {
    const store = new ResourceStore();
    store.setAllNamespacePolicy(new AllNamespacePolicy(['platform']));
    for (let i = 0; i < 10_000; i++) store.upsert(alert(`a-${i}`, `tenant-${i % 500}`, { eventSources: [{ kind: 'Kustomization', name: '*' }] }));
    for (let i = 0; i < 5; i++) store.upsert(alert(`wide-${i}`, 'platform', { eventSources: [{ kind: 'Kustomization', name: '*', namespace: '*' }] }));
    const candidates = store.alertsFor({ kind: 'Kustomization', namespace: 'bench' });
    expect(candidates).toHaveLength(5);
    expect(store.alertsFor({ kind: 'Kustomization', namespace: 'tenant-7' })).toHaveLength(20 + 5);
    const { matched } = await selectAlerts(event('bench'), candidates, noLabels, store.allNamespacePolicy);
    expect(matched).toHaveLength(5);
  });
});

describe('docs/all-namespace-alerts.md', () => {
  it('its example parses and matches an error event of any namespace once the flag allows platform', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseManifests } = await import('../../../src/resources/manifests.js');
    const page = readFileSync(new URL('../../../docs/all-namespace-alerts.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(page)![1]!;
    const { objects, problems } = parseManifests(yaml, 'docs/all-namespace-alerts.md');
    expect(problems).toEqual([]);
    const store = new ResourceStore();
    store.setAllNamespacePolicy(new AllNamespacePolicy(['platform']));
    for (const o of objects) store.upsert(o);
    const e = { ...event('team-x'), severity: 'error' };
    const { matched } = await selectAlerts(e, store.alertsFor(e.involvedObject), noLabels, store.allNamespacePolicy);
    expect(matched.map((c) => c.alert.metadata.name)).toEqual(['all-failures']);
  });
});
