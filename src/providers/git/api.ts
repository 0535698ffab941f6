// What the git hosting providers share around their REST calls: naming the Provider and Secret in errors, the token
// of a Secret, the commit and status id of a notification, and one exchange wrapped with Flux's error prefixes.
import { maskSecrets } from '../../logger.js';
import { httpRequest, type HttpResponse } from '../http/client.js';
import { statusError } from '../http/errors.js';
import type { Transport } from '../http/pool.js';
import type { ProviderType } from '../../api/provider.js';
import { ConfigError, defineProvider, DeliveryError, type Notification, type ParseContext, type ProviderCategory, type ProviderDefinition, type ProviderSettings, type SendContext } from '../types.js';
import { eventRevision, parseRevision } from './revision.js';

/** Who a config belongs to, for error texts; and the values derived from its credentials that errors must not show. */
export interface GitIdentity {
  /** `apps/ops` */
  provider: string;
  /** `apps/ops-token`, when the Provider has a secretRef. */
  secret?: string;
  /** Derived credentials (Basic encodings) masked out of every error text this family builds. */
  mask: string[];
}

export function gitIdentity(settings: ProviderSettings, mask: string[] = []): GitIdentity {
  const id: GitIdentity = { provider: `${settings.provider.metadata.namespace}/${settings.provider.metadata.name}`, mask };
  if (settings.secretName) id.secret = settings.secretName;
  return id;
}

/** `provider apps/ops: <text>`. */
export function configError(settings: ProviderSettings, text: string): ConfigError {
  return new ConfigError(`provider ${settings.provider.metadata.namespace}/${settings.provider.metadata.name}: ${text}`);
}

/** Where the missing token should go: the Secret and its key, or the missing secretRef. */
export function whereToken(settings: ProviderSettings, key = 'token'): string {
  if (!settings.secretName) return `spec.secretRef is not set; put the ${key === 'token' ? 'token' : 'credentials'} in a Secret under '${key}'`;
  return `secret ${settings.secretName} has no '${key}'`;
}

/**
 * The Secret `token`, else `password` (Flux's fallback for GitLab and Gitea). `empty` is Flux's constructor text. With
 * `header`, a token that cannot go into an HTTP header (a trailing newline, as `kubectl create secret --from-file`
 * leaves) is refused here: Go refuses to send it on every event.
 */
export function requireToken(settings: ProviderSettings, empty: string, opts: { passwordFallback: boolean; header: boolean }): string {
  const token = settings.token !== '' ? settings.token : opts.passwordFallback ? settings.password : '';
  const key = settings.token !== '' || !opts.passwordFallback || settings.password === '' ? 'token' : 'password';
  if (token === '') {
    throw configError(settings, `${empty}: ${whereToken(settings)}${opts.passwordFallback ? " (or 'username' and 'password')" : ''}`);
  }
  if (opts.header && /[\r\n\0]/.test(token)) {
    throw configError(settings, `secret ${settings.secretName ?? ''} key '${key}' contains a line break or NUL (a trailing newline?); it cannot be sent in an HTTP header`);
  }
  return token;
}

/** The address's API host must be http(s): anything else (`file://` for a bare path, `git://`) cannot be called. */
export function requireHttpHost(settings: ProviderSettings, host: string, api: string): void {
  if (!host.startsWith('https://') && !host.startsWith('http://')) {
    throw configError(settings, `address ${JSON.stringify(settings.address)} gives the ${api} API host ${JSON.stringify(host)}; use the repository's https (or ssh) URL`);
  }
}

/** Flux checks the commit status id when it builds a commit-status notifier, before anything else is looked at. */
export function requireStatusId(n: Notification): string {
  if (!n.commitStatusId) throw new DeliveryError('commit status cannot be empty', { retryable: false });
  return n.commitStatusId;
}

/** The commit of the event's revision (commit-status.md §4-§5), failing with Flux's unwrapped texts. */
export function eventCommit(n: Notification): string {
  const rev = eventRevision(n.event);
  if (rev === undefined) throw new DeliveryError('missing revision metadata', { retryable: false });
  try {
    return parseRevision(rev);
  } catch (err) {
    throw new DeliveryError((err as Error).message, { retryable: false });
  }
}

