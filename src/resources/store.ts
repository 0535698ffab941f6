// The in-memory ResourceStore every source fills: Alerts (compiled and indexed), Providers, Secrets and other objects' labels.
import { EventEmitter } from 'node:events';
import { RE2JS } from 're2js';
import type { Alert } from '../api/alert.js';
import type { Provider } from '../api/provider.js';
import type { Secret } from '../api/secret.js';
import type { ResolvedMeta } from '../api/meta.js';
import { ALL_NAMESPACES, AllNamespacePolicy } from '../routing/all-namespaces.js';

/** Any other Kubernetes object, kept only for `matchLabels` lookups of involved objects. */
export interface GenericObject {
  apiVersion: string;
  kind: string;
  metadata: ResolvedMeta;
}

export type StoredObject = Alert | Provider | Secret | GenericObject;

export interface CompiledPattern {
  pattern: string;
  regex?: RE2JS;
  error?: string;
  /** Size of the compiled RE2 program: the worst-case matching cost per message character. */
  instructions?: number;
}

/**
 * Patterns whose compiled program is larger than this are refused (they never match, reported like an invalid pattern):
 * matching cost grows with program size × message length, and `\pL{1000}!` (1003 instructions) takes seconds on a
 * 100 KB message. Ordinary patterns use 10–100 instructions; an alternation of 30 words about 250.
 */
export const MAX_PATTERN_INSTRUCTIONS = 1000;
/** Above this `herald check` warns: the pattern is matched off the event loop for all but short messages. */
export const COSTLY_PATTERN_INSTRUCTIONS = 100;

function programSize(re: RE2JS): number | undefined {
  const prog = (re as unknown as { re2Input?: { prog?: { numInst?: () => number } } }).re2Input?.prog;
  return typeof prog?.numInst === 'function' ? prog.numInst() : undefined;
}

/** An Alert with its regexes compiled once per version (Go RE2 semantics, unanchored find). */
export interface CompiledAlert {
  alert: Alert;
  inclusion: CompiledPattern[];
  exclusion: CompiledPattern[];
}

export type ChangeType = 'upsert' | 'delete';
export interface StoreChange {
  type: ChangeType;
  kind: string;
  namespace: string;
  name: string;
}

/** How the labels of an involved object are found: the store's own objects, or the Kubernetes API in cluster mode. */
export type LabelLookup = (ref: { apiVersion?: string; kind: string; namespace: string; name: string }) =>
  Promise<Record<string, string> | undefined>;

export function compilePattern(pattern: string): CompiledPattern {
  try {
    const regex = RE2JS.compile(pattern);
    // Unknown (a re2js without the internal field): assume the largest allowed size, so long messages go off-thread.
    const instructions = programSize(regex) ?? MAX_PATTERN_INSTRUCTIONS;
    if (instructions > MAX_PATTERN_INSTRUCTIONS) {
      return { pattern, instructions, error: `pattern too costly: its program has ${instructions} instructions, more than Herald's limit of ${MAX_PATTERN_INSTRUCTIONS} (matching time grows with program size × message length); the pattern never matches` };
    }
    return { pattern, regex, instructions };
  } catch (err) {
    return { pattern, error: (err as Error).message };
  }
}

/**
 * Compiled patterns shared by every Alert that uses the same text: a compiled RE2 program costs kilobytes, and
 * large installations repeat the same few filters across thousands of Alerts. Entries live while an Alert uses them.
 */
class PatternCache {
  private readonly entries = new Map<string, { compiled: CompiledPattern; refs: number }>();

  acquire(pattern: string): CompiledPattern {
    let e = this.entries.get(pattern);
    if (!e) this.entries.set(pattern, (e = { compiled: compilePattern(pattern), refs: 0 }));
    e.refs++;
    return e.compiled;
  }

  release(pattern: string): void {
    const e = this.entries.get(pattern);
    if (e && --e.refs <= 0) this.entries.delete(pattern);
  }

  get size(): number {
    return this.entries.size;
  }
}

export function compileAlert(alert: Alert, cache?: PatternCache): CompiledAlert {
  const compile = cache ? (p: string) => cache.acquire(p) : compilePattern;
  return {
    alert,
    inclusion: (alert.spec.inclusionList ?? []).map(compile),
    exclusion: (alert.spec.exclusionList ?? []).map(compile),
  };
}

