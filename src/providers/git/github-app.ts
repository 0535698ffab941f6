// GitHub App authentication (github.md §4.2): the App keys of a Secret, the RS256 JWT, the installation token exchange,
// and the instance-wide cache of installation tokens shared by every Provider of the same App and installation.
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { HttpResponse } from '../http/client.js';
import type { Transport } from '../http/pool.js';
import type { SharedResource } from '../runtime.js';
import { ConfigError, DeliveryError, type ParseContext } from '../types.js';
import { API_VERSION, GITHUB_API, githubFailure, githubStatusError, V3_MEDIA_TYPE } from './github-client.js';
import { httpRequest } from '../http/client.js';

const APP_USER_AGENT = 'go-github/v82.0.0';
/** The controller's --token-cache-max-duration default. */
const MAX_TOKEN_AGE_MS = 60 * 60 * 1000;
const CACHE_ENTRIES = 100;

export interface GitHubApp {
  /** Decimal, as parsed (int64 range). */
  appId: string;
  installationId?: string;
  installationOwner?: string;
  privateKey: KeyObject;
  /** The PEM as configured: part of the cache key. */
  privateKeyPem: string;
  /** `githubAppBaseURL` as configured ('' when absent). */
  baseUrlConfigured: string;
  /** The App API base, ending in `/`. */
  baseUrl: string;
}

const INT64 = /^[+-]?[0-9]+$/;

/** Go's strconv.ParseInt(s, 10, 64), with 0 for anything it refuses. */
function parseInt64(s: string): bigint {
  if (!INT64.test(s)) return 0n;
  const n = BigInt(s);
  return n > 2n ** 63n - 1n || n < -(2n ** 63n) ? 0n : n;
}

/**
 * The App keys of a Secret, validated in Flux's order (github.md §4.2) with Flux's texts, each followed by the key to
 * fix. `where` names the Provider and the Secret.
 */
export function parseGitHubApp(data: Record<string, Buffer>, where: string): GitHubApp {
  const str = (k: string) => (Object.prototype.hasOwnProperty.call(data, k) ? data[k]!.toString('utf8') : '');
  const fail = (text: string, hint: string): never => {
    throw new ConfigError(`${where}: ${text} (${hint})`);
  };
  const appId = parseInt64(str('githubAppID').trim());
  if (appId === 0n) fail('app ID must be provided to use github app authentication', `'githubAppID' must be the App's numeric ID`);
  const owner = str('githubAppInstallationOwner').trim();
  const installationRaw = str('githubAppInstallationID').trim();
  const installationId = parseInt64(installationRaw);
  if (owner === '' && installationId === 0n) {
    fail('app installation owner or ID must be provided to use github app authentication',
      installationRaw !== '' ? `'githubAppInstallationID' ${JSON.stringify(installationRaw)} is not a number` : `set 'githubAppInstallationID' or 'githubAppInstallationOwner'`);
  }
  if (owner !== '' && installationId !== 0n) {
    fail('only one of app installation owner or ID must be provided to use github app authentication',
      `remove 'githubAppInstallationID' or 'githubAppInstallationOwner'`);
  }
  const pem = str('githubAppPrivateKey');
  if (pem.trim() === '') fail('private key must be provided to use github app authentication', `'githubAppPrivateKey' is missing or empty`);
  let privateKey: KeyObject | undefined;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    fail(`could not parse private key: ${(err as Error).message}`, `'githubAppPrivateKey' must be the App's RSA private key in PEM`);
  }
  if (privateKey!.asymmetricKeyType !== 'rsa') {
    fail(`could not parse private key: not an RSA key (${privateKey!.asymmetricKeyType ?? 'unknown'})`, `'githubAppPrivateKey' must be the App's RSA private key in PEM`);
  }
  const baseUrlConfigured = str('githubAppBaseURL');
  let baseUrl = GITHUB_API;
  if (baseUrlConfigured.trim() !== '') {
    baseUrl = baseUrlConfigured.trim().endsWith('/') ? baseUrlConfigured.trim() : `${baseUrlConfigured.trim()}/`;
    if (!/^https?:\/\/[^/]/i.test(baseUrl) || !URL.canParse(baseUrl)) {
      fail(`invalid GitHub App API base URL ${JSON.stringify(baseUrlConfigured)}`, `'githubAppBaseURL' must be an http(s) URL such as https://ghe.example.com/api/v3`);
    }
  }
  const app: GitHubApp = { appId: appId.toString(), privateKey: privateKey!, privateKeyPem: pem, baseUrlConfigured, baseUrl };
  if (owner !== '') app.installationOwner = owner;
  else app.installationId = installationId.toString();
  return app;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The App's JWT: RS256, `iss` the App ID, issued 30 s in the past (clock drift), valid 2 minutes from then. */
export function appJwt(app: Pick<GitHubApp, 'appId' | 'privateKey'>, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000) - 30;
  const header = b64url('{"alg":"RS256","typ":"JWT"}');
  const claims = b64url(`{"iss":${JSON.stringify(app.appId)},"exp":${iat + 120},"iat":${iat}}`);
  const signature = sign('sha256', Buffer.from(`${header}.${claims}`), app.privateKey);
  return `${header}.${claims}.${b64url(signature)}`;
}

