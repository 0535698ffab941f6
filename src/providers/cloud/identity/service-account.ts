// Object-level workload identity (spec.serviceAccountName, feature gate ObjectLevelWorkloadIdentity): the ServiceAccount
// a Provider names, its Kubernetes tokens (TokenRequest API, through the runtime's ServiceAccountSource set in cluster
// mode) cached per ServiceAccount and audience until shortly before they expire, and Flux's error texts.
import type { ProviderRuntime, ServiceAccountSource, SharedResource } from '../../runtime.js';
import { ConfigError, type ProviderSettings } from '../../types.js';
import { withDeadline } from '../sdk.js';

export const FEATURE_GATE_ERROR = 'to use spec.serviceAccountName for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller';

/** A token is renewed when less than this is left of it (or less than half its lifetime, for short-lived ones). */
export const RENEW_MARGIN_MS = 5 * 60_000;

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** `ns/name`, as Flux quotes it in errors. */
export const serviceAccountKey = (sa: ServiceAccountRef): string => `${sa.namespace}/${sa.name}`;

/**
 * The ServiceAccount of `spec.serviceAccountName` (in the Provider's namespace), or undefined when none is named.
 * Without the feature gate it is Flux's error; in config-dir mode (no Kubernetes API) a clear one.
 */
export function objectLevelServiceAccount(settings: ProviderSettings, runtime: ProviderRuntime, where: string): ServiceAccountRef | undefined {
  const name = settings.provider.spec.serviceAccountName ?? '';
  if (name === '') return undefined;
  requireObjectLevelGate(settings, runtime, where);
  if (!runtime.options.serviceAccounts) {
    throw new ConfigError(`${where}: spec.serviceAccountName ${JSON.stringify(name)} needs cluster mode: object-level workload identity asks the Kubernetes API for the ServiceAccount's tokens, and Herald runs with --config-dir`);
  }
  return { namespace: settings.provider.metadata.namespace, name };
}

/** Flux's error for spec.serviceAccountName while the ObjectLevelWorkloadIdentity feature gate is off. */
export function requireObjectLevelGate(settings: ProviderSettings, runtime: ProviderRuntime, where: string): void {
  if (settings.provider.spec.serviceAccountName && !runtime.options.objectLevelWorkloadIdentity) throw new ConfigError(`${where}: ${FEATURE_GATE_ERROR}`);
}

function source(runtime: ProviderRuntime): ServiceAccountSource {
  const s = runtime.options.serviceAccounts;
  if (!s) throw new Error('object-level workload identity needs cluster mode');
  return s;
}

/** The ServiceAccount's annotations (read on every use, so a changed identity is picked up); Flux's error text. */
export async function serviceAccountAnnotations(runtime: ProviderRuntime, sa: ServiceAccountRef, signal: AbortSignal): Promise<Record<string, string>> {
  try {
    return await withDeadline(source(runtime).annotations(sa.namespace, sa.name), signal);
  } catch (err) {
    throw new Error(`failed to get service account '${serviceAccountKey(sa)}': ${(err as Error).message}`, { cause: err });
  }
}

interface Cached {
  token: string;
  expiresAt: number;
  renewAt: number;
}

class ServiceAccountTokens implements SharedResource {
  private readonly entries = new Map<string, Promise<Cached>>();

  constructor(private readonly runtime: ProviderRuntime) {}

  async get(sa: ServiceAccountRef, audience: string, signal: AbortSignal): Promise<string> {
    const key = JSON.stringify([sa.namespace, sa.name, audience]);
    const held = this.entries.get(key);
    if (held) {
      const cached = await withDeadline(held, signal).catch(() => undefined);
      if (cached && Date.now() < cached.renewAt) return cached.token;
      if (this.entries.get(key) === held) this.entries.delete(key);
    }
    let pending = this.entries.get(key);
    if (!pending) {
      this.prune();
      const p = source(this.runtime).token(sa.namespace, sa.name, audience).then((t): Cached => {
        const margin = Math.min(RENEW_MARGIN_MS, Math.max(0, (t.expiresAt - Date.now()) / 2));
        return { token: t.token, expiresAt: t.expiresAt, renewAt: t.expiresAt - margin };
      });
      pending = p;
      this.entries.set(key, p);
      p.catch(() => { if (this.entries.get(key) === p) this.entries.delete(key); });
    }
    try {
      return (await withDeadline(pending, signal)).token;
    } catch (err) {
      throw new Error(`failed to create kubernetes token for service account '${serviceAccountKey(sa)}': ${(err as Error).message}`, { cause: err });
    }
  }

  /** Drops tokens that have expired (a Provider that was removed no longer asks for its own). */
  private prune(): void {
    const now = Date.now();
    for (const [key, p] of this.entries) void p.then((c) => { if (c.expiresAt <= now && this.entries.get(key) === p) this.entries.delete(key); }, () => undefined);
  }

  close(): void {
    this.entries.clear();
  }
}

/**
 * A Kubernetes token of the ServiceAccount for `audience`, from the instance's cache (one TokenRequest per
 * ServiceAccount and audience until the token is about to expire, concurrent callers share it).
 */
export function serviceAccountToken(runtime: ProviderRuntime, sa: ServiceAccountRef, audience: string, signal: AbortSignal): Promise<string> {
  return runtime.shared('kubernetes-service-account-tokens', () => new ServiceAccountTokens(runtime)).get(sa, audience, signal);
}
