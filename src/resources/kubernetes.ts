// Cluster mode's resource source: Alerts, Providers and their Secrets from the Kubernetes API into the ResourceStore, plus labels and Events.
import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { KubeConfig, ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { z } from 'zod';
import { NOTIFICATION_GROUP, alertSchema, type Alert } from '../api/alert.js';
import { describeIssues, resolveMeta, type ObjectMeta, type ResolvedMeta } from '../api/meta.js';
import { providerSchema, type Provider } from '../api/provider.js';
import { secretDataFrom, secretSchema, type Secret } from '../api/secret.js';
import { maskSecrets, urlCredentials, type Logger } from '../logger.js';
import type { AlertEventRecorder, AlertRef } from './recorder.js';
import type { LabelLookup, ResourceStore } from './store.js';
import { KubeEventRecorder, type KubeEventTuning } from './kube-events.js';
import type { ServiceAccountSource } from '../providers/runtime.js';
import { kubeServiceAccounts } from './service-accounts.js';
import { KubeApiError, KubeRest, PARTIAL_OBJECT_METADATA_ACCEPT, collectionPath, type KubeListBody } from './kube-rest.js';

export interface KubernetesTuning {
  /** First delay before a failed list or watch is restarted; doubled per failure up to restartMaxMs. */
  restartMinMs: number;
  restartMaxMs: number;
  /** Page size of list requests (client-go's reflector uses 500). */
  listPageSize: number;
  /** How long an involved object's labels are reused. */
  labelCacheMs: number;
  /** How long "no such object" is remembered. */
  labelMissCacheMs: number;
  /** How long the resource names learnt from API discovery are reused. */
  discoveryCacheMs: number;
  requestTimeoutMs: number;
  events: Partial<KubeEventTuning>;
}

export const DEFAULT_KUBERNETES_TUNING: KubernetesTuning = {
  restartMinMs: 500,
  restartMaxMs: 30_000,
  listPageSize: 500,
  labelCacheMs: 10_000,
  labelMissCacheMs: 2_000,
  discoveryCacheMs: 300_000,
  requestTimeoutMs: 15_000,
  events: {},
};

export interface KubernetesSourceOptions {
  kubeconfig?: string;
  watchAllNamespaces: boolean;
  /** RUNTIME_NAMESPACE or 'flux-system'. */
  namespace: string;
  log: Logger;
  /** Timings; the defaults suit a cluster, tests shorten them. */
  tuning?: Partial<KubernetesTuning>;
}

export interface KubernetesSource {
  labels: LabelLookup;
  recorder: AlertEventRecorder;
  /** ServiceAccount annotations and tokens for object-level workload identity. */
  serviceAccounts: ServiceAccountSource;
  close(): Promise<void>;
}

const FLUX_VERSION = `${NOTIFICATION_GROUP}/v1beta3`;
/** Left by Flux's Provider reconciler (and older Alert versions); nobody removes it once Flux's controller is scaled to zero. */
export const FLUX_FINALIZER = 'finalizers.fluxcd.io';
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** --kubeconfig, then KUBECONFIG (already folded into `kubeconfig` by the config), then in-cluster, then ~/.kube/config. */
export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) {
    const files = kubeconfig.split(delimiter).filter(Boolean);
    kc.loadFromFile(files[0]!);
    for (const file of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more, true);
    }
  } else if (process.env['KUBERNETES_SERVICE_HOST'] && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
    // loadFromDefault's last resort is http://localhost:8080, which only hides the real problem.
    if (kc.getCurrentCluster()?.server === 'http://localhost:8080' && kc.getCurrentContext() === 'loaded-context') {
      throw new Error('no Kubernetes configuration found: pass --config-dir for directory mode, or --kubeconfig, set KUBECONFIG, or run in a cluster');
    }
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''} has no current context with a cluster`);
  return kc;
}

/** A raw object from the API: only what every object has is assumed. */
export interface ApiObject extends KubernetesObject {
  metadata?: KubernetesObject['metadata'] & { finalizers?: string[]; deletionTimestamp?: Date | string };
  [key: string]: unknown;
}

export type Conversion<T> = { object: T } | { error: string; field?: string };

function cleanMeta(kind: string, meta: ObjectMeta): ResolvedMeta {
  // managedFields and last-applied annotations can dwarf the spec; nothing reads them.
  const { managedFields: _mf, ...rest } = meta as ObjectMeta & { managedFields?: unknown };
  if (rest.annotations && 'kubectl.kubernetes.io/last-applied-configuration' in rest.annotations) {
    const { 'kubectl.kubernetes.io/last-applied-configuration': _la, ...annotations } = rest.annotations;
    rest.annotations = annotations;
  }
  return resolveMeta(kind, rest);
}

function failed(error: z.ZodError): { error: string; field?: string } {
  const first = error.issues[0];
  const field = first && first.path.length > 0 ? first.path.map(String).join('.') : undefined;
  // zod messages describe the expectation, never the input, so no Secret value reaches the log.
  return field ? { error: describeIssues(error), field } : { error: describeIssues(error) };
}

export function alertFromApi(obj: unknown): Conversion<Alert> {
  const r = alertSchema.safeParse(obj);
  if (!r.success) return failed(r.error);
  return { object: { apiVersion: FLUX_VERSION, kind: 'Alert', metadata: cleanMeta('Alert', r.data.metadata), spec: r.data.spec } };
}

export function providerFromApi(obj: unknown): Conversion<Provider> {
  const r = providerSchema.safeParse(obj);
  if (!r.success) return failed(r.error);
  return { object: { apiVersion: FLUX_VERSION, kind: 'Provider', metadata: cleanMeta('Provider', r.data.metadata), spec: r.data.spec } };
}

export function secretFromApi(obj: unknown): Conversion<Secret> {
  const r = secretSchema.safeParse(obj);
  if (!r.success) return failed(r.error);
  const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: cleanMeta('Secret', r.data.metadata), data: secretDataFrom(r.data) };
  if (r.data.type !== undefined) secret.type = r.data.type;
  return { object: secret };
}

/** Names of the Secrets a Provider reads, all in its own namespace. */
export function secretNamesOf(provider: Provider): string[] {
  const names = new Set<string>();
  for (const ref of [provider.spec.secretRef, provider.spec.proxySecretRef, provider.spec.certSecretRef]) if (ref?.name) names.add(ref.name);
  return [...names];
}

/** Restart delay after a failure: doubled per consecutive failure, reset when the last run lasted longer than the maximum. */
export function nextBackoff(previousMs: number, ranForMs: number, minMs: number, maxMs: number): number {
  if (previousMs === 0 || ranForMs > maxMs) return minMs;
  return Math.min(previousMs * 2, maxMs);
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { statusCode?: number; code?: number | string }).statusCode ?? (err as { code?: number | string }).code;
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return `${err.message}${code !== undefined ? ` (${code})` : ''}${cause ? `: ${cause}` : ''}`;
  }
  return String(err);
}

interface InformerContext {
  kc: KubeConfig;
  rest: KubeRest;
  log: Logger;
  tuning: KubernetesTuning;
}

interface InformerSpec {
  /** For logs: `alerts`, `secret flux-system/slack-token`. */
  what: string;
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespace?: string;
  fieldSelector?: string;
  onUpsert(obj: ApiObject): void;
  onDelete(obj: ApiObject): void;
}

/**
 * client-node's ListWatch, kept alive: it re-lists after 410 Gone and re-watches after its own
 * timeout, but any other error (dropped connection, failed list, 5xx, 403) ends it for good.
 * Those are restarted here with exponential backoff; a restart resumes the watch from the last
 * resourceVersion, or lists again when there is none.
 */
class RestartingInformer {
  readonly synced: Promise<void>;
  private resolveSynced!: () => void;
  private isSynced = false;
  private readonly lw: ListWatch<ApiObject>;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  private startedAt = 0;
  private failures = 0;

  constructor(
    private readonly spec: InformerSpec,
    private readonly ctx: InformerContext,
  ) {
    this.synced = new Promise((resolve) => { this.resolveSynced = resolve; });
    const path = collectionPath(spec.group, spec.version, spec.resource, spec.namespace);
    const apiVersion = spec.group ? `${spec.group}/${spec.version}` : spec.version;
    const list = async (): Promise<KubernetesListObject<ApiObject>> => {
      const result = await listAll(ctx.rest, path, spec.fieldSelector, ctx.tuning.listPageSize, apiVersion, spec.kind);
      // ListWatch applies the items right after this promise settles, within the same turn; setImmediate runs after that.
      setImmediate(() => this.markSynced());
      return result;
    };
    // Bookmarks keep the resourceVersion fresh on quiet collections, so a dropped watch resumes instead of re-listing.
    this.lw = new ListWatch<ApiObject>(`${path}?allowWatchBookmarks=true`, new Watch(ctx.kc), list, false, undefined, spec.fieldSelector);
    const guard = (verb: string, fn: (obj: ApiObject) => void) => (obj: ApiObject): void => {
      if (this.stopped) return;
      this.failures = 0;
      try {
        obj.apiVersion ??= apiVersion;
        obj.kind ??= spec.kind;
        fn(obj);
      } catch (err) {
        // ListWatch swallows exceptions thrown from callbacks; surface them.
        ctx.log.error({ what: spec.what, verb, name: obj.metadata?.name, namespace: obj.metadata?.namespace, error: describeError(err) }, 'failed to apply a watched change');
      }
    };
    this.lw.on('add', guard('add', spec.onUpsert));
    this.lw.on('update', guard('update', spec.onUpsert));
    this.lw.on('delete', guard('delete', spec.onDelete));
    this.lw.on('error', (err: unknown) => this.restart(err));
    this.lw.on('connect', () => ctx.log.debug({ what: spec.what }, 'watch (re)connecting'));
  }

  start(): void {
    void this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.markSynced();
    await this.lw.stop();
  }

  private markSynced(): void {
    if (this.isSynced) return;
    this.isSynced = true;
    this.resolveSynced();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.startedAt = Date.now();
    try {
      await this.lw.start();
    } catch (err) {
      // Authentication plugins (exec, token files) can throw before any request is made.
      this.restart(err);
      return;
    }
    // A stop() that came while the list was in flight does not abort the watch ListWatch opens afterwards.
    if (this.stopped) await this.lw.stop();
  }

  private restart(err: unknown): void {
    if (this.stopped || this.timer) return;
    this.failures += 1;
    this.backoffMs = nextBackoff(this.backoffMs, Date.now() - this.startedAt, this.ctx.tuning.restartMinMs, this.ctx.tuning.restartMaxMs);
    const delay = Math.round(this.backoffMs * (0.8 + Math.random() * 0.4));
    const fields = { what: this.spec.what, error: describeError(err), retryInMs: delay };
    // A dropped connection now and then is routine; repeated failures are worth a warning.
    if (this.failures > 1 || (err instanceof KubeApiError && err.status !== 410)) this.ctx.log.warn(fields, 'list/watch failed, restarting');
    else this.ctx.log.info(fields, 'watch ended, restarting');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delay);
  }
}

/** A full list, page by page; the resourceVersion of the first page is the snapshot the watch continues from. */
async function listAll(rest: KubeRest, path: string, fieldSelector: string | undefined, limit: number, apiVersion: string, kind: string): Promise<KubernetesListObject<ApiObject>> {
  const items: ApiObject[] = [];
  let resourceVersion = '';
  let cont: string | undefined;
  do {
    const page = await rest.get<KubeListBody>(path, { query: { limit, continue: cont, fieldSelector } });
    if (!resourceVersion) resourceVersion = page.metadata?.resourceVersion ?? '';
    // Items of built-in kinds come without apiVersion and kind inside a list.
    for (const item of (page.items ?? []) as ApiObject[]) items.push({ ...item, apiVersion: item.apiVersion ?? apiVersion, kind: item.kind ?? kind });
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return { apiVersion, kind: `${kind}List`, metadata: { resourceVersion }, items };
}

/** One watch per Secret some Provider references (field selector on the name), so unrelated Secrets are never held in memory. */
class SecretWatches {
  private readonly refsByProvider = new Map<string, string[]>();
  private readonly refCount = new Map<string, number>();
  private readonly informers = new Map<string, RestartingInformer>();

  constructor(
    private readonly store: ResourceStore,
    private readonly ctx: InformerContext,
  ) {}

  setProvider(namespace: string, name: string, secretNames: string[]): void {
    const key = `${namespace}/${name}`;
    const next = secretNames.map((s) => `${namespace}/${s}`);
    const prev = this.refsByProvider.get(key) ?? [];
    if (next.length === 0) this.refsByProvider.delete(key);
    else this.refsByProvider.set(key, next);
    for (const s of next) this.ref(s, 1);
    for (const s of prev) this.ref(s, -1);
  }

  /** Resolves once every Secret watched now has been listed. */
  synced(): Promise<void> {
    return Promise.all([...this.informers.values()].map((i) => i.synced)).then(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    this.informers.clear();
  }

  private ref(secretKey: string, delta: number): void {
    const n = (this.refCount.get(secretKey) ?? 0) + delta;
    if (n > 0) {
      this.refCount.set(secretKey, n);
      if (!this.informers.has(secretKey)) this.watch(secretKey);
      return;
    }
    this.refCount.delete(secretKey);
    const informer = this.informers.get(secretKey);
    if (!informer) return;
    this.informers.delete(secretKey);
    void informer.stop();
    const [namespace, name] = secretKey.split('/') as [string, string];
    this.store.delete('Secret', namespace, name);
  }

  private watch(secretKey: string): void {
    const [namespace, name] = secretKey.split('/') as [string, string];
    const { store, ctx } = this;
    const informer = new RestartingInformer({
      what: `secret ${secretKey}`,
      group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespace,
      fieldSelector: `metadata.name=${name}`,
      onUpsert(obj) {
        const r = secretFromApi(obj);
        if ('error' in r) {
          ctx.log.error({ kind: 'Secret', namespace, name, field: r.field, error: r.error }, 'invalid Secret skipped');
          store.delete('Secret', namespace, name);
          return;
        }
        store.upsert(r.object);
      },
      onDelete() {
        store.delete('Secret', namespace, name);
      },
    }, ctx);
    this.informers.set(secretKey, informer);
    informer.start();
  }
}

interface DiscoveredResource {
  name: string;
  namespaced: boolean;
}

interface CachedLabels {
  labels: Record<string, string> | undefined;
  expires: number;
}

/** Labels of involved objects read from the API as PartialObjectMetadata, cached briefly; any kind, found through discovery. */
class InvolvedObjectLabels {
  private readonly cache = new Map<string, CachedLabels>();
  private readonly inflight = new Map<string, Promise<Record<string, string> | undefined>>();
  private readonly discovery = new Map<string, { resources: Map<string, DiscoveredResource>; expires: number; fetchedAt: number }>();
  private static readonly MAX_ENTRIES = 10_000;

  constructor(
    private readonly rest: KubeRest,
    private readonly log: Logger,
    private readonly tuning: KubernetesTuning,
  ) {}

  readonly lookup: LabelLookup = (ref) => {
    const key = `${ref.apiVersion ?? ''}|${ref.kind}|${ref.namespace}/${ref.name}`;
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return Promise.resolve(hit.labels);
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetch(ref, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  };

  private remember(key: string, labels: Record<string, string> | undefined, ttlMs: number): void {
    if (this.cache.size >= InvolvedObjectLabels.MAX_ENTRIES) {
      const now = Date.now();
      for (const [k, v] of this.cache) if (v.expires <= now) this.cache.delete(k);
      if (this.cache.size >= InvolvedObjectLabels.MAX_ENTRIES) this.cache.clear();
    }
    this.cache.set(key, { labels, expires: Date.now() + ttlMs });
  }

  private async fetch(ref: Parameters<LabelLookup>[0], key: string): Promise<Record<string, string> | undefined> {
    const apiVersion = ref.apiVersion ?? '';
    const parts = apiVersion.split('/');
    if (!apiVersion || parts.length > 2) {
      this.log.debug({ involvedObject: ref }, 'involved object has no usable apiVersion');
      return undefined;
    }
    const [group, version] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['', parts[0]!];
    try {
      const resource = await this.resourceFor(group, version, ref.kind);
      if (!resource) {
        this.log.debug({ involvedObject: ref }, 'the API server does not serve this kind');
        return undefined;
      }
      const path = `${collectionPath(group, version, resource.name, resource.namespaced ? ref.namespace : undefined)}/${encodeURIComponent(ref.name)}`;
      const obj = await this.rest.get<{ metadata?: { labels?: Record<string, string> } }>(path, {
        accept: PARTIAL_OBJECT_METADATA_ACCEPT, timeoutMs: this.tuning.requestTimeoutMs,
      });
      const labels = { ...(obj?.metadata?.labels ?? {}) };
      this.remember(key, labels, this.tuning.labelCacheMs);
      return labels;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) {
        this.remember(key, undefined, this.tuning.labelMissCacheMs);
        this.log.debug({ involvedObject: ref }, 'involved object not found');
      } else {
        this.log.warn({ involvedObject: ref, error: describeError(err) }, 'error getting the involved object');
      }
      return undefined;
    }
  }

  private async resourceFor(group: string, version: string, kind: string): Promise<DiscoveredResource | undefined> {
    const gv = group ? `${group}/${version}` : version;
    const now = Date.now();
    let entry = this.discovery.get(gv);
    // A kind missing from a fresh list is looked up again after a while: its CRD may have been installed since.
    const stale = !entry || entry.expires <= now || (!entry.resources.has(kind) && now - entry.fetchedAt > 30_000);
    if (stale) {
      const resources = new Map<string, DiscoveredResource>();
      try {
        const body = await this.rest.get<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>(group ? `/apis/${gv}` : `/api/${gv}`, {
          timeoutMs: this.tuning.requestTimeoutMs,
        });
        for (const r of body?.resources ?? []) if (!r.name.includes('/')) resources.set(r.kind, { name: r.name, namespaced: r.namespaced });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      }
      entry = { resources, expires: now + this.tuning.discoveryCacheMs, fetchedAt: now };
      this.discovery.set(gv, entry);
    }
    return entry!.resources.get(kind);
  }
}

/** Values of the Secrets the Alert's Provider reads, for masking Event messages. */
function sensitiveValuesFor(store: ResourceStore, ref: AlertRef): string[] {
  const alert = store.alert(ref.namespace, ref.name)?.alert;
  if (!alert) return [];
  const provider = store.provider(alert.metadata.namespace, alert.spec.providerRef.name);
  if (!provider) return [];
  const values: string[] = [];
  for (const name of secretNamesOf(provider)) {
    const secret = store.secret(provider.metadata.namespace, name);
    if (!secret) continue;
    for (const v of Object.values(secret.data)) {
      const text = v.toString('utf8').trim();
      if (!text) continue;
      values.push(text);
      values.push(...urlCredentials(text));
    }
  }
  return values;
}

/**
 * Starts the informers and returns at once; the store is marked ready once Alerts, Providers and
 * the Secrets those Providers reference have been listed. Errors are retried, never thrown, except
 * a kubeconfig that cannot be loaded.
 */
export { urlCredentials };

export async function startKubernetesSource(store: ResourceStore, opts: KubernetesSourceOptions): Promise<KubernetesSource> {
  const tuning: KubernetesTuning = { ...DEFAULT_KUBERNETES_TUNING, ...opts.tuning };
  const log = opts.log;
  const kc = loadKubeConfig(opts.kubeconfig);
  const rest = new KubeRest(kc, tuning.requestTimeoutMs);
  const ctx: InformerContext = { kc, rest, log, tuning };
  const namespace = opts.watchAllNamespaces ? undefined : opts.namespace;
  const scope = namespace ? `namespace ${namespace}` : 'all namespaces';
  log.info({ server: rest.server, scope }, 'reading Alerts, Providers and Secrets from the Kubernetes API');

  const recorder = new KubeEventRecorder(rest, log, {
    tuning: tuning.events,
    mask: (alert, message) => maskSecrets(message, sensitiveValuesFor(store, alert)),
  });
  const secrets = new SecretWatches(store, ctx);
  const releasing = new Set<string>();

  /** Objects being deleted still carry Flux's finalizer when Flux's controller is gone; without this they would hang in Terminating. */
  const releaseFinalizer = (resource: 'alerts' | 'providers', obj: ApiObject): void => {
    const meta = obj.metadata;
    const index = meta?.finalizers?.indexOf(FLUX_FINALIZER) ?? -1;
    if (!meta?.deletionTimestamp || index < 0 || !meta.name || !meta.namespace) return;
    const key = `${resource}/${meta.namespace}/${meta.name}/${meta.resourceVersion}`;
    if (releasing.has(key)) return;
    releasing.add(key);
    const path = `${collectionPath(NOTIFICATION_GROUP, 'v1beta3', resource, meta.namespace)}/${encodeURIComponent(meta.name)}`;
    const patch = [
      { op: 'test', path: `/metadata/finalizers/${index}`, value: FLUX_FINALIZER },
      { op: 'remove', path: `/metadata/finalizers/${index}` },
    ];
    rest.patch(path, patch, 'application/json-patch+json')
      .then(() => log.info({ kind: obj.kind, namespace: meta.namespace, name: meta.name }, `removed finalizer ${FLUX_FINALIZER}`))
      .catch((err: unknown) => {
        // 404: already gone; 422: the test failed because someone else changed the finalizers first.
        if (err instanceof KubeApiError && (err.status === 404 || err.status === 422)) return;
        log.warn({ kind: obj.kind, namespace: meta.namespace, name: meta.name, error: describeError(err) }, `failed to remove finalizer ${FLUX_FINALIZER}`);
      })
      .finally(() => releasing.delete(key));
  };

  const invalid = (kind: string, obj: ApiObject, r: { error: string; field?: string }): void => {
    log.error({ kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name, field: r.field, error: r.error }, `invalid ${kind} skipped`);
  };

  const alerts = new RestartingInformer({
    what: 'alerts', group: NOTIFICATION_GROUP, version: 'v1beta3', resource: 'alerts', kind: 'Alert', namespace,
    onUpsert(obj) {
      releaseFinalizer('alerts', obj);
      const r = alertFromApi(obj);
      if ('error' in r) {
        invalid('Alert', obj, r);
        // The previous version must not keep routing once the object no longer says so.
        if (obj.metadata?.name) store.delete('Alert', obj.metadata.namespace ?? 'default', obj.metadata.name);
        return;
      }
      store.upsert(r.object);
    },
    onDelete(obj) {
      if (obj.metadata?.name) store.delete('Alert', obj.metadata.namespace ?? 'default', obj.metadata.name);
    },
  }, ctx);

  const providers = new RestartingInformer({
    what: 'providers', group: NOTIFICATION_GROUP, version: 'v1beta3', resource: 'providers', kind: 'Provider', namespace,
    onUpsert(obj) {
      releaseFinalizer('providers', obj);
      const r = providerFromApi(obj);
      const ns = obj.metadata?.namespace ?? 'default';
      const name = obj.metadata?.name ?? '';
      if ('error' in r) {
        invalid('Provider', obj, r);
        if (name) store.delete('Provider', ns, name);
        secrets.setProvider(ns, name, []);
        return;
      }
      // Secrets first, so that a Provider never points at a Secret nobody watches.
      secrets.setProvider(ns, name, secretNamesOf(r.object));
      store.upsert(r.object);
    },
    onDelete(obj) {
      const ns = obj.metadata?.namespace ?? 'default';
      const name = obj.metadata?.name ?? '';
      store.delete('Provider', ns, name);
      secrets.setProvider(ns, name, []);
    },
  }, ctx);

  let closed = false;
  alerts.start();
  providers.start();
  void (async () => {
    await Promise.all([alerts.synced, providers.synced]);
    await secrets.synced();
    if (closed) return;
    store.markReady();
    log.info({ scope, ...store.counts() }, 'initial sync complete');
  })();

  const labels = new InvolvedObjectLabels(rest, log, tuning);
  return {
    labels: labels.lookup,
    recorder,
    serviceAccounts: kubeServiceAccounts(rest),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([alerts.stop(), providers.stop(), secrets.close()]);
      await recorder.close();
    },
  };
}
