import { describe, expect, it } from 'vitest';
import type { Alert, AlertSpec } from '../../../src/api/alert.js';
import type { FluxEvent } from '../../../src/api/event.js';
import { explainAlert, selectAlerts } from '../../../src/routing/match.js';
import { compileAlert, ResourceStore, type LabelLookup } from '../../../src/resources/store.js';

function alert(name: string, spec: Partial<AlertSpec>, namespace = 'flux-system'): Alert {
  return {
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert',
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: { providerRef: { name: 'p' }, eventSeverity: 'info', eventSources: [], ...spec },
  };
}

function event(over: Partial<FluxEvent> = {}, ref: Partial<FluxEvent['involvedObject']> = {}): FluxEvent {
  return {
    involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: 'apps', apiVersion: 'kustomize.toolkit.fluxcd.io/v1', ...ref },
    severity: 'info', timestamp: null, message: 'Health check failed after 2m', reason: 'HealthCheckFailed', metadata: {}, reportingController: 'kustomize-controller',
    ...over,
  };
}

const noLabels: LabelLookup = async () => undefined;
const labelsOf = (labels: Record<string, string>): LabelLookup => async () => labels;

async function verdict(a: Alert, e: FluxEvent, labels: LabelLookup = noLabels) {
  return explainAlert(e, compileAlert(a), labels);
}

describe('event source matching (event-server.md §7.4)', () => {
  it('defaults the source namespace to the Alert namespace', async () => {
    const a = alert('a', { eventSources: [{ kind: 'Kustomization', name: '*' }] });
    expect((await verdict(a, event())).matched).toBe(true);
    expect((await verdict(a, event({}, { namespace: 'other' }))).matched).toBe(false);
  });

  it('matches another namespace only when the source names it', async () => {
    const a = alert('a', { eventSources: [{ kind: 'HelmRelease', name: '*', namespace: 'apps' }] });
    expect((await verdict(a, event({}, { kind: 'HelmRelease', namespace: 'apps' }))).matched).toBe(true);
  });

  it('compares kind and name exactly; only a lone * is a wildcard', async () => {
    const a = alert('a', { eventSources: [{ kind: 'Kustomization', name: 'app*' }] });
    expect((await verdict(a, event())).matched).toBe(false);
    expect((await verdict(a, event({}, { name: 'app*' }))).matched).toBe(true);
    const b = alert('b', { eventSources: [{ kind: 'Kustomization', name: 'apps' }] });
    expect((await verdict(b, event({}, { kind: 'kustomization' }))).matched).toBe(false);
  });

  it('lets eventSeverity info pass every severity and error only error', async () => {
    const info = alert('i', { eventSources: [{ kind: 'Kustomization', name: '*' }], eventSeverity: 'info' });
    const err = alert('e', { eventSources: [{ kind: 'Kustomization', name: '*' }], eventSeverity: 'error' });
    expect((await verdict(info, event({ severity: 'error' }))).matched).toBe(true);
    expect((await verdict(info, event({ severity: 'trace' }))).matched).toBe(true);
    expect((await verdict(err, event({ severity: 'info' }))).matched).toBe(false);
    expect((await verdict(err, event({ severity: 'error' }))).matched).toBe(true);
  });

  it('ignores suspended Alerts', async () => {
    const a = alert('a', { eventSources: [{ kind: 'Kustomization', name: '*' }], suspend: true });
    expect(await verdict(a, event())).toEqual({ matched: false, rule: 'the Alert is suspended' });
  });

  it('requires every matchLabels entry on the involved object', async () => {
    const a = alert('a', { eventSources: [{ kind: 'Kustomization', name: '*', matchLabels: { team: 'dev', tier: 'web' } }] });
    expect((await verdict(a, event(), labelsOf({ team: 'dev', tier: 'web', x: 'y' }))).matched).toBe(true);
    expect((await verdict(a, event(), labelsOf({ team: 'dev' }))).matched).toBe(false);
  });

  it('treats an empty matchLabels as "the object must exist"', async () => {
    const a = alert('a', { eventSources: [{ kind: 'Kustomization', name: '*', matchLabels: {} }] });
    expect((await verdict(a, event(), labelsOf({}))).matched).toBe(true);
    expect((await verdict(a, event(), noLabels)).matched).toBe(false);
  });

  it('warns SourceFetchFailed when the object cannot be read and InvalidConfig for bad label keys', async () => {
    const a = alert('a', { eventSources: [{ kind: 'Kustomization', name: '*', matchLabels: { team: 'dev' } }] });
    const store = new ResourceStore();
    store.upsert(a);
    const r = await selectAlerts(event(), store.alertsFor(event().involvedObject), noLabels);
    expect(r.matched).toEqual([]);
    expect(r.warnings.map((w) => [w.reason, w.message])).toEqual([['SourceFetchFailed', 'error getting source object Kustomization/flux-system/apps']]);
    const bad = alert('b', { eventSources: [{ kind: 'Kustomization', name: 'x', matchLabels: { 'bad key!': 'v' } }] });
    const w: { reason: string; message: string }[] = [];
    await explainAlert(event({}, { name: 'x' }), compileAlert(bad), labelsOf({}), w as never);
    expect(w).toEqual([{ reason: 'InvalidConfig', message: 'error using matchLabels from event source Kustomization/flux-system/x' }]);
  });
});

