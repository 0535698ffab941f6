// Parsed provider configs, built once per Provider/Secret version and released (pooled connections closed) when either changes.
import type { Provider } from '../api/provider.js';
import type { Secret } from '../api/secret.js';
import type { Logger } from '../logger.js';
import type { ResourceStore, StoreChange } from '../resources/store.js';
import { providerDefinition } from '../providers/registry.js';
import type { ProviderRuntime } from '../providers/runtime.js';
import { resolveProviderSettings } from '../providers/settings/resolve.js';
import { ConfigError, type ProviderDefinition, type ProviderSettings } from '../providers/types.js';

export interface ResolvedProvider {
  provider: Provider;
  settings: ProviderSettings;
  definition: ProviderDefinition<unknown>;
  config: unknown;
}

interface Entry {
  provider: Provider;
  /** The Secret names the Provider refers to, and the Secret objects the value was built from. */
  refs: string[];
  secrets: (Secret | undefined)[];
  value?: ResolvedProvider;
  error?: ConfigError;
}

function secretRefs(p: Provider): string[] {
  return [p.spec.secretRef?.name, p.spec.proxySecretRef?.name, p.spec.certSecretRef?.name].filter((n): n is string => !!n);
}

export class ProviderCache {
  private readonly entries = new Map<string, Entry>();
  private readonly onChange = (c: StoreChange) => this.invalidate(c);

  constructor(private readonly store: ResourceStore, private readonly log: Logger, private readonly runtime: ProviderRuntime) {
    store.on('change', this.onChange);
  }

  /** The parsed config for this Provider object, or a ConfigError with Flux's wording. */
  resolve(provider: Provider): ResolvedProvider {
    const key = `${provider.metadata.namespace}/${provider.metadata.name}`;
    const cached = this.entries.get(key);
    // The hit path (every delivery) compares identities in place: no arrays built per call.
    if (cached && cached.provider === provider && this.sameSecrets(cached)) {
      if (cached.error) throw cached.error;
      return cached.value!;
    }
    if (cached) this.release(key, cached);
    const refs = secretRefs(provider);
    const secrets = refs.map((n) => this.store.secret(provider.metadata.namespace, n));
    const entry: Entry = { provider, refs, secrets };
    try {
      entry.value = this.build(provider);
    } catch (err) {
      entry.error = err instanceof ConfigError ? err : new ConfigError((err as Error).message);
    }
    this.entries.set(key, entry);
    if (entry.error) throw entry.error;
    return entry.value!;
  }

  private sameSecrets(e: Entry): boolean {
    const ns = e.provider.metadata.namespace;
    for (let i = 0; i < e.refs.length; i++) if (this.store.secret(ns, e.refs[i]!) !== e.secrets[i]) return false;
    return true;
  }

  private build(provider: Provider): ResolvedProvider {
    const name = provider.metadata.name;
    const definition = providerDefinition(provider.spec.type);
    let settings: ProviderSettings;
    try {
      settings = resolveProviderSettings(provider, (ns, n) => this.store.secret(ns, n));
    } catch (err) {
      throw new ConfigError(`failed to initialize notifier for provider '${name}': ${(err as Error).message}`);
    }
    // Flux logs these deprecations on every event; once per Provider version is enough.
    const where = { provider: `${provider.metadata.namespace}/${name}` };
    if (provider.spec.proxy) this.log.info(where, 'warning: spec.proxy is deprecated, please use spec.proxySecretRef instead. Support for this field will be removed in v1.');
    const secretName = provider.spec.secretRef?.name;
    if (secretName && this.store.secret(provider.metadata.namespace, secretName)?.data['proxy'] !== undefined) {
      this.log.info(where, "warning: specifying proxy with 'proxy' key in the referenced secret is deprecated, use spec.proxySecretRef with 'address' key instead. Support for the 'proxy' key will be removed in v1.");
    }
    if (!definition) {
      throw new ConfigError(`failed to initialize notifier for provider '${name}': failed to initialize notifier: provider ${provider.spec.type} not supported`);
    }
    try {
      return { provider, settings, definition, config: definition.parse(settings, { runtime: this.runtime }) };
    } catch (err) {
      throw new ConfigError(`failed to initialize notifier for provider '${name}': failed to initialize notifier: ${(err as Error).message}`);
    }
  }

  private invalidate(change: StoreChange): void {
    if (change.kind === 'Provider') {
      const key = `${change.namespace}/${change.name}`;
      const e = this.entries.get(key);
      if (e) this.release(key, e);
      return;
    }
    if (change.kind !== 'Secret') return;
    for (const [key, e] of this.entries) {
      if (e.provider.metadata.namespace === change.namespace && e.refs.includes(change.name)) this.release(key, e);
    }
  }

  private release(key: string, e: Entry): void {
    this.entries.delete(key);
    const v = e.value;
    if (v?.definition.close) {
      v.definition.close(v.config).catch((err: unknown) =>
        this.log.error({ provider: key, err: (err as Error).message }, 'closing provider resources failed'));
    }
  }

  async closeAll(): Promise<void> {
    this.store.off('change', this.onChange);
    const closing: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      const v = e.value;
      if (v?.definition.close) closing.push(v.definition.close(v.config).catch(() => undefined));
    }
    this.entries.clear();
    await Promise.all(closing);
  }
}
