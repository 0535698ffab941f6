// What the three GitHub types share (github.md §3-§5, §8): owner/repo and API base from the address, the token or
// GitHub App credentials, the REST call with go-github's headers and error text.
import { goEscape, goEscapedPath, parseGoUrl } from '../../go/url.js';
import { maskSecrets } from '../../logger.js';
import { httpRequest, type HttpResponse } from '../http/client.js';
import { bodyExcerpt, statusError } from '../http/errors.js';
import type { Transport } from '../http/pool.js';
import { resolveTransport } from '../http/provider.js';
import type { ProviderType } from '../../api/provider.js';
import {
  ConfigError, defineProvider, DeliveryError, type Notification, type ParseContext, type ProviderCategory, type ProviderDefinition, type ProviderSettings,
  type SecretKey, type SendContext,
} from '../types.js';
import { parseGitAddress } from './address.js';
import { githubAppTokenCache, parseGitHubApp, type GitHubApp, type GitHubAppTokenCache } from './github-app.js';

/** The Secret keys of the GitHub types beyond `token`/`username`/`password`; the App's private key is a credential. */
export const GITHUB_SECRET_KEYS: readonly SecretKey[] = [
  { key: 'githubAppID', sensitive: false },
  { key: 'githubAppInstallationID', sensitive: false },
  { key: 'githubAppInstallationOwner', sensitive: false },
  { key: 'githubAppPrivateKey', sensitive: true },
  { key: 'githubAppBaseURL', sensitive: false },
];

export const GITHUB_API = 'https://api.github.com/';
const USER_AGENT = 'go-github/v64.0.0';
export const V3_MEDIA_TYPE = 'application/vnd.github.v3+json';
export const API_VERSION = '2022-11-28';

export interface GitHubRepository {
  owner: string;
  repo: string;
  /** The REST API base, ending in `/`. */
  apiBase: string;
  /** Whether the API is api.github.com (Flux applies no Provider TLS there). */
  dotcom: boolean;
}

/** go-github's WithEnterpriseURLs: append `/`, then `api/v3/` unless the URL already is an API root (host case kept). */
export function enterpriseApiBase(base: string): string {
  const u = parseGoUrl(base);
  let path = u.path.endsWith('/') ? u.path : `${u.path}/`;
  if (!path.endsWith('/api/v3/') && !u.host.startsWith('api.') && !u.host.includes('.api.')) path += 'api/v3/';
  return `${u.scheme}://${u.host}${goEscapedPath({ path, rawPath: '' })}`;
}

/**
 * github.md §3: owner, repo and API base of a repository address (HTTPS, SSH, scp form). Throws Error with Flux's
 * text (`invalid repository id: '<id>'`, `failed to create enterprise GitHub client: <cause>`).
 */
export function parseGitHubRepository(address: string): GitHubRepository {
  const { host, id } = parseGitAddress(address);
  const parts = id.split('/');
  if (parts.length !== 2) throw new Error(`invalid repository id: '${id}'`);
  const [owner, repo] = parts as [string, string];
  // Flux compares the authority exactly: `GitHub.com` or `github.com:443` are treated as Enterprise hosts.
  const authority = host.slice(host.indexOf('://') + 3);
  if (authority === 'github.com') return { owner, repo, apiBase: GITHUB_API, dotcom: true };
  let apiBase: string;
  try {
    apiBase = enterpriseApiBase(`${host}/`);
  } catch (err) {
    throw new Error(`failed to create enterprise GitHub client: ${(err as Error).message}`);
  }
  return { owner, repo, apiBase, dotcom: false };
}

export type GitHubAuth = { kind: 'token'; token: string } | { kind: 'app'; app: GitHubApp };

export interface GitHubClient {
  repository: GitHubRepository;
  auth: GitHubAuth;
  /** `ns/name` of the Provider, for logs. */
  provider: string;
  /** The transport of the repository API calls: the Provider's proxy, and its TLS except on api.github.com. */
  api: Transport;
  /** The transport of the App token calls (proxy and TLS), only with App auth. */
  appTransport?: Transport;
  tokens?: GitHubAppTokenCache;
}

/**
 * Credentials and repository of a GitHub Provider (github.md §4, §9): a non-empty `token` (else `password`) wins; else
 * the GitHub App keys, validated here. Throws ConfigError naming the Provider, the Secret and the key.
 */
