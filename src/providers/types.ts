// The contract between Herald's delivery pipeline and one provider type: settings in, config parsed once, send per notification.
import type { FluxEvent } from '../api/event.js';
import type { Provider, ProviderCategory, ProviderType } from '../api/provider.js';
import type { Logger } from '../logger.js';
import type { ProviderRuntime } from './runtime.js';
import type { Rendered } from './rendered.js';

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
  /** The Alert's message template output (docs/templates.md); absent means Flux's format. Never for git types. */
  rendered?: Rendered;
}

/**
 * What a Provider would send for one notification, for `herald explain --render`: an HTTP request, a message
 * published to a bus subject or topic, or a line saying why there is no preview. Secrets are not masked here.
 */
export type RequestPreview =
  | { kind: 'http'; method: string; url: string; headers: Record<string, string>; body?: string | Buffer }
  | { kind: 'publish'; target: string; payload: string }
  | { kind: 'none'; why: string };

export interface SendContext {
  /** Aborted when the provider timeout for this delivery expires or Herald shuts down. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  log: Logger;
}

export type { ProviderCategory } from '../api/provider.js';

/** A Secret key a provider type reads, beyond the common ones every type resolves (event-server.md §11). */
export interface SecretKey {
  key: string;
  /** A credential: masked in every log line, error and Event, wherever it appears. */
  sensitive: boolean;
}

/** What a provider may use when it parses its settings: the pools and caches of one Herald instance. */
export interface ParseContext {
  runtime: ProviderRuntime;
}

/**
 * One provider type. Providers never retry, never log secrets and never read Kubernetes: the worker does that.
 * Declare it with defineProvider (or defineHttpProvider for one-exchange HTTP types) and add it to registry.ts.
 */
export interface ProviderDefinition<C = unknown> {
  readonly type: ProviderType;
  readonly category: ProviderCategory;
  /** The Secret keys this type reads beyond address/proxy/headers/token/username/password and TLS. */
  readonly secretKeys: readonly SecretKey[];
  /** Whether the type applies `proxySecretRef` / `certSecretRef` (the conformance suite checks what is declared). */
  readonly transport: { proxy: boolean; tls: boolean };
  /** Validates the settings and builds the provider's config; throws ConfigError with a clear message. */
  parse(settings: ProviderSettings, ctx: ParseContext): C;
  /** Sends one notification with one attempt; throws DeliveryError (retryable or not) on failure. */
  send(notification: Notification, config: C, ctx: SendContext): Promise<void>;
  /**
   * The request `send` would make first, without sending it (`herald explain --render`); undefined when the type
   * sends nothing for this notification. Optional: types without it show "preview not available".
   */
  preview?(notification: Notification, config: C): RequestPreview | undefined;
  /** Releases what the config holds (pooled connections) when the Provider or its Secret changes, or on shutdown. */
  close?(config: C): Promise<void>;
}

/** Declares a provider type; the identity function that lets TypeScript infer C from parse and check send against it. */
export function defineProvider<C>(definition: ProviderDefinition<C>): ProviderDefinition<C> {
  return definition;
}

/** A Provider or Secret that cannot produce a working notifier. Not retried. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Why an attempt failed, for the delivery metrics and logs: the endpoint refused the credentials (auth), refused the
 * request (client), failed (server), throttled (rate-limited), did not answer in time (timeout), could not be reached
 * (transport), or the notification cannot be sent as it is (invalid: no revision, unsupported severity, ...).
 */
export type FailureReason = 'auth' | 'client' | 'server' | 'rate-limited' | 'timeout' | 'transport' | 'invalid';

export interface DeliveryErrorOptions {
  retryable: boolean;
  /** Default: `transport` when retryable, else `invalid`. */
  reason?: FailureReason;
  /** From a Retry-After header (429/503), overriding the computed backoff. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** One failed attempt at sending. `retryable` follows Flux's shared HTTP client policy (providers/README.md §5.2). */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  readonly retryable: boolean;
  readonly reason: FailureReason;
  readonly retryAfterMs?: number;
  constructor(message: string, opts: DeliveryErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryable = opts.retryable;
    this.reason = opts.reason ?? (opts.retryable ? 'transport' : 'invalid');
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }

  /** The same failure with a context prefix (`postMessage failed: ...`), keeping its classification. */
  prefixed(prefix: string): DeliveryError {
    return new DeliveryError(`${prefix}${this.message}`, {
      retryable: this.retryable,
      reason: this.reason,
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
      cause: this,
    });
  }
}
