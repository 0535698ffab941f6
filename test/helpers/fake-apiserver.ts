// A protocol-level Kubernetes API server for tests (not a real one): list, chunked watch streams, bookmarks, 410 Expired, dropped connections, Events.
import { randomUUID } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One API resource the server knows, as discovery describes it. */
export interface ResourceKind {
  /** '' for the core group. */
  group: string;
  version: string;
  /** The plural resource name used in paths. */
  resource: string;
  kind: string;
  namespaced: boolean;
}

export interface KubeObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeObjectMeta;
  [key: string]: unknown;
}

export interface ApiRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body of POST/PATCH/PUT requests. */
  body?: unknown;
  watch: boolean;
}

export interface FailureRule {
  method?: string;
  /** Matched against the path (a string matches as a substring). */
  path: RegExp | string;
  /** Also match watch requests (default: only non-watch requests). */
  watch?: boolean;
  status: number;
  reason?: string;
  /** How many requests fail (default 1). */
  times?: number;
}

export interface FakeApiServerOptions {
  /** Bearer token every request must carry (default: a random token written into the kubeconfig). */
  token?: string;
  /** Interval of BOOKMARK events on watches that ask for them with allowWatchBookmarks=true (default 100 ms). */
  bookmarkIntervalMs?: number;
  /** Resource kinds beyond the defaults (Alert, Provider, Secret, Event and a few Flux kinds). */
  kinds?: ResourceKind[];
  /** Lifetime of the ServiceAccount tokens it issues (default: the expirationSeconds asked for, else 3600). */
  tokenLifetimeSeconds?: number;
}

/** A ServiceAccount token issued through the TokenRequest API. */
export interface IssuedToken {
  namespace: string;
  name: string;
  audiences: string[];
  token: string;
  expirationTimestamp: string;
}

export interface FakeApiServer {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** A kubeconfig file pointing at this server over plain http with the bearer token. */
  kubeconfigPath: string;
  token: string;
  requests: ApiRequest[];
  /** Creates or replaces an object (apiVersion and kind required); returns the stored copy with its new resourceVersion. */
  apply(obj: KubeObject): KubeObject;
  /** Deletes an object; one with finalizers only gets a deletionTimestamp, as on a real API server. */
  remove(apiVersion: string, kind: string, namespace: string, name: string): void;
  get(apiVersion: string, kind: string, namespace: string, name: string): KubeObject | undefined;
  /** The core/v1 Events created through the API, in creation order. */
  events(): KubeObject[];
  /** The current resourceVersion of the whole store. */
  resourceVersion(): number;
  /** Open watch streams whose path (with query) contains `match`. */
  openWatches(match?: string): number;
  waitForWatches(match: string, n: number, timeoutMs?: number): Promise<void>;
  /** Destroys the TCP connection of open watches mid-stream; returns how many. */
  dropWatches(match?: string): number;
  /** Compacts history: open watches get an ERROR event (410 Expired) and end; older resourceVersions become unusable. */
  expireWatches(match?: string): number;
  /** Makes the next matching request(s) fail with a Status error. */
  failNext(rule: FailureRule): void;
  /** ServiceAccount tokens issued (POST .../serviceaccounts/<name>/token), in order. */
  issuedTokens: IssuedToken[];
  /** Holds every list request until the returned function is called. */
  holdLists(): () => void;
  close(): Promise<void>;
}

const DEFAULT_KINDS: ResourceKind[] = [
  { group: 'notification.toolkit.fluxcd.io', version: 'v1beta3', resource: 'alerts', kind: 'Alert', namespaced: true },
  { group: 'notification.toolkit.fluxcd.io', version: 'v1beta3', resource: 'providers', kind: 'Provider', namespaced: true },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', resource: 'kustomizations', kind: 'Kustomization', namespaced: true },
  { group: 'helm.toolkit.fluxcd.io', version: 'v2', resource: 'helmreleases', kind: 'HelmRelease', namespaced: true },
  { group: 'source.toolkit.fluxcd.io', version: 'v1', resource: 'gitrepositories', kind: 'GitRepository', namespaced: true },
  { group: 'image.toolkit.fluxcd.io', version: 'v1', resource: 'imagepolicies', kind: 'ImagePolicy', namespaced: true },
];