/** The failure of a call that could not decode the answer; a server bug, not worth a retry. */
export function decodeFailure(text: string, id: GitIdentity): DeliveryError {
  return new DeliveryError(maskSecrets(text, id.mask), { retryable: false, reason: 'invalid' });
}

export interface GitCall {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  transport: Transport;
  signal: AbortSignal;
  id: GitIdentity;
  /** Prefix of every failure (`unable to list commit status: `); '' for Flux's unwrapped SDK errors. */
  prefix: string;
  /** Statuses that succeed (default 2xx). */
  ok?: (status: number) => boolean;
  /** The SDK's text for a failed answer. */
  failure: (res: HttpResponse) => string;
}

/** What a 401/403 means, naming where the credentials came from. */
function authHint(status: number, id: GitIdentity): string {
  const creds = id.secret ? `secret ${id.secret}` : 'the Provider (no spec.secretRef)';
  if (status === 401) return ` (provider ${id.provider}: the server rejected the credentials from ${creds})`;
  if (status === 403) return ` (provider ${id.provider}: the credentials from ${creds} lack the permission for this call)`;
  return '';
}

/**
 * One REST exchange: a transport failure keeps its classification under the prefix, an answer that is not `ok` becomes a
 * DeliveryError classified as Flux's client does (401/403 final with reason auth, 429/5xx retryable, Retry-After kept).
 */
export async function gitCall(call: GitCall): Promise<HttpResponse> {
  let res: HttpResponse;
  try {
    res = await httpRequest(call.url, {
      method: call.method,
      headers: call.headers,
      ...(call.body !== undefined ? { body: call.body } : {}),
      transport: call.transport,
      signal: call.signal,
    });
  } catch (err) {
    if (err instanceof DeliveryError) throw err.prefixed(call.prefix);
    throw new DeliveryError(`${call.prefix}${(err as Error).message}`, { retryable: true, cause: err });
  }
  const ok = call.ok ?? ((s: number) => s >= 200 && s < 300);
  if (!ok(res.status)) {
    throw statusError(res, maskSecrets(`${call.prefix}${call.failure(res)}${authHint(res.status, call.id)}`, call.id.mask));
  }
  return res;
}

/** A JSON body, or a decode failure under `prefix` with a Go-like text. */
export function parseJson(body: string, prefix: string, id: GitIdentity): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw decodeFailure(`${prefix}${jsonErrorText(body)}`, id);
  }
}

/** Go's encoding/json text for a body that is not JSON (first character), or its end-of-input error. */
export function jsonErrorText(body: string): string {
  const first = body.trimStart()[0];
  if (first === undefined) return 'unexpected end of JSON input';
  if (!/[[{"\-0-9tfn]/.test(first)) return `invalid character ${first === "'" ? "'\\''" : `'${first}'`} looking for beginning of value`;
  return 'invalid JSON in response body';
}

/** A JSON value's string field, '' when absent or not a string. */
export function str(v: unknown, key: string): string {
  if (typeof v !== 'object' || v === null) return '';
  const x = (v as Record<string, unknown>)[key];
  return typeof x === 'string' ? x : '';
}

/**
 * A git hosting type: no Secret keys beyond the common ones, the Provider's proxy and TLS for every call, the pooled
 * transport released with the config.
 */
export function defineGitProvider<C extends { transport: Transport }>(d: {
  type: ProviderType;
  category: ProviderCategory;
  parse(settings: ProviderSettings, ctx: ParseContext): C;
  send(n: Notification, config: C, ctx: SendContext): Promise<void>;
}): ProviderDefinition<C> {
  return defineProvider<C>({ ...d, secretKeys: [], transport: { proxy: true, tls: true }, close: async (c) => c.transport.release() });
}

/** The host's state for an info or error event; Flux's `can't convert to <host> state` for any other severity. */
export function commitState(severity: string, states: { info: string; error: string }, host: string): string {
  if (severity === 'info') return states.info;
  if (severity === 'error') return states.error;
  throw new DeliveryError(`can't convert to ${host} state`, { retryable: false });
}
