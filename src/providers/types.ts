// The contract between Herald's delivery pipeline and one provider type: settings in, config parsed once, send per notification.
import type { FluxEvent } from '../api/event.js';
import type { Provider } from '../api/provider.js';
import type { Logger } from '../logger.js';

/** TLS material from certSecretRef (or, for commit-status types, the secretRef), PEM strings. */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * Everything Flux resolves from a Provider and its Secrets before it constructs a notifier
 * (event-server.md §11). Built once per Provider/Secret version by resolveProviderSettings.
 */
export interface ProviderSettings {
  provider: Provider;
  type: string;
  /** Effective address: Secret `address` (trimmed) over `spec.address`; '' when none. */
  address: string;
  channel: string;
  /** `spec.username`, replaced by the Secret's when it has both `username` and `password`. */
  username: string;
  password: string;
  /** Secret `token`, raw (not trimmed); '' when absent. */
  token: string;
  headers: Record<string, string>;
  /** Proxy URL after the precedence spec.proxy < Secret `proxy` < proxySecretRef. */
  proxy?: string;
  tls?: TlsMaterial;
  /** The whole secretRef data as raw bytes, for providers that read extra keys (nats `creds`, `nkey`). */
  secretData: Record<string, Buffer>;
  /** `namespace/name` of the secretRef Secret, for error messages. */
  secretName?: string;
  timeoutMs: number;
  /** Values that must never appear in a log line or error: tokens, passwords, seeds, signed URLs. */
  sensitive: string[];
}

export interface Notification {
  /** The event after metadata merge (event-server.md §9): unprefixed keys, token/checksum/digest gone. */
  event: FluxEvent;
  alert: { namespace: string; name: string; uid: string; eventMetadata?: Record<string, string> };
  provider: { namespace: string; name: string; uid: string; type: string };
  /** Only for commit-status provider types (event-server.md §10). */
  commitStatusId?: string;
}

export interface SendContext {
  /** Aborted when the provider timeout for this delivery expires or Herald shuts down. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  log: Logger;
}

/** One provider type. Providers never retry, never log secrets and never read Kubernetes: the worker does that. */
export interface ProviderDefinition<C = unknown> {
  readonly type: string;
  /** Validates the settings and builds the provider's config; throws ConfigError with a clear message. */
  parse(settings: ProviderSettings): C;
  /** Sends one notification with one attempt; throws DeliveryError (retryable or not) on failure. */
  send(notification: Notification, config: C, ctx: SendContext): Promise<void>;
  /** Releases what the config holds (pooled connections) when the Provider or its Secret changes, or on shutdown. */
  close?(config: C): Promise<void>;
}

/** A Provider or Secret that cannot produce a working notifier. Not retried. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface DeliveryErrorOptions {
  retryable: boolean;
  /** From a Retry-After header (429/503), overriding the computed backoff. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** One failed attempt at sending. `retryable` follows Flux's shared HTTP client policy (providers/README.md §5.2). */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  constructor(message: string, opts: DeliveryErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryable = opts.retryable;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}