export function parseGitHubClient(settings: ProviderSettings, ctx: ParseContext): GitHubClient {
  const provider = `${settings.provider.metadata.namespace}/${settings.provider.metadata.name}`;
  const where = settings.secretName ? `provider ${provider}: secret ${settings.secretName}` : `provider ${provider}`;
  // Herald trims the token: Flux sends it verbatim, so a trailing newline (kubectl --from-file) fails every request.
  const token = (settings.token !== '' ? settings.token : settings.password).trim();
  let auth: GitHubAuth;
  if (token !== '') {
    auth = { kind: 'token', token };
  } else if (!settings.secretName) {
    throw new ConfigError(`provider ${provider}: github token or github app details must be specified (no spec.secretRef; it needs a Secret with 'token', or the GitHub App keys)`);
  } else if (!Object.prototype.hasOwnProperty.call(settings.secretData, 'githubAppID')) {
    throw new ConfigError(`${where}: github token or github app details must be specified (the Secret has no non-empty 'token' and no 'githubAppID')`);
  } else {
    auth = { kind: 'app', app: parseGitHubApp(settings.secretData, where) };
  }
  if (settings.address === '') throw new ConfigError(`provider ${provider}: no address: set spec.address (or the Secret's 'address') to the repository URL`);
  let repository: GitHubRepository;
  try {
    repository = parseGitHubRepository(settings.address);
  } catch (err) {
    throw new ConfigError(`provider ${provider}: ${(err as Error).message} (the address must be a repository URL such as https://github.com/<owner>/<repo>)`);
  }
  if (!/^https?:\/\//.test(repository.apiBase)) {
    throw new ConfigError(`provider ${provider}: address ${settings.address} gives the API base ${repository.apiBase}, which is not http(s)`);
  }
  const client: GitHubClient = {
    repository,
    auth,
    provider,
    api: resolveTransport(settings, ctx, { proxy: true, tls: !repository.dotcom }),
  };
  if (auth.kind === 'app') {
    client.appTransport = resolveTransport(settings, ctx);
    client.tokens = githubAppTokenCache(ctx);
  }
  return client;
}

export function releaseGitHubClient(client: GitHubClient): void {
  client.api.release();
  client.appTransport?.release();
}

/** A REST call's target and identity. */
export interface GitHubCall {
  method: string;
  url: string;
  token: string;
  body?: string;
  /** Replaces the v3 media type (the comment list uses the squirrel-girl preview). */
  accept?: string;
  transport: Transport;
  signal: AbortSignal;
}

/** go-github's request: Content-Type (with a body), Accept, User-Agent, API version, then the Bearer token. */
export async function githubRequest(call: GitHubCall): Promise<HttpResponse> {
  const headers: Record<string, string> = {};
  if (call.body !== undefined) headers['Content-Type'] = 'application/json';
  headers['Accept'] = call.accept ?? V3_MEDIA_TYPE;
  headers['User-Agent'] = USER_AGENT;
  headers['X-GitHub-Api-Version'] = API_VERSION;
  headers['Authorization'] = `Bearer ${call.token}`;
  return httpRequest(call.url, {
    method: call.method,
    headers,
    ...(call.body !== undefined ? { body: call.body } : {}),
    transport: call.transport,
    signal: call.signal,
  });
}

/** go-github's `%+v` of ErrorResponse.Errors: `[{Resource:Issue Field:title Code:missing_field Message:}]`. */
function formatErrors(errors: unknown): string {
  if (!Array.isArray(errors)) return '[]';
  const field = (o: Record<string, unknown>, k: string) => (typeof o[k] === 'string' ? o[k] : '');
  return `[${errors.map((e) => {
    const o = (e !== null && typeof e === 'object' ? e : {}) as Record<string, unknown>;
    return `{Resource:${field(o, 'resource')} Field:${field(o, 'field')} Code:${field(o, 'code')} Message:${field(o, 'message')}}`;
  }).join(' ')}]`;
}

/** Whether GitHub answered a 403 as a rate limit (primary: no requests left; secondary: Retry-After or its message). */
function isRateLimit(res: HttpResponse, message: string): boolean {
  return res.status === 403 && (res.headers['x-ratelimit-remaining'] === '0' || res.headers['retry-after'] !== undefined || /secondary rate limit/i.test(message));
}

/**
 * A failed answer as go-github words it (`GET <url>: 404 Not Found []`), classified as Flux's client does; a 403 rate
 * limit is retryable (after Retry-After or X-RateLimit-Reset). A body without GitHub's `message` is quoted instead.
 */