describe('inclusion and exclusion (event-server.md §7.5, RE2)', () => {
  const src = [{ kind: 'Kustomization' as const, name: '*' }];
  it('includes on any matching pattern, then excludes on any matching pattern', async () => {
    const a = alert('a', { eventSources: src, inclusionList: ['nomatch', 'check'], exclusionList: ['^Health x'] });
    expect((await verdict(a, event())).matched).toBe(true);
    const b = alert('b', { eventSources: src, inclusionList: ['check'], exclusionList: ['after \\d+m$'] });
    expect(await verdict(b, event())).toEqual({ matched: false, rule: 'message matches exclusionList pattern "after \\\\d+m$"' });
  });

  it('accepts RE2-only syntax: leading (?i), \\z, (?P<name>) and POSIX classes', async () => {
    for (const p of ['(?i)HEALTH CHECK', '2m\\z', '(?P<what>check)', '[[:alpha:]]+ check', '\\QHealth\\E']) {
      expect((await verdict(alert('a', { eventSources: src, inclusionList: [p] }), event())).matched, p).toBe(true);
    }
  });

  it('treats lookaround and backreferences as invalid (never matching) and reports them once at compile time', async () => {
    const store = new ResourceStore();
    const reported: string[] = [];
    store.onInvalidPattern = (_a, list, pattern) => reported.push(`${list}:${pattern}`);
    const a = alert('a', { eventSources: src, inclusionList: ['(?=Health)', '(a)\\1', '['] });
    store.upsert(a);
    store.upsert({ ...a, spec: { ...a.spec } }); // same patterns: not reported again
    expect(reported).toEqual(['inclusion:(?=Health)', 'inclusion:(a)\\1', 'inclusion:[']);
    expect((await selectAlerts(event(), store.alertsFor(event().involvedObject), noLabels)).matched).toEqual([]);
  });

  it('finds a match anywhere (unanchored) and does not let . cross a newline', async () => {
    expect((await verdict(alert('a', { eventSources: src, inclusionList: ['check'] }), event())).matched).toBe(true);
    expect((await verdict(alert('a', { eventSources: src, inclusionList: ['a.b'] }), event({ message: 'a\nb' }))).matched).toBe(false);
  });

  it('returns fast on a pattern that backtracks catastrophically in JavaScript', async () => {
    const a = alert('a', { eventSources: src, inclusionList: ['(a+)+$'] });
    const started = performance.now();
    const v = await verdict(a, event({ message: 'a'.repeat(5000) + '!' }));
    expect(v.matched).toBe(false);
    // Linear-time engine: far below the seconds a backtracking engine would need (this is a guard, not a benchmark).
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('alert index', () => {
  it('returns only Alerts with a source for the event kind and namespace', () => {
    const store = new ResourceStore();
    for (let i = 0; i < 100; i++) store.upsert(alert(`a${i}`, { eventSources: [{ kind: 'HelmRelease', name: '*', namespace: `ns${i}` }] }));
    store.upsert(alert('k', { eventSources: [{ kind: 'Kustomization', name: '*' }, { kind: 'Kustomization', name: 'x' }] }));
    expect(store.alertsFor({ kind: 'HelmRelease', namespace: 'ns7' }).map((c) => c.alert.metadata.name)).toEqual(['a7']);
    expect(store.alertsFor({ kind: 'Kustomization', namespace: 'flux-system' }).map((c) => c.alert.metadata.name)).toEqual(['k']);
    store.delete('Alert', 'flux-system', 'a7');
    store.delete('Alert', 'flux-system', 'k');
    expect(store.alertsFor({ kind: 'Kustomization', namespace: 'flux-system' })).toEqual([]);
  });
});
