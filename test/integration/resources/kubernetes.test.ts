// Kubernetes mode against a protocol-level API server (test/helpers/fake-apiserver.ts, not a real kube-apiserver): sync, changes, recovery, labels, Events.
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../../src/logger.js';
import { ResourceStore } from '../../../src/resources/store.js';
import { startKubernetesSource, type KubernetesSource, type KubernetesSourceOptions } from '../../../src/resources/kubernetes.js';
import { startFakeApiServer, type FakeApiServer, type KubeObject } from '../../helpers/fake-apiserver.js';

const NV = 'notification.toolkit.fluxcd.io/v1beta3';

function alert(namespace: string, name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: NV, kind: 'Alert', metadata: { name, namespace },
    spec: { providerRef: { name: 'webhook' }, eventSeverity: 'info', eventSources: [{ kind: 'Kustomization', name: '*' }], ...spec },
  };
}

function provider(namespace: string, name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: NV, kind: 'Provider', metadata: { name, namespace, ...meta }, spec: { type: 'generic', address: 'http://example.invalid/hook', ...spec } };
}

function secret(namespace: string, name: string, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

/** Polls until `check` holds; returns the elapsed milliseconds, fails after timeoutMs. */
async function within(timeoutMs: number, check: () => boolean, what = 'condition'): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

function alertNames(store: ResourceStore, kind: string, namespace: string): string[] {
  return store.alertsFor({ kind, namespace }).map((c) => `${c.alert.metadata.namespace}/${c.alert.metadata.name}`);
}

let api: FakeApiServer;
let store: ResourceStore;
let source: KubernetesSource | undefined;
let logs: Record<string, unknown>[];
let log: Logger;

beforeEach(async () => {
  api = await startFakeApiServer({ bookmarkIntervalMs: 50 });
  store = new ResourceStore();
  logs = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  log = createLogger({ level: 'debug', destination });
});

afterEach(async () => {
  await source?.close();
  source = undefined;
  await api.close();
});

async function start(extra: Partial<KubernetesSourceOptions> = {}): Promise<KubernetesSource> {
  source = await startKubernetesSource(store, {
    kubeconfig: api.kubeconfigPath, watchAllNamespaces: true, namespace: 'flux-system', log,
    tuning: { restartMinMs: 20, restartMaxMs: 200, labelCacheMs: 150, labelMissCacheMs: 50, events: { patchIntervalMs: 100 } },
    ...extra,
  });
  return source;
}

async function ready(): Promise<void> {
  await within(3000, () => store.ready, 'store ready');
}

describe('initial sync', () => {
  it('lists Alerts, Providers and only the referenced Secrets, then turns ready', async () => {
    api.apply(alert('apps', 'on-apps'));
    api.apply(provider('apps', 'webhook', { secretRef: { name: 'webhook-token' } }));
    api.apply(secret('apps', 'webhook-token', { token: 's3cr3t-t0ken' }));
    api.apply(secret('apps', 'unrelated', { password: 'not-for-herald' }));
    const release = api.holdLists();
    await start();
    await new Promise((r) => setTimeout(r, 150));
    expect(store.ready).toBe(false);
    release();
    await ready();

    expect(alertNames(store, 'Kustomization', 'apps')).toEqual(['apps/on-apps']);
    expect(store.provider('apps', 'webhook')?.spec.address).toBe('http://example.invalid/hook');
    expect(store.secret('apps', 'webhook-token')?.data['token']?.toString()).toBe('s3cr3t-t0ken');
    expect(store.secret('apps', 'unrelated')).toBeUndefined();

    const secretRequests = api.requests.filter((r) => r.path.includes('/secrets'));
    expect(secretRequests.length).toBeGreaterThan(0);
    for (const r of secretRequests) {
      expect(r.path).toBe('/api/v1/namespaces/apps/secrets');
      expect(r.query.get('fieldSelector')).toBe('metadata.name=webhook-token');
    }
    // Watches are requested with bookmarks, and every request carries the kubeconfig's bearer token.
    expect(api.requests.some((r) => r.watch && r.path.endsWith('/alerts') && r.query.get('allowWatchBookmarks') === 'true')).toBe(true);
    expect(api.requests.every((r) => r.headers.authorization === `Bearer ${api.token}`)).toBe(true);
    expect(logs.some((l) => l['msg'] === 'initial sync complete')).toBe(true);
  });

  it('lists in pages and keeps the first page resourceVersion for the watch', async () => {
    for (let i = 0; i < 7; i++) api.apply(alert('apps', `a${i}`));
    await start({ tuning: { listPageSize: 3, restartMinMs: 20, restartMaxMs: 200 } });
    await ready();
    expect(alertNames(store, 'Kustomization', 'apps')).toHaveLength(7);
    const lists = api.requests.filter((r) => !r.watch && r.path.endsWith('/alerts'));
    expect(lists.map((r) => r.query.get('limit'))).toEqual(['3', '3', '3']);
    expect(lists[1]!.query.get('continue')).toBeTruthy();
  });

  it('retries a failing list with backoff and turns ready once it succeeds', async () => {
    api.apply(alert('apps', 'on-apps'));
    api.failNext({ method: 'GET', path: /\/alerts$/, status: 500, times: 3 });
    await start();
    await ready();
    expect(alertNames(store, 'Kustomization', 'apps')).toEqual(['apps/on-apps']);
    expect(api.requests.filter((r) => !r.watch && r.path.endsWith('/alerts'))).toHaveLength(4);
    expect(logs.some((l) => l['msg'] === 'list/watch failed, restarting' && l['what'] === 'alerts')).toBe(true);
  });

  it('skips an invalid object and logs its kind, namespace, name and field', async () => {
    api.apply(alert('apps', 'broken', { eventSources: [{ kind: '', name: '*' }] }));
    api.apply(alert('apps', 'fine'));
    await start();
    await ready();
    expect(alertNames(store, 'Kustomization', 'apps')).toEqual(['apps/fine']);
    const line = logs.find((l) => l['msg'] === 'invalid Alert skipped');
    expect(line).toMatchObject({ kind: 'Alert', namespace: 'apps', name: 'broken', field: 'spec.eventSources.0.kind' });
  });
});

describe('changes', () => {
  it('reflects add, update and delete of Alerts, Providers and Secrets within 1 s', async () => {
    api.apply(provider('apps', 'webhook', { secretRef: { name: 'token' } }));
    await start();
    await ready();
    const latencies: Record<string, number> = {};

    api.apply(alert('apps', 'new'));
    latencies['alert add'] = await within(1000, () => alertNames(store, 'Kustomization', 'apps').includes('apps/new'));
    api.apply(alert('apps', 'new', { eventSources: [{ kind: 'HelmRelease', name: '*' }] }));
    latencies['alert update'] = await within(1000, () => alertNames(store, 'HelmRelease', 'apps').includes('apps/new'));
    expect(alertNames(store, 'Kustomization', 'apps')).toEqual([]);
    api.remove(NV, 'Alert', 'apps', 'new');
    latencies['alert delete'] = await within(1000, () => store.alert('apps', 'new') === undefined);

    api.apply(provider('apps', 'other'));
    latencies['provider add'] = await within(1000, () => store.provider('apps', 'other') !== undefined);
    api.apply(provider('apps', 'other', { address: 'http://changed.invalid/' }));
    latencies['provider update'] = await within(1000, () => store.provider('apps', 'other')?.spec.address === 'http://changed.invalid/');
    api.remove(NV, 'Provider', 'apps', 'other');
    latencies['provider delete'] = await within(1000, () => store.provider('apps', 'other') === undefined);

    api.apply(secret('apps', 'token', { token: 'one' }));
    latencies['secret add'] = await within(1000, () => store.secret('apps', 'token')?.data['token']?.toString() === 'one');
    api.apply(secret('apps', 'token', { token: 'two' }));
    latencies['secret update'] = await within(1000, () => store.secret('apps', 'token')?.data['token']?.toString() === 'two');
    api.remove('v1', 'Secret', 'apps', 'token');
    latencies['secret delete'] = await within(1000, () => store.secret('apps', 'token') === undefined);

    for (const ms of Object.values(latencies)) expect(ms).toBeLessThan(1000);
    console.log(`[kubernetes] change latencies (ms): ${JSON.stringify(latencies)}`);
  });

  it('starts using a Secret that appears after its Provider, and stops watching it when no Provider needs it', async () => {
    api.apply(provider('apps', 'late', { secretRef: { name: 'late-token' } }));
    await start();
    await ready();
    expect(store.secret('apps', 'late-token')).toBeUndefined();
    await api.waitForWatches('metadata.name%3Dlate-token', 1);

    api.apply(secret('apps', 'late-token', { token: 'arrived' }));
    await within(1000, () => store.secret('apps', 'late-token')?.data['token']?.toString() === 'arrived');

    // A second Provider on the same Secret shares the watch; removing one keeps it.
    api.apply(provider('apps', 'late-2', { secretRef: { name: 'late-token' } }));
    await within(1000, () => store.provider('apps', 'late-2') !== undefined);
    expect(api.openWatches('metadata.name%3Dlate-token')).toBe(1);
    api.remove(NV, 'Provider', 'apps', 'late');
    await within(1000, () => store.provider('apps', 'late') === undefined);
    expect(store.secret('apps', 'late-token')).toBeDefined();

    api.apply(provider('apps', 'late-2', { secretRef: { name: 'other-token' } }));
    await within(1000, () => store.secret('apps', 'late-token') === undefined);
    await within(1000, () => api.openWatches('metadata.name%3Dlate-token') === 0, 'secret watch closed');
  });

  it('releases Flux\'s finalizer from a Provider being deleted so it does not hang in Terminating', async () => {
    api.apply(provider('apps', 'finalized', {}, { finalizers: ['finalizers.fluxcd.io'] }));
    await start();
    await ready();
    api.remove(NV, 'Provider', 'apps', 'finalized');
    await within(1000, () => api.get(NV, 'Provider', 'apps', 'finalized') === undefined, 'provider deleted');
    await within(1000, () => store.provider('apps', 'finalized') === undefined);
    const patch = api.requests.find((r) => r.method === 'PATCH' && r.path.endsWith('/providers/finalized'));
    expect(patch?.headers['content-type']).toBe('application/json-patch+json');
  });
});

describe('recovery', () => {
  it('resumes a watch dropped mid-stream from its resourceVersion, with the changes made meanwhile', async () => {
    api.apply(alert('apps', 'before'));
    await start();
    await ready();
    await api.waitForWatches('/alerts', 1);
    const listsBefore = api.requests.filter((r) => !r.watch && r.path.endsWith('/alerts')).length;

    expect(api.dropWatches('/alerts')).toBe(1);
    api.apply(alert('apps', 'during'));
    const ms = await within(1000, () => alertNames(store, 'Kustomization', 'apps').includes('apps/during'));
    const rewatch = api.requests.filter((r) => r.watch && r.path.endsWith('/alerts')).at(-1)!;
    expect(Number(rewatch.query.get('resourceVersion'))).toBeGreaterThan(0);
    expect(api.requests.filter((r) => !r.watch && r.path.endsWith('/alerts')).length).toBe(listsBefore);

    api.apply(alert('apps', 'after'));
    await within(1000, () => alertNames(store, 'Kustomization', 'apps').includes('apps/after'));
    console.log(`[kubernetes] recovered from a dropped watch in ${ms} ms`);
  });

  it('advances its resourceVersion on BOOKMARK events, so a quiet collection resumes from a recent point', async () => {
    await start();
    await ready();
    await api.waitForWatches('/alerts', 1);
    const listedAt = Number(api.requests.find((r) => r.watch && r.path.endsWith('/alerts'))!.query.get('resourceVersion'));
    // Other kinds change; the Alert watch receives only bookmarks carrying the newer resourceVersion.
    for (let i = 0; i < 3; i++) api.apply(provider('apps', `p${i}`));
    const target = api.resourceVersion();
    await new Promise((r) => setTimeout(r, 200));
    api.dropWatches('/alerts');
    await within(1000, () => api.requests.filter((r) => r.watch && r.path.endsWith('/alerts')).length === 2, 'rewatch');
    const resumedAt = Number(api.requests.filter((r) => r.watch && r.path.endsWith('/alerts'))[1]!.query.get('resourceVersion'));
    expect(resumedAt).toBe(target);
    expect(resumedAt).toBeGreaterThan(listedAt);
  });

  it('re-lists after 410 Expired on an open watch and keeps following changes', async () => {
    api.apply(alert('apps', 'kept'));
    await start();
    await ready();
    await api.waitForWatches('/alerts', 1);
    const lists = () => api.requests.filter((r) => !r.watch && r.path.endsWith('/alerts')).length;
    const listsBefore = lists();
    expect(api.expireWatches('/alerts')).toBe(1);
    await within(1000, () => lists() > listsBefore, 're-list');
    api.apply(alert('apps', 'after-expiry'));
    await within(1000, () => alertNames(store, 'Kustomization', 'apps').includes('apps/after-expiry'));
    expect(alertNames(store, 'Kustomization', 'apps')).toEqual(['apps/after-expiry', 'apps/kept']);
  });

  it('re-lists when the resumed watch is told 410, and removes what was deleted while disconnected', async () => {
    api.apply(alert('apps', 'doomed'));
    api.apply(alert('apps', 'survivor'));
    await start({ tuning: { restartMinMs: 200, restartMaxMs: 400 } });
    await ready();
    await api.waitForWatches('/alerts', 1);
    api.dropWatches('/alerts');
    // While Herald is disconnected, the object goes away and history is compacted past its resourceVersion.
    api.remove(NV, 'Alert', 'apps', 'doomed');
    api.apply(alert('apps', 'born-while-away'));
    api.expireWatches();
    await within(2000, () => store.alert('apps', 'doomed') === undefined && store.alert('apps', 'born-while-away') !== undefined);
    expect(alertNames(store, 'Kustomization', 'apps')).toEqual(['apps/born-while-away', 'apps/survivor']);
  });

  it('restarts a watch the API server refuses with an error status', async () => {
    await start();
    await ready();
    await api.waitForWatches('/providers', 1);
    api.failNext({ method: 'GET', path: /\/providers$/, watch: true, status: 503, times: 2 });
    api.dropWatches('/providers');
    api.apply(provider('apps', 'after-503'));
    await within(2000, () => store.provider('apps', 'after-503') !== undefined);
  });
});

describe('--watch-all-namespaces=false', () => {
  it('sees only the runtime namespace', async () => {
    api.apply(alert('flux-system', 'mine'));
    api.apply(alert('apps', 'theirs'));
    api.apply(provider('flux-system', 'webhook'));
    api.apply(provider('apps', 'webhook'));
    await start({ watchAllNamespaces: false, namespace: 'flux-system' });
    await ready();
    expect(store.alerts().map((c) => c.alert.metadata.name)).toEqual(['mine']);
    expect(store.provider('apps', 'webhook')).toBeUndefined();
    expect(store.provider('flux-system', 'webhook')).toBeDefined();
    api.apply(alert('apps', 'theirs-too'));
    api.apply(alert('flux-system', 'mine-too'));
    await within(1000, () => store.alert('flux-system', 'mine-too') !== undefined);
    expect(store.alert('apps', 'theirs-too')).toBeUndefined();
    const paths = new Set(api.requests.filter((r) => r.path.includes('notification.toolkit')).map((r) => r.path));
    expect([...paths].sort()).toEqual([
      '/apis/notification.toolkit.fluxcd.io/v1beta3/namespaces/flux-system/alerts',
      '/apis/notification.toolkit.fluxcd.io/v1beta3/namespaces/flux-system/providers',
    ]);
  });
});

describe('involved object labels', () => {
  it('reads metadata only, caches it briefly, and answers undefined for what cannot be read', async () => {
    api.apply({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'podinfo', namespace: 'apps', labels: { team: 'a' } }, spec: { big: 'x'.repeat(1000) } });
    const { labels } = await start();
    await ready();
    const ref = { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: 'apps', name: 'podinfo' };
    expect(await labels(ref)).toEqual({ team: 'a' });
    const gets = () => api.requests.filter((r) => r.method === 'GET' && r.path === '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/apps/kustomizations/podinfo');
    expect(gets()).toHaveLength(1);
    expect(gets()[0]!.headers.accept).toContain('as=PartialObjectMetadata');
    expect(await labels(ref)).toEqual({ team: 'a' });
    expect(gets()).toHaveLength(1);

    api.apply({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'podinfo', namespace: 'apps', labels: { team: 'b' } }, spec: {} });
    await new Promise((r) => setTimeout(r, 200));
    expect(await labels(ref)).toEqual({ team: 'b' });

    expect(await labels({ ...ref, name: 'missing' })).toBeUndefined();
    expect(await labels({ ...ref, apiVersion: 'unknown.example.com/v1' })).toBeUndefined();
    expect(await labels({ ...ref, apiVersion: '' })).toBeUndefined();
    expect(await labels({ ...ref, kind: 'NoSuchKind' })).toBeUndefined();
    // Discovery is asked once per group/version, not per lookup.
    expect(api.requests.filter((r) => r.path === '/apis/kustomize.toolkit.fluxcd.io/v1')).toHaveLength(1);
  });

  it('shares one request between concurrent lookups of the same object', async () => {
    api.apply({ apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'podinfo', namespace: 'apps', labels: { tier: 'web' } }, spec: {} });
    const { labels } = await start();
    await ready();
    const ref = { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', namespace: 'apps', name: 'podinfo' };
    const results = await Promise.all(Array.from({ length: 20 }, () => labels(ref)));
    expect(results.every((r) => r?.['tier'] === 'web')).toBe(true);
    expect(api.requests.filter((r) => r.path.endsWith('/helmreleases/podinfo'))).toHaveLength(1);
  });
});

