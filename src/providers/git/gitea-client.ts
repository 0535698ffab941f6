// What `gitea` and `giteapullrequestcomment` share (gitea.md §3-§5, §9): the /api/v1 root and repository of an address,
// `Authorization: token`, the SDK's version probe and error texts, and the token's user.
import { goPathEscape, parseGoUrl } from '../../go/url.js';
import type { HttpResponse } from '../http/client.js';
import { bodyExcerpt } from '../http/errors.js';
import { resolveTransport } from '../http/provider.js';
import type { Transport } from '../http/pool.js';
import type { ParseContext, ProviderSettings } from '../types.js';
import { parseGitAddress, quoteRepositoryId } from './address.js';
import { configError, decodeFailure, gitCall, gitIdentity, parseJson, requireHttpHost, requireToken, str, type GitIdentity } from './api.js';

export interface GiteaClient {
  /** `https://gitea.example.com/api/v1` */
  root: string;
  /** `<root>/repos/<owner>/<repo>`, segments escaped. */
  repo: string;
  owner: string;
  name: string;
  authorization: string;
  transport: Transport;
  id: GitIdentity;
  /** Set once the version probe succeeded for this config. */
  probed?: boolean;
}

/** The client for a Provider's address and Secret (gitea.md §10 order); ConfigErrors name the Provider, Secret and key. */
export function giteaClient(settings: ProviderSettings, ctx: ParseContext): GiteaClient {
  const token = requireToken(settings, 'gitea token cannot be empty', { passwordFallback: true, header: true });
  const { host, id } = parseGitAddress(settings.address);
  try {
    parseGoUrl(host);
  } catch (err) {
    throw configError(settings, `failed parsing host: ${(err as Error).message}`);
  }
  const parts = id.split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw configError(settings, `invalid repository id ${quoteRepositoryId(id)} (address ${JSON.stringify(settings.address)} must name <owner>/<repo>)`);
  }
  requireHttpHost(settings, host, 'Gitea');
  const [owner, name] = parts as [string, string];
  const root = `${host.replace(/\/+$/, '')}/api/v1`;
  return {
    root,
    repo: `${root}/repos/${goPathEscape(owner)}/${goPathEscape(name)}`,
    owner,
    name,
    authorization: `token ${token}`,
    transport: resolveTransport(settings, ctx, { proxy: true, tls: true }),
    id: gitIdentity(settings),
  };
}

const SDK_TEXT: Record<number, string> = { 403: '403 Forbidden', 404: '404 Not Found', 409: '409 Conflict' };

/** The SDK's text for a failed answer (gitea.md §9), without the request headers its unknown-error text carries. */
export function giteaFailure(res: HttpResponse): string {
  const fixed = SDK_TEXT[res.status];
  if (fixed) return fixed;
  if (res.status === 422) return `422 Unprocessable Entity: ${bodyExcerpt(res.body)}`;
  try {
    const message = str(JSON.parse(res.body), 'message');
    if (message !== '') return message;
  } catch {
    // not JSON
  }
  return `Unknown API Error: ${res.status} ${bodyExcerpt(res.body)}`.trimEnd();
}

/** One call with `Authorization: token` (and `Content-Type: application/json` when asked). */
export function giteaCall(
  c: GiteaClient, signal: AbortSignal, method: string, url: string, prefix: string, opts: { body?: string; contentType?: boolean } = {},
): Promise<HttpResponse> {
  const headers: Record<string, string> = { Authorization: c.authorization };
  if (opts.contentType ?? opts.body !== undefined) headers['Content-Type'] = 'application/json';
  return gitCall({
    method, url, prefix, signal, headers, transport: c.transport, id: c.id, failure: giteaFailure,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
}

function versionAtLeast(version: string, min: [number, number, number]): boolean {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) return false;
  const v = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i]! > min[i]!;
  return true;
}

/** The SDK's construction probe (`GET /version`, at least 1.11.0), once per config. */
export async function giteaProbe(c: GiteaClient, signal: AbortSignal): Promise<void> {
  if (c.probed) return;
  const prefix = 'failed creating Gitea client: ';
  const res = await giteaCall(c, signal, 'GET', `${c.root}/version`, prefix, { contentType: true });
  const version = str(parseJson(res.body, prefix, c.id), 'version');
  if (!versionAtLeast(version, [1, 11, 0])) {
    throw decodeFailure(`${prefix}the server at ${c.root} reports version ${JSON.stringify(version)}; Gitea 1.11.0 or later is required`, c.id);
  }
  c.probed = true;
}

/** The token's login (`GET /user`, field `login`). */
export async function giteaCurrentUser(c: GiteaClient, signal: AbortSignal): Promise<string> {
  const prefix = 'failed to get authenticated user info: ';
  const res = await giteaCall(c, signal, 'GET', `${c.root}/user`, prefix, { contentType: true });
  return str(parseJson(res.body, prefix, c.id), 'login');
}