export function githubStatusError(prefix: string, method: string, url: string, res: HttpResponse): DeliveryError {
  let message = '';
  let errors: unknown;
  try {
    const parsed = JSON.parse(res.body) as { message?: unknown; errors?: unknown };
    if (parsed !== null && typeof parsed === 'object') {
      if (typeof parsed.message === 'string') message = parsed.message;
      errors = parsed.errors;
    }
  } catch {
    message = bodyExcerpt(res.body.trim());
  }
  const text = `${prefix}${method} ${url}: ${res.status} ${message} ${formatErrors(errors)}`;
  if (isRateLimit(res, message)) {
    const reset = Number(res.headers['x-ratelimit-reset']);
    const retryAfter = res.headers['retry-after'] !== undefined ? Number(res.headers['retry-after']) * 1000
      : Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : undefined;
    return new DeliveryError(text, {
      retryable: true,
      reason: 'rate-limited',
      ...(retryAfter !== undefined && Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter } : {}),
    });
  }
  return statusError(res, text);
}

/** A transport failure or a failed answer with the call's prefix; secrets derived at send time masked out. */
export function githubFailure(prefix: string, err: unknown, sensitive: readonly string[]): DeliveryError {
  const e = err instanceof DeliveryError ? err.prefixed(prefix) : new DeliveryError(`${prefix}${(err as Error).message}`, { retryable: true, cause: err });
  const masked = maskSecrets(e.message, sensitive);
  if (masked === e.message) return e;
  return new DeliveryError(masked, {
    retryable: e.retryable,
    reason: e.reason,
    ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
  });
}

/**
 * One REST call whose answer must be 2xx; returns the response. Failures carry `prefix` and go-github's text; 202 is
 * delivered (go-github's AcceptedError is not reproduced: GitHub does not answer 202 on these endpoints).
 */
export async function githubCall(prefix: string, call: GitHubCall, sensitive: readonly string[]): Promise<HttpResponse> {
  let res: HttpResponse;
  try {
    res = await githubRequest(call);
  } catch (err) {
    throw githubFailure(prefix, err, sensitive);
  }
  if (res.status < 200 || res.status >= 300) throw githubFailure('', githubStatusError(prefix, call.method, call.url, res), sensitive);
  return res;
}

/** The JSON of a 2xx answer; an empty body is `null` (go-github ignores io.EOF). */
export function githubJson(prefix: string, res: HttpResponse): unknown {
  if (res.body.trim() === '') return null;
  try {
    return JSON.parse(res.body) as unknown;
  } catch (err) {
    throw new DeliveryError(`${prefix}${(err as Error).message}`, { retryable: false, reason: 'server' });
  }
}

/** The token for one notification: the Secret's, or the App's installation token (from the shared cache). */
export async function githubToken(client: GitHubClient, signal: AbortSignal, reflectSlug = false): Promise<{ token: string; slug?: string }> {
  if (client.auth.kind === 'token') return { token: client.auth.token };
  return client.tokens!.token(client.auth.app, { transport: client.appTransport!, signal, reflectSlug });
}

/** A JSON string as go-github's encoder writes it: `<`, `>`, `&` kept, U+2028/U+2029 and \b \f as Go escapes them. */
export function githubJsonString(s: string): string {
  return JSON.stringify(s.toWellFormed()).replace(/\\\\|\\b|\\f|[\u2028\u2029]/g, (m) => {
    if (m === '\\b') return '\\u0008';
    if (m === '\\f') return '\\u000c';
    if (m === '\u2028') return '\\u2028';
    if (m === '\u2029') return '\\u2029';
    return m;
  });
}

/** `repos/<owner>/<repo>/` under the API base (owner and repo verbatim, as go-github's fmt.Sprintf). */
export function repoUrl(repository: GitHubRepository, rest: string): string {
  return `${repository.apiBase}repos/${repository.owner}/${repository.repo}/${rest}`;
}

/** Each `/`-separated segment path-escaped, as go-github's PathEscape of a ref. */
export function escapeRef(ref: string): string {
  return ref.split('/').map((s) => goEscape(s, 'path').replace(/;/g, '%3B').replace(/,/g, '%2C')).join('/');
}

/**
 * A GitHub type: the shared Secret keys, the Provider's proxy and TLS (certSecretRef; for `github` also the secretRef's
 * TLS, resolved into the settings), the client parsed once per Provider version and released with it.
 */
export function defineGitHubProvider<C extends GitHubClient>(spec: {
  type: ProviderType;
  category: ProviderCategory;
  /** What the type checks before the client is parsed (throws ConfigError). */
  check?(settings: ProviderSettings): void;
  send(n: Notification, config: C, ctx: SendContext): Promise<void>;
}): ProviderDefinition<C> {
  return defineProvider<C>({
    type: spec.type,
    category: spec.category,
    secretKeys: GITHUB_SECRET_KEYS,
    transport: { proxy: true, tls: true },
    parse(settings, ctx) {
      spec.check?.(settings);
      return parseGitHubClient(settings, ctx) as C;
    },
    send: spec.send,
    close: async (config) => releaseGitHubClient(config),
  });
}