function nsName(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function objectKey(apiVersionOrGroup: string, kind: string, namespace: string, name: string): string {
  return `${apiVersionOrGroup}|${kind}|${namespace}/${name}`;
}

function groupOf(apiVersion: string | undefined): string {
  if (!apiVersion) return '';
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/**
 * Holds the resources and answers the questions the event path asks. Alerts are indexed by
 * (source kind, effective namespace), so matching one event costs O(alerts that could match).
 */
export class ResourceStore extends EventEmitter<{ change: [StoreChange]; ready: [] }> {
  private readonly alertsByKey = new Map<string, CompiledAlert>();
  private readonly providers = new Map<string, Provider>();
  private readonly secrets = new Map<string, Secret>();
  private readonly objects = new Map<string, GenericObject>();
  /** kind -> namespace -> alerts with a source for that kind in that namespace. */
  private readonly index = new Map<string, Map<string, Set<CompiledAlert>>>();
  /** kind -> allowed all-namespace Alerts (`namespace: "*"`), checked for every event of the kind. */
  private readonly allNamespaceIndex = new Map<string, Set<CompiledAlert>>();
  /** The same sets sorted, built on first use after a change (events far outnumber Alert changes). */
  private readonly allNamespaceSorted = new Map<string, CompiledAlert[]>();
  private policy = AllNamespacePolicy.none;
  private readonly patterns = new PatternCache();
  private isReady = false;
  /** Called once for each newly compiled Alert version that has invalid patterns (reported once, not per event). */
  onInvalidPattern?: (alert: Alert, list: 'inclusion' | 'exclusion', pattern: string, error: string) => void;

  get ready(): boolean {
    return this.isReady;
  }

  markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.emit('ready');
  }

  get allNamespacePolicy(): AllNamespacePolicy {
    return this.policy;
  }

  /** Sets which Alerts may use `namespace: "*"` and re-indexes the Alerts already stored. */
  setAllNamespacePolicy(policy: AllNamespacePolicy): void {
    const all = [...this.alertsByKey.values()];
    for (const c of all) this.unindex(c);
    this.policy = policy;
    for (const c of all) this.indexAlert(c);
  }

  /** The index slot of one source: the kind's all-namespace set, or (kind, effective namespace). */
  private slotOf(c: CompiledAlert, source: { kind: string; namespace?: string }): { all: true } | { all: false; ns: string } {
    const alertNs = c.alert.metadata.namespace;
    if (source.namespace === ALL_NAMESPACES && this.policy.allows(alertNs)) return { all: true };
    return { all: false, ns: source.namespace || alertNs };
  }

  private indexAlert(compiled: CompiledAlert): void {
    for (const source of compiled.alert.spec.eventSources) {
      const slot = this.slotOf(compiled, source);
      if (slot.all) {
        let set = this.allNamespaceIndex.get(source.kind);
        if (!set) this.allNamespaceIndex.set(source.kind, (set = new Set()));
        set.add(compiled);
        this.allNamespaceSorted.delete(source.kind);
        continue;
      }
      let byNs = this.index.get(source.kind);
      if (!byNs) this.index.set(source.kind, (byNs = new Map()));
      let set = byNs.get(slot.ns);
      if (!set) byNs.set(slot.ns, (set = new Set()));
      set.add(compiled);
    }
  }

  upsert(obj: StoredObject): void {
    const { namespace, name } = obj.metadata;
    switch (obj.kind) {
      case 'Alert':
        this.upsertAlert(obj as Alert);
        break;
      case 'Provider':
        this.providers.set(nsName(namespace, name), obj as Provider);
        break;
      case 'Secret':
        this.secrets.set(nsName(namespace, name), obj as Secret);
        break;
      default:
        this.objects.set(objectKey(groupOf(obj.apiVersion), obj.kind, namespace, name), obj as GenericObject);
    }
    this.emit('change', { type: 'upsert', kind: obj.kind, namespace, name });
  }

  /** Removes an object; `apiVersion` is needed only for generic objects. */
  delete(kind: string, namespace: string, name: string, apiVersion?: string): void {
    const key = nsName(namespace, name);
    let removed = false;
    switch (kind) {
      case 'Alert': {
        const old = this.alertsByKey.get(key);
        if (old) {
          this.unindex(old);
          this.releasePatterns(old);
          this.alertsByKey.delete(key);
          removed = true;
        }
        break;
      }
      case 'Provider':
        removed = this.providers.delete(key);
        break;
      case 'Secret':
        removed = this.secrets.delete(key);
        break;
      default:
        removed = this.objects.delete(objectKey(groupOf(apiVersion), kind, namespace, name));
    }
    if (removed) this.emit('change', { type: 'delete', kind, namespace, name });
  }

  private upsertAlert(alert: Alert): void {
    const key = nsName(alert.metadata.namespace, alert.metadata.name);
    const old = this.alertsByKey.get(key);
    if (old) this.unindex(old);
    const reuse = old !== undefined && sameAlertPatterns(old.alert, alert);
    if (old && !reuse) this.releasePatterns(old);
    const compiled = reuse ? { alert, inclusion: old.inclusion, exclusion: old.exclusion } : compileAlert(alert, this.patterns);
    if (!old || compiled.inclusion !== old.inclusion) this.reportInvalid(compiled);
    this.alertsByKey.set(key, compiled);
    this.indexAlert(compiled);
  }

  private releasePatterns(c: CompiledAlert): void {
    for (const p of [...c.inclusion, ...c.exclusion]) this.patterns.release(p.pattern);
  }

  private reportInvalid(c: CompiledAlert): void {
    if (!this.onInvalidPattern) return;
    for (const p of c.inclusion) if (p.error) this.onInvalidPattern(c.alert, 'inclusion', p.pattern, p.error);
    for (const p of c.exclusion) if (p.error) this.onInvalidPattern(c.alert, 'exclusion', p.pattern, p.error);
  }

  private unindex(c: CompiledAlert): void {
    for (const source of c.alert.spec.eventSources) {
      const slot = this.slotOf(c, source);
      if (slot.all) {
        const set = this.allNamespaceIndex.get(source.kind);
        set?.delete(c);
        if (set?.size === 0) this.allNamespaceIndex.delete(source.kind);
        this.allNamespaceSorted.delete(source.kind);
        continue;
      }
      const ns = slot.ns;
      const byNs = this.index.get(source.kind);
      const set = byNs?.get(ns);
      if (!set) continue;
      set.delete(c);
      if (set.size === 0) byNs!.delete(ns);
      if (byNs!.size === 0) this.index.delete(source.kind);
    }
  }

  /** Alerts with at least one source for the event's kind and namespace, in namespace/name order (Flux lists alerts sorted). */
  alertsFor(ref: { kind: string; namespace: string }): CompiledAlert[] {
    const set = this.index.get(ref.kind)?.get(ref.namespace);
    const wide = this.allNamespaceIndex.get(ref.kind);
    if ((!set || set.size === 0) && !wide) return [];
    let list: CompiledAlert[];
    if (!wide) list = [...set!];
    else if (!set || set.size === 0) return this.sortedAllNamespace(ref.kind, wide).slice();
    else list = [...new Set([...set, ...wide])];
    if (list.length > 1) list.sort(compareAlerts);
    return list;
  }

  private sortedAllNamespace(kind: string, set: Set<CompiledAlert>): CompiledAlert[] {
    let sorted = this.allNamespaceSorted.get(kind);
    if (!sorted) this.allNamespaceSorted.set(kind, (sorted = [...set].sort(compareAlerts)));
    return sorted;
  }

  alerts(): CompiledAlert[] {
    return [...this.alertsByKey.values()].sort(compareAlerts);
  }

  alert(namespace: string, name: string): CompiledAlert | undefined {
    return this.alertsByKey.get(nsName(namespace, name));
  }

  provider(namespace: string, name: string): Provider | undefined {
    return this.providers.get(nsName(namespace, name));
  }

  allProviders(): Provider[] {
    return [...this.providers.values()];
  }

  secret(namespace: string, name: string): Secret | undefined {
    return this.secrets.get(nsName(namespace, name));
  }

  /** Labels of an object kept in the store (directory mode's LabelLookup). */
  readonly storedLabels: LabelLookup = async (ref) => {
    const obj = this.objects.get(objectKey(groupOf(ref.apiVersion), ref.kind, ref.namespace, ref.name));
    return obj ? (obj.metadata.labels ?? {}) : undefined;
  };

  counts(): { alerts: number; providers: number; secrets: number; objects: number } {
    return { alerts: this.alertsByKey.size, providers: this.providers.size, secrets: this.secrets.size, objects: this.objects.size };
  }
}

function compareAlerts(a: CompiledAlert, b: CompiledAlert): number {
  const x = a.alert.metadata, y = b.alert.metadata;
  return x.namespace < y.namespace ? -1 : x.namespace > y.namespace ? 1 : x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
}

function sameAlertPatterns(a: Alert, b: Alert): boolean {
  const eq = (x?: string[] | null, y?: string[] | null) => JSON.stringify(x ?? []) === JSON.stringify(y ?? []);
  return eq(a.spec.inclusionList, b.spec.inclusionList) && eq(a.spec.exclusionList, b.spec.exclusionList);
}
