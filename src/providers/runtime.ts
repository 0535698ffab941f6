// The pools and caches one Herald instance lends its providers: created by app.ts, handed down through contexts, closed on stop.
import { HttpPool } from './http/pool.js';

/** Something a provider family shares across Provider configs (a connection pool, a token cache). */
export interface SharedResource {
  close?(): Promise<void> | void;
}

/**
 * Kubernetes ServiceAccounts for object-level workload identity (`spec.serviceAccountName`): set by app.ts in cluster
 * mode, so that providers never read Kubernetes themselves.
 */
export interface ServiceAccountSource {
  /** The ServiceAccount's annotations; rejects with a clear text when it does not exist or cannot be read. */
  annotations(namespace: string, name: string, signal?: AbortSignal): Promise<Record<string, string>>;
  /** A new token of the ServiceAccount for `audience` (TokenRequest API) and when it expires (ms since the epoch). */
  token(namespace: string, name: string, audience: string, signal?: AbortSignal): Promise<{ token: string; expiresAt: number }>;
}

export interface ProviderRuntimeOptions {
  /** The `ObjectLevelWorkloadIdentity` feature gate (`--feature-gates`). */
  objectLevelWorkloadIdentity?: boolean;
  /** Absent outside cluster mode. */
  serviceAccounts?: ServiceAccountSource;
}

export class ProviderRuntime {
  constructor(readonly options: ProviderRuntimeOptions = {}) {}

  /** Pooled HTTP dispatchers, one per (proxy, TLS); configs take their transport from here at parse time. */
  readonly http = new HttpPool();
  private readonly resources = new Map<string, SharedResource>();

  /**
   * The instance's resource `name`, created on first use: the NATS connection pool, the GitHub App token cache, a
   * cloud credential cache. Closed with the runtime.
   */
  shared<T extends SharedResource>(name: string, create: () => T): T {
    let r = this.resources.get(name);
    if (!r) {
      r = create();
      this.resources.set(name, r);
    }
    return r as T;
  }

  /** Closes every pool and cache; in-flight requests finish first. */
  async close(): Promise<void> {
    const all = [...this.resources.values()];
    this.resources.clear();
    await Promise.allSettled([this.http.close(), ...all.map(async (r) => r.close?.())]);
  }
}