describe('Kubernetes Events on Alerts', () => {
  const ref = (uid: string) => ({ namespace: 'apps', name: 'on-apps', uid });

  it('records a Warning on the Alert, masks the Provider\'s secrets, and aggregates repeats into one Event', async () => {
    api.apply(alert('apps', 'on-apps'));
    api.apply(provider('apps', 'webhook', { secretRef: { name: 'webhook-token' } }));
    api.apply(secret('apps', 'webhook-token', { token: 'tok-9f8e7d6c5b' }));
    const { recorder } = await start();
    await ready();
    const uid = store.alert('apps', 'on-apps')!.alert.metadata.uid;
    const message = 'failed to send notification for Kustomization/apps/podinfo: request failed with status code 500: bad token tok-9f8e7d6c5b';
    for (let i = 0; i < 30; i++) {
      recorder.warning(ref(uid), 'NotificationDispatchFailed', message);
      await new Promise((r) => setTimeout(r, 10));
    }
    await within(1000, () => api.events()[0]?.['count'] === 30, 'count 30');
    const events = api.events();
    expect(events).toHaveLength(1);
    const ev = events[0]!;
    expect(ev).toMatchObject({
      type: 'Warning',
      reason: 'NotificationDispatchFailed',
      message: 'failed to send notification for Kustomization/apps/podinfo: request failed with status code 500: bad token *****',
      involvedObject: { kind: 'Alert', apiVersion: NV, namespace: 'apps', name: 'on-apps', uid },
      source: { component: 'notification-controller' },
      reportingComponent: 'notification-controller',
      metadata: { namespace: 'apps' },
    });
    expect(String(ev.metadata.name)).toMatch(/^on-apps\.[0-9a-f]+$/);
    expect(JSON.stringify(api.requests.filter((r) => r.path.includes('/events')).map((r) => r.body))).not.toContain('tok-9f8e7d6c5b');
    const posts = api.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/namespaces/apps/events');
    const patches = api.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/api/v1/namespaces/apps/events/'));
    expect(posts).toHaveLength(1);
    // 30 failures over ~300 ms with a 100 ms patch interval: a handful of patches, not 29.
    expect(patches.length).toBeGreaterThan(0);
    expect(patches.length).toBeLessThanOrEqual(5);
    expect(new Date(String(ev['lastTimestamp'])).getTime()).toBeGreaterThanOrEqual(new Date(String(ev['firstTimestamp'])).getTime());
  });

  it('combines many different messages of one reason into one Event, like client-go', async () => {
    await start({ tuning: { events: { patchIntervalMs: 50, similarMax: 10 } } });
    await ready();
    for (let i = 0; i < 14; i++) recorder().warning(ref('u1'), 'NotificationDispatchFailed', `failed to send notification: attempt ${i}`);
    await within(1000, () => api.events().some((e) => e['count'] === 5), 'combined count');
    const events = api.events();
    expect(events).toHaveLength(10);
    const combined = events.filter((e) => String(e['message']).startsWith('(combined from similar events): '));
    expect(combined).toHaveLength(1);
    expect(combined[0]).toMatchObject({ count: 5, message: '(combined from similar events): failed to send notification: attempt 13' });
  });

  it('limits API writes per Alert with a token bucket without losing the count', async () => {
    await start({ tuning: { events: { patchIntervalMs: 0, burst: 3, refillMs: 300 } } });
    await ready();
    const writes = () => api.requests.filter((r) => r.path.includes('/events') && r.method !== 'GET').length;
    for (let i = 0; i < 20; i++) {
      recorder().warning(ref('u2'), 'NotificationDispatchFailed', 'failed to send notification: down');
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(writes()).toBeLessThanOrEqual(3);
    await within(2000, () => api.events()[0]?.['count'] === 20, 'the held-back count arrives');
  });

  it('records InvalidConfig for an invalid regex and MetadataAppendFailed with its annotations', async () => {
    api.apply(alert('apps', 'on-apps', { inclusionList: ['['] }));
    const src = await start();
    // Wired as app.ts does it: the store reports invalid patterns once per Alert version.
    store.onInvalidPattern = (a, list, pattern) => src.recorder.warning(
      { namespace: a.metadata.namespace, name: a.metadata.name, uid: a.metadata.uid }, 'InvalidConfig', `failed to compile ${list} regex: ${pattern}`);
    await ready();
    await within(1000, () => api.events().length === 1, 'InvalidConfig event');
    expect(api.events()[0]).toMatchObject({ type: 'Warning', reason: 'InvalidConfig', message: 'failed to compile inclusion regex: [', count: 1 });

    src.recorder.warning(ref('u3'), 'MetadataAppendFailed', 'metadata key conflicts detected (please refer to the Alert API docs and Flux RFC 0008 for more information)', { sources: 'summary' });
    await within(1000, () => api.events().length === 2, 'MetadataAppendFailed event');
    expect(api.events()[1]).toMatchObject({ reason: 'MetadataAppendFailed', metadata: { annotations: { sources: 'summary' } } });
  });

  it('creates a new Event when the old one expired on the API server', async () => {
    await start({ tuning: { events: { patchIntervalMs: 0 } } });
    await ready();
    recorder().warning(ref('u4'), 'NotificationDispatchFailed', 'failed: once');
    await within(1000, () => api.events().length === 1);
    api.remove('v1', 'Event', 'apps', String(api.events()[0]!.metadata.name));
    recorder().warning(ref('u4'), 'NotificationDispatchFailed', 'failed: once');
    await within(1000, () => api.events().length === 1 && api.events()[0]!['count'] === 2, 'recreated with count 2');
  });

  function recorder() {
    return source!.recorder;
  }
});
