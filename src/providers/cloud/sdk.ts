// What the SDK-based cloud bus providers (googlepubsub, azureeventhub) share: names for errors, the attempt deadline
// around an SDK call that takes no AbortSignal, and a lazily created client per Provider version.
import { maskSecrets } from '../../logger.js';
import type { ProviderType } from '../../api/provider.js';
import type { ProviderRuntime, SharedResource } from '../runtime.js';
import { defineProvider, DeliveryError, type FailureReason, type ProviderDefinition, type ProviderSettings } from '../types.js';

/** `provider <ns>/<name>` and, when there is a secretRef, `provider <ns>/<name>: secret <ns>/<name>`. */
export function providerWhere(settings: ProviderSettings): { provider: string; where: string; secretWhere: string } {
  const meta = settings.provider.metadata;
  const provider = `${meta.namespace}/${meta.name}`;
  const where = `provider ${provider}`;
  return { provider, where, secretWhere: settings.secretName ? `${where}: secret ${settings.secretName}` : where };
}

/** Adds values derived from credentials to the settings' masked values (the worker masks logs and Events with them). */
export function addSensitive(settings: ProviderSettings, values: readonly (string | undefined)[]): string[] {
  const out = [...settings.sensitive];
  for (const v of values) {
    if (v === undefined || v.length < 3) continue;
    if (!out.includes(v)) out.push(v);
    if (!settings.sensitive.includes(v)) settings.sensitive.push(v);
  }
  return out;
}

/** Thrown by `withDeadline` when the attempt's signal fires first. */
export class AttemptDeadline extends Error {
  override readonly name = 'AttemptDeadline';
}

/** Waits for `p` or the attempt deadline, whichever comes first (SDK calls that cannot be cancelled keep running). */
export function withDeadline<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  p.catch(() => undefined);
  if (signal.aborted) return Promise.reject(new AttemptDeadline('context deadline exceeded', { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AttemptDeadline('context deadline exceeded', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e as Error); },
    );
  });
}

/** A failed delivery whose text has every credential of the Provider masked out. */
export function deliveryError(
  message: string, sensitive: readonly string[], opts: { retryable: boolean; reason: FailureReason },
): DeliveryError {
  return new DeliveryError(maskSecrets(message, sensitive), { retryable: opts.retryable, reason: opts.reason });
}

/** The error an SDK's retry loop gave up on: the last of an AggregateError's attempts (its own message is empty). */
export function sdkError(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 5 && e instanceof AggregateError && e.errors.length > 0; i++) e = e.errors[e.errors.length - 1];
  return e;
}

/** The message of anything thrown, without a stack. */
export function errorText(err: unknown): string {
  const e = sdkError(err);
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * One SDK client per Provider version: created on the first send (the SDK is imported then), shared by every send of
 * that version, closed when the Provider or its Secret changes. A client that failed to be created is retried on the
 * next send.
 */
export class LazyClient<T> {
  private pending: Promise<T> | undefined;
  private closed = false;

  constructor(private readonly create: () => Promise<T>, private readonly dispose: (client: T) => Promise<void>) {}

  get(): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the provider was changed or removed while the notification was being sent'));
    if (!this.pending) {
      const p = this.create();
      this.pending = p;
      p.catch(() => {
        if (this.pending === p) this.pending = undefined;
      });
    }
    return this.pending;
  }

  /** Whether a client was created (or is being created). */
  get started(): boolean {
    return this.pending !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    let client: T;
    try {
      client = await p;
    } catch {
      return;
    }
    await this.dispose(client);
  }
}

/**
 * A cloud bus type that talks through a vendor SDK: no Secret keys beyond the common ones (`token` is already
 * sensitive), neither proxySecretRef nor certSecretRef (the spec: the proxy would only apply to a workload-identity
 * token exchange), and the Provider version's client closed with it.
 */
export function defineSdkBusProvider<C extends { readonly client: { close(): Promise<void> } }>(
  d: Pick<ProviderDefinition<C>, 'parse' | 'send'> & { type: ProviderType },
): ProviderDefinition<C> {
  return defineProvider<C>({
    type: d.type,
    category: 'cloud-bus',
    secretKeys: [],
    transport: { proxy: false, tls: false },
    parse: d.parse,
    send: d.send,
    close: (config) => config.client.close(),
  });
}

interface LazyShared<T> extends SharedResource {
  get(): Promise<T>;
}

/**
 * The instance's `name` resource built by `create` on first use (an SDK credential imported lazily), shared by every
 * Provider; a failed build is tried again on the next use.
 */
export function sharedLazily<T>(runtime: ProviderRuntime, name: string, create: () => Promise<T>): Promise<T> {
  return runtime.shared<LazyShared<T>>(name, () => {
    let value: Promise<T> | undefined;
    return {
      get() {
        if (!value) {
          const p = create();
          value = p;
          p.catch(() => { if (value === p) value = undefined; });
        }
        return value;
      },
    };
  }).get();
}