/** fluxcd/pkg's cache key: the hex SHA-256 of every input of the exchange. */
export function appCacheKey(app: GitHubApp, reflectSlug: boolean): string {
  const text = `githubAppID=${app.appId},githubAppInstallationOwner=${app.installationOwner ?? ''},githubAppInstallationID=${app.installationId ?? '0'},`
    + `githubAppBaseURL=${app.baseUrlConfigured},githubAppPrivateKey=${app.privateKeyPem},reflectSlug=${reflectSlug}`;
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface AppToken {
  token: string;
  slug?: string;
}

interface Entry extends AppToken {
  /** When the entry must be renewed: 80 % of the token's lifetime, at most an hour. */
  renewAt: number;
}

export interface TokenRequest {
  transport: Transport;
  signal: AbortSignal;
  reflectSlug: boolean;
}

/** Installation tokens by App, installation, API base and key: reused until shortly before they expire. */
export class GitHubAppTokenCache implements SharedResource {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<AppToken>>();
  /** Exchanges made (for tests and debugging). */
  exchanges = 0;

  /** `now` decides when a token is renewed (tests move it); the JWT always uses the real clock. */
  constructor(private readonly now: () => number = Date.now) {}

  async token(app: GitHubApp, req: TokenRequest): Promise<AppToken> {
    const key = appCacheKey(app, req.reflectSlug);
    const hit = this.entries.get(key);
    if (hit && this.now() < hit.renewAt) return { token: hit.token, ...(hit.slug !== undefined ? { slug: hit.slug } : {}) };
    if (hit) this.entries.delete(key);
    let p = this.pending.get(key);
    if (!p) {
      p = this.exchange(app, req, key).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async exchange(app: GitHubApp, req: TokenRequest, key: string): Promise<AppToken> {
    this.exchanges++;
    const fetchedAt = this.now();
    const result = await fetchInstallationToken(app, req);
    const expires = Date.parse(result.expiresAt);
    if (Number.isFinite(expires) && expires > fetchedAt) {
      const renewAt = fetchedAt + Math.min(0.8 * (expires - fetchedAt), MAX_TOKEN_AGE_MS);
      if (this.entries.size >= CACHE_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { token: result.token, renewAt, ...(result.slug !== undefined ? { slug: result.slug } : {}) });
    }
    return { token: result.token, ...(result.slug !== undefined ? { slug: result.slug } : {}) };
  }

  close(): void {
    this.entries.clear();
  }
}

/** The instance's installation-token cache. */
export function githubAppTokenCache(ctx: ParseContext): GitHubAppTokenCache {
  return ctx.runtime.shared('github-app-tokens', () => new GitHubAppTokenCache());
}

async function appCall(method: string, url: string, jwt: string, req: TokenRequest, body?: string): Promise<HttpResponse> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  headers['Accept'] = V3_MEDIA_TYPE;
  headers['User-Agent'] = APP_USER_AGENT;
  headers['X-GitHub-Api-Version'] = API_VERSION;
  headers['Authorization'] = `Bearer ${jwt}`;
  let res: HttpResponse;
  try {
    res = await httpRequest(url, { method, headers, ...(body !== undefined ? { body } : {}), transport: req.transport, signal: req.signal });
  } catch (err) {
    throw githubFailure('', err, [jwt]);
  }
  if (res.status < 200 || res.status >= 300) throw githubFailure('', githubStatusError('', method, url, res), [jwt]);
  return res;
}

function jsonField(res: HttpResponse, field: string): unknown {
  try {
    const v = JSON.parse(res.body) as Record<string, unknown> | null;
    return v !== null && typeof v === 'object' ? v[field] : undefined;
  } catch {
    return undefined;
  }
}

/** The exchange of github.md §4.2: App slug when asked, installation by owner when no ID, then the access token. */
async function fetchInstallationToken(app: GitHubApp, req: TokenRequest): Promise<AppToken & { expiresAt: string }> {
  const jwt = appJwt(app);
  const base = app.baseUrl;
  let slug: string | undefined;
  if (req.reflectSlug) {
    try {
      const res = await appCall('GET', `${base}app`, jwt, req);
      const s = jsonField(res, 'slug');
      slug = typeof s === 'string' ? s : '';
    } catch (err) {
      throw (err as DeliveryError).prefixed('failed to get app information: ');
    }
  }
  let installationId = app.installationId;
  if (installationId === undefined) {
    const owner = app.installationOwner!;
    const lookup = async (kind: 'orgs' | 'users') => {
      const res = await appCall('GET', `${base}${kind}/${owner}/installation`, jwt, req);
      const id = jsonField(res, 'id');
      return typeof id === 'number' ? String(id) : '0';
    };
    try {
      installationId = await lookup('orgs');
    } catch (orgErr) {
      try {
        installationId = await lookup('users');
      } catch (userErr) {
        const u = userErr as DeliveryError;
        throw new DeliveryError(`failed to find organization installation: ${(orgErr as Error).message}\nfailed to find user installation: ${u.message}`, {
          retryable: u.retryable,
          reason: u.reason,
          ...(u.retryAfterMs !== undefined ? { retryAfterMs: u.retryAfterMs } : {}),
        });
      }
    }
  }
  const res = await appCall('POST', `${base}app/installations/${installationId}/access_tokens`, jwt, req, 'null\n');
  const token = jsonField(res, 'token');
  const expiresAt = jsonField(res, 'expires_at');
  if (typeof token !== 'string' || token === '') {
    throw new DeliveryError(`POST ${base}app/installations/${installationId}/access_tokens: the answer holds no installation token`, { retryable: false, reason: 'server' });
  }
  return { token, expiresAt: typeof expiresAt === 'string' ? expiresAt : '', ...(slug !== undefined ? { slug } : {}) };
}