interface HistoryEntry {
  rv: number;
  typeKey: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: KubeObject;
}

interface Watcher {
  typeKey: string;
  kind: ResourceKind;
  namespace?: string;
  fields: Selector;
  labels: Selector;
  res: ServerResponse;
  /** Path and query, for matching in tests. */
  target: string;
  timers: NodeJS.Timeout[];
  closed: boolean;
}

type Requirement = { key: string; op: '=' | '!=' | 'exists' | '!exists'; value?: string };
type Selector = Requirement[];

const PARTIAL_METADATA = /as=PartialObjectMetadata/;
const RESOURCE_PATH = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/;
const TOKEN_REQUEST_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/;
const DISCOVERY_PATH = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/?$/;

function typeKeyOf(k: ResourceKind): string {
  return `${k.group}/${k.resource}`;
}

function apiVersionOf(k: ResourceKind): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function parseSelector(text: string | null): Selector {
  if (!text) return [];
  return text.split(',').filter(Boolean).map((part): Requirement => {
    let m = /^([^!=]+)!=(.*)$/.exec(part);
    if (m) return { key: m[1]!.trim(), op: '!=', value: m[2]!.trim() };
    m = /^([^!=]+)==?(.*)$/.exec(part);
    if (m) return { key: m[1]!.trim(), op: '=', value: m[2]!.trim() };
    if (part.startsWith('!')) return { key: part.slice(1).trim(), op: '!exists' };
    return { key: part.trim(), op: 'exists' };
  });
}

function matches(sel: Selector, lookup: (key: string) => string | undefined): boolean {
  return sel.every((r) => {
    const v = lookup(r.key);
    switch (r.op) {
      case '=': return v === r.value;
      case '!=': return v !== r.value;
      case 'exists': return v !== undefined;
      case '!exists': return v === undefined;
    }
  });
}

function fieldOf(obj: KubeObject, key: string): string | undefined {
  if (key === 'metadata.name') return obj.metadata.name;
  if (key === 'metadata.namespace') return obj.metadata.namespace ?? '';
  if (key === 'type') return typeof obj['type'] === 'string' ? obj['type'] : undefined;
  return undefined;
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 subset (add, remove, replace, test) on JSON pointers; throws on a failed test or a bad path. */
function jsonPatch(target: KubeObject, ops: unknown): KubeObject {
  if (!Array.isArray(ops)) throw new Error('json patch must be an array');
  const doc = clone(target) as unknown as Record<string, unknown>;
  for (const op of ops as { op: string; path: string; value?: unknown }[]) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    if (last === undefined) throw new Error(`bad path ${op.path}`);
    let parent: unknown = doc;
    for (const p of parts) {
      parent = (parent as Record<string, unknown>)?.[p];
      if (parent === undefined || parent === null) throw new Error(`path ${op.path} does not exist`);
    }
    const list = Array.isArray(parent) ? (parent as unknown[]) : undefined;
    const record = parent as Record<string, unknown>;
    const index = list ? (last === '-' ? list.length : Number(last)) : -1;
    switch (op.op) {
      case 'test':
        if (JSON.stringify(list ? list[index] : record[last]) !== JSON.stringify(op.value)) throw new Error(`test failed at ${op.path}`);
        break;
      case 'remove':
        if (list) {
          if (index >= list.length) throw new Error(`path ${op.path} does not exist`);
          list.splice(index, 1);
        } else {
          if (!(last in record)) throw new Error(`path ${op.path} does not exist`);
          delete record[last];
        }
        break;
      case 'add':
        if (list) list.splice(index, 0, clone(op.value));
        else record[last] = clone(op.value);
        break;
      case 'replace':
        if (list) list[index] = clone(op.value);
        else record[last] = clone(op.value);
        break;
      default:
        throw new Error(`unsupported op ${op.op}`);
    }
  }
  return doc as unknown as KubeObject;
}

export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const token = opts.token ?? `test-${randomUUID()}`;
  const bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 100;
  const kinds = [...DEFAULT_KINDS, ...(opts.kinds ?? [])];
  const byKind = new Map<string, ResourceKind>();
  const byPath = new Map<string, ResourceKind>();
  for (const k of kinds) {
    byKind.set(`${apiVersionOf(k)}|${k.kind}`, k);
    byPath.set(`${apiVersionOf(k)}|${k.resource}`, k);
  }
  /** typeKey -> "ns/name" -> object */
  const store = new Map<string, Map<string, KubeObject>>();
  let history: HistoryEntry[] = [];
  let rv = 1;
  let compactedRv = 0;
  const watchers = new Set<Watcher>();
  const requests: ApiRequest[] = [];
  const issuedTokens: IssuedToken[] = [];
  const failures: (FailureRule & { left: number })[] = [];
  const eventOrder: string[] = [];
  let listGate: Promise<void> | undefined;

  const objectsOf = (typeKey: string): Map<string, KubeObject> => {
    let m = store.get(typeKey);
    if (!m) store.set(typeKey, (m = new Map()));
    return m;
  };

  const kindFor = (apiVersion: string | undefined, kind: string | undefined): ResourceKind => {
    const k = byKind.get(`${apiVersion}|${kind}`);
    if (!k) throw new Error(`fake apiserver: unknown kind ${apiVersion} ${kind}`);
    return k;
  };

  const watcherSees = (w: Watcher, obj: KubeObject): boolean =>
    (w.namespace === undefined || obj.metadata.namespace === w.namespace) &&
    matches(w.fields, (key) => fieldOf(obj, key)) &&
    matches(w.labels, (key) => obj.metadata.labels?.[key]);

  const writeEvent = (w: Watcher, type: string, obj: unknown): void => {
    if (w.closed) return;
    w.res.write(`${JSON.stringify({ type, object: obj })}\n`);
  };

  const closeWatcher = (w: Watcher): void => {
    if (w.closed) return;
    w.closed = true;
    for (const t of w.timers) clearTimeout(t);
    watchers.delete(w);
  };

  const record = (kind: ResourceKind, type: HistoryEntry['type'], obj: KubeObject): void => {
    const entry: HistoryEntry = { rv, typeKey: typeKeyOf(kind), type, obj: clone(obj) };
    history.push(entry);
    for (const w of watchers) if (w.typeKey === entry.typeKey && watcherSees(w, obj)) writeEvent(w, type, obj);
  };

  const write = (kind: ResourceKind, obj: KubeObject): KubeObject => {
    const objects = objectsOf(typeKeyOf(kind));
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const old = objects.get(key);
    rv += 1;
    const stored: KubeObject = clone(obj);
    stored.apiVersion = apiVersionOf(kind);
    stored.kind = kind.kind;
    stored.metadata = {
      ...stored.metadata,
      uid: old?.metadata.uid ?? stored.metadata.uid ?? randomUUID(),
      resourceVersion: String(rv),
      creationTimestamp: old?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      generation: (old?.metadata.generation ?? 0) + (old && JSON.stringify(old['spec']) === JSON.stringify(stored['spec']) ? 0 : 1),
    };
    if (kind.kind === 'Event' && !old) eventOrder.push(key);
    if (stored.metadata.deletionTimestamp && (stored.metadata.finalizers ?? []).length === 0) {
      objects.delete(key);
      record(kind, 'DELETED', stored);
      return clone(stored);
    }
    objects.set(key, stored);
    record(kind, old ? 'MODIFIED' : 'ADDED', stored);
    return clone(stored);
  };

  const apply = (obj: KubeObject): KubeObject => write(kindFor(obj.apiVersion, obj.kind), obj);

  const remove = (apiVersion: string, kindName: string, namespace: string, name: string): void => {
    const kind = kindFor(apiVersion, kindName);
    const objects = objectsOf(typeKeyOf(kind));
    const key = `${namespace}/${name}`;
    const old = objects.get(key);
    if (!old) return;
    if ((old.metadata.finalizers ?? []).length > 0) {
      if (!old.metadata.deletionTimestamp) write(kind, { ...old, metadata: { ...old.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') } });
      return;
    }
    objects.delete(key);
    rv += 1;
    record(kind, 'DELETED', { ...clone(old), metadata: { ...old.metadata, resourceVersion: String(rv) } });
  };

  const listItems = (kind: ResourceKind, namespace: string | undefined, fields: Selector, labels: Selector): KubeObject[] =>
    [...objectsOf(typeKeyOf(kind)).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o)
      .filter((o) => (namespace === undefined || o.metadata.namespace === namespace) &&
        matches(fields, (key) => fieldOf(o, key)) && matches(labels, (key) => o.metadata.labels?.[key]));

  const handleWatch = (kind: ResourceKind, namespace: string | undefined, query: URLSearchParams, target: string, res: ServerResponse): void => {
    const w: Watcher = {
      typeKey: typeKeyOf(kind), kind, namespace, target, res, timers: [], closed: false,
      fields: parseSelector(query.get('fieldSelector')), labels: parseSelector(query.get('labelSelector')),
    };
    // Headers go out at once: client-node awaits them before it considers the watch started.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    res.on('close', () => closeWatcher(w));
    watchers.add(w);
    const from = query.get('resourceVersion');
    if (!from || from === '0') {
      for (const o of listItems(kind, namespace, w.fields, w.labels)) writeEvent(w, 'ADDED', o);
    } else {
      const since = Number(from);
      if (!Number.isFinite(since) || since < compactedRv) {
        writeEvent(w, 'ERROR', status(410, 'Expired', `too old resource version: ${from} (${compactedRv})`));
        closeWatcher(w);
        res.end();
        return;
      }
      for (const e of history) if (e.rv > since && e.typeKey === w.typeKey && watcherSees(w, e.obj)) writeEvent(w, e.type, e.obj);
    }
    if (query.get('allowWatchBookmarks') === 'true') {
      const tick = (): void => {
        writeEvent(w, 'BOOKMARK', { kind: kind.kind, apiVersion: apiVersionOf(kind), metadata: { resourceVersion: String(rv) } });
        w.timers[0] = setTimeout(tick, bookmarkIntervalMs);
      };
      w.timers[0] = setTimeout(tick, bookmarkIntervalMs);
    }
    const timeout = Number(query.get('timeoutSeconds'));
    if (timeout > 0) w.timers.push(setTimeout(() => { closeWatcher(w); res.end(); }, timeout * 1000));
  };

  const handleList = async (kind: ResourceKind, namespace: string | undefined, query: URLSearchParams, res: ServerResponse): Promise<void> => {
    if (listGate) await listGate;
    const fields = parseSelector(query.get('fieldSelector'));
    const labels = parseSelector(query.get('labelSelector'));
    let items = listItems(kind, namespace, fields, labels);
    let listRv = rv;
    const cont = query.get('continue');
    if (cont) {
      const token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { rv: number; after: string };
      if (token.rv < compactedRv) {
        sendJson(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
        return;
      }
      listRv = token.rv;
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > token.after);
    }
    const limit = Number(query.get('limit'));
    let next: string | undefined;
    if (limit > 0 && items.length > limit) {
      items = items.slice(0, limit);
      const last = items[items.length - 1]!;
      next = Buffer.from(JSON.stringify({ rv: listRv, after: `${last.metadata.namespace ?? ''}/${last.metadata.name}` })).toString('base64url');
    }
    // Like the real server, items of built-in kinds carry no apiVersion/kind inside a typed list; custom resources do.
    const shown = items.map((o) => {
      const c = clone(o);
      if (kind.group === '') {
        delete c.apiVersion;
        delete c.kind;
      }
      return c;
    });
    sendJson(res, 200, {
      kind: `${kind.kind}List`, apiVersion: apiVersionOf(kind),
      metadata: { resourceVersion: String(listRv), ...(next ? { continue: next } : {}) },
      items: shown,
    });
  };

  const handleDiscovery = (groupVersion: string, res: ServerResponse): void => {
    const resources = kinds.filter((k) => apiVersionOf(k) === groupVersion).map((k) => ({
      name: k.resource, singularName: k.kind.toLowerCase(), namespaced: k.namespaced, kind: k.kind,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    }));
    if (resources.length === 0) {
      sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    sendJson(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    requests.push({ method, path: url.pathname, query: url.searchParams, headers: req.headers, body, watch });

    if (req.headers.authorization !== `Bearer ${token}`) {
      sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const failure = failures.find((f) => f.left > 0 && (f.method ?? method) === method && Boolean(f.watch) === watch &&
      (typeof f.path === 'string' ? url.pathname.includes(f.path) : f.path.test(url.pathname)));
    if (failure) {
      failure.left -= 1;
      sendJson(res, failure.status, status(failure.status, failure.reason ?? 'InternalError', `injected failure ${failure.status}`));
      return;
    }

    const tokenRequest = TOKEN_REQUEST_PATH.exec(url.pathname);
    if (tokenRequest && method === 'POST') {
      // TokenRequest (authentication.k8s.io/v1) for an existing ServiceAccount: an opaque token naming it.
      const [namespace, name] = [decodeURIComponent(tokenRequest[1]!), decodeURIComponent(tokenRequest[2]!)];
      if (!objectsOf('/serviceaccounts').has(`${namespace}/${name}`)) {
        sendJson(res, 404, status(404, 'NotFound', `serviceaccounts "${name}" not found`));
        return;
      }
      const spec = ((body as { spec?: { audiences?: string[]; expirationSeconds?: number } } | undefined)?.spec) ?? {};
      const audiences = spec.audiences ?? [];
      const seconds = opts.tokenLifetimeSeconds ?? spec.expirationSeconds ?? 3600;
      const claims = { sub: `system:serviceaccount:${namespace}:${name}`, aud: audiences, n: issuedTokens.length + 1 };
      const token = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
      const expirationTimestamp = new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      issuedTokens.push({ namespace, name, audiences, token, expirationTimestamp });
      sendJson(res, 201, {
        kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name, namespace, creationTimestamp: null },
        spec: { audiences, expirationSeconds: seconds, boundObjectRef: null }, status: { token, expirationTimestamp },
      });
      return;
    }
    const disc = DISCOVERY_PATH.exec(url.pathname);
    if (disc && method === 'GET') {
      handleDiscovery(disc[1] ?? `${disc[2]}/${disc[3]}`, res);
      return;
    }
    const m = RESOURCE_PATH.exec(url.pathname);
    const groupVersion = m ? (m[1] ?? `${m[2]}/${m[3]}`) : '';
    const kind = m ? byPath.get(`${groupVersion}|${m[5]}`) : undefined;
    if (!m || !kind) {
      sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const namespace = m[4] ? decodeURIComponent(m[4]) : undefined;
    const name = m[6] ? decodeURIComponent(m[6]) : undefined;
    const objects = objectsOf(typeKeyOf(kind));

    if (method === 'GET' && name === undefined) {
      if (watch) handleWatch(kind, namespace, url.searchParams, `${url.pathname}${url.search}`, res);
      else await handleList(kind, namespace, url.searchParams, res);
      return;
    }
    if (method === 'GET' && name !== undefined) {
      const obj = objects.get(`${namespace ?? ''}/${name}`);
      if (!obj) {
        // As the real server: `<resource> "<name>"` for the core group, `<resource>.<group> "<name>"` otherwise.
        sendJson(res, 404, status(404, 'NotFound', `${kind.resource}${kind.group ? `.${kind.group}` : ''} "${name}" not found`));
        return;
      }
      if (PARTIAL_METADATA.test(req.headers.accept ?? '')) {
        sendJson(res, 200, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata });
      } else {
        sendJson(res, 200, obj);
      }
      return;
    }
    if (method === 'POST' && name === undefined) {
      const obj = body as KubeObject;
      if (!obj?.metadata?.name) {
        sendJson(res, 422, status(422, 'Invalid', 'metadata.name: Required value'));
        return;
      }
      if (kind.kind === 'Event') {
        const involved = (obj['involvedObject'] ?? {}) as { namespace?: string };
        if (involved.namespace && involved.namespace !== namespace) {
          sendJson(res, 422, status(422, 'Invalid', 'involvedObject.namespace: Invalid value: does not match event.namespace'));
          return;
        }
      }
      if (objects.has(`${namespace ?? ''}/${obj.metadata.name}`)) {
        sendJson(res, 409, status(409, 'AlreadyExists', `${kind.resource} "${obj.metadata.name}" already exists`));
        return;
      }
      const stored = write(kind, { ...obj, metadata: { ...obj.metadata, namespace } });
      sendJson(res, 201, stored);
      return;
    }
    if (method === 'PATCH' && name !== undefined) {
      const key = `${namespace ?? ''}/${name}`;
      const old = objects.get(key);
      if (!old) {
        sendJson(res, 404, status(404, 'NotFound', `${kind.resource} "${name}" not found`));
        return;
      }
      const contentType = req.headers['content-type'] ?? '';
      let next: KubeObject;
      try {
        if (contentType.startsWith('application/json-patch+json')) next = jsonPatch(old, body);
        else if (contentType.startsWith('application/merge-patch+json') || contentType.startsWith('application/strategic-merge-patch+json')) {
          next = mergePatch(old, body) as KubeObject;
        } else {
          sendJson(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${contentType}`));
          return;
        }
      } catch (err) {
        sendJson(res, 422, status(422, 'Invalid', (err as Error).message));
        return;
      }
      const stored = write(kind, next);
      sendJson(res, 200, stored);
      return;
    }
    sendJson(res, 405, status(405, 'MethodNotAllowed', `${method} is not supported by this test server`));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      if (chunks.length > 0) {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          sendJson(res, 400, status(400, 'BadRequest', 'invalid JSON body'));
          return;
        }
      }
      handle(req, res, body).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, status(500, 'InternalError', (err as Error).message));
        else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const kubeconfigPath = join(tmpdir(), `fake-apiserver-${process.pid}-${port}.kubeconfig`);
  writeFileSync(kubeconfigPath, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${url}`,
    // client-node refuses plain http unless TLS verification is explicitly off.
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: fake',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: fake',
    '  context:',
    '    cluster: fake',
    '    user: fake',
    'current-context: fake',
    '',
  ].join('\n'));

  const selectWatchers = (match?: string): Watcher[] => [...watchers].filter((w) => !w.closed && (match === undefined || w.target.includes(match)));

  return {
    url,
    kubeconfigPath,
    token,
    requests,
    issuedTokens,
    apply,
    remove,
    get(apiVersion, kindName, namespace, name) {
      const o = objectsOf(typeKeyOf(kindFor(apiVersion, kindName))).get(`${namespace}/${name}`);
      return o ? clone(o) : undefined;
    },
    events() {
      const objects = objectsOf(typeKeyOf(kindFor('v1', 'Event')));
      return eventOrder.map((k) => objects.get(k)).filter((o): o is KubeObject => o !== undefined).map(clone);
    },
    resourceVersion: () => rv,
    openWatches: (match) => selectWatchers(match).length,
    async waitForWatches(match, n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (selectWatchers(match).length < n) {
        if (Date.now() > deadline) throw new Error(`fake apiserver: ${selectWatchers(match).length} open watches matching ${match}, wanted ${n}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    dropWatches(match) {
      const list = selectWatchers(match);
      for (const w of list) {
        closeWatcher(w);
        w.res.socket?.destroy();
      }
      return list.length;
    },
    expireWatches(match) {
      compactedRv = rv;
      history = [];
      const list = selectWatchers(match);
      for (const w of list) {
        writeEvent(w, 'ERROR', status(410, 'Expired', `too old resource version: ${rv - 1} (${compactedRv})`));
        closeWatcher(w);
        w.res.end();
      }
      return list.length;
    },
    failNext(rule) {
      failures.push({ ...rule, left: rule.times ?? 1 });
    },
    holdLists() {
      let release!: () => void;
      listGate = new Promise<void>((r) => { release = r; });
      return () => {
        listGate = undefined;
        release();
      };
    },
    async close() {
      for (const w of [...watchers]) {
        closeWatcher(w);
        w.res.destroy();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(kubeconfigPath, { force: true });
    },
  };
}
