// What `gitlab` and `gitlabmergerequestcomment` share (gitlab.md §3, §4, §8): the API base and project id of an
// address, the PRIVATE-TOKEN header, the SDK's error texts and the token's user.
import { goPathEscape, goUnescape } from '../../go/url.js';
import { goStatusText } from '../../go/status-text.js';
import type { HttpResponse } from '../http/client.js';
import { bodyExcerpt } from '../http/errors.js';
import { resolveTransport } from '../http/provider.js';
import type { Transport } from '../http/pool.js';
import type { ParseContext, ProviderSettings } from '../types.js';
import { parseGitAddress } from './address.js';
import { gitCall, gitIdentity, parseJson, requireHttpHost, requireToken, str, type GitIdentity } from './api.js';

export interface GitLabClient {
  /** `https://gitlab.com/api/v4/` */
  base: string;
  /** The project path or numeric id, escaped as the SDK puts it in paths (`acme%2Fplatform%2Fwebapp`). */
  project: string;
  headers: Record<string, string>;
  transport: Transport;
  id: GitIdentity;
}

/** go-gitlab's PathEscape: a path segment with `.` escaped too. */
export function gitlabProjectId(id: string): string {
  return goPathEscape(id).replaceAll('.', '%2E');
}

/** The client for a Provider's address and Secret; ConfigErrors name the Provider, the Secret and the key. */
export function gitlabClient(settings: ProviderSettings, ctx: ParseContext): GitLabClient {
  const token = requireToken(settings, 'gitlab token cannot be empty', { passwordFallback: true, header: true });
  const { host, id } = parseGitAddress(settings.address);
  requireHttpHost(settings, host, 'GitLab');
  return {
    base: `${host}/api/v4/`,
    project: gitlabProjectId(id),
    headers: { 'PRIVATE-TOKEN': token, Accept: 'application/json' },
    transport: resolveTransport(settings, ctx, { proxy: true, tls: true }),
    id: gitIdentity(settings),
  };
}

/** go-gitlab's flattening of an error document's `message` (string, list or object of lists). */
function flatten(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(flatten).join(', ')}]`;
  if (typeof v === 'object' && v !== null) {
    const parts = Object.keys(v).sort().map((k) => `${k}: ${flatten((v as Record<string, unknown>)[k])}`);
    return `{${parts.join(', ')}}`;
  }
  return String(v);
}

/** The SDK's error for a failed answer: `<METHOD> <url without query>: <code> <message>`; 404 is its "not found". */
export function gitlabFailure(method: string, url: string) {
  return (res: HttpResponse): string => {
    if (res.status === 404) return '404 Not Found';
    const u = new URL(url);
    let path = u.pathname;
    try {
      path = goUnescape(path, 'query');
    } catch {
      // keep the escaped form
    }
    let message: string;
    try {
      const doc = JSON.parse(res.body) as Record<string, unknown>;
      if (doc && typeof doc === 'object' && 'message' in doc) message = flatten(doc['message']);
      else if (doc && typeof doc === 'object' && 'error' in doc) message = flatten(doc['error']);
      else message = `failed to parse unknown error format: ${bodyExcerpt(res.body)}`;
    } catch {
      message = res.body === '' ? goStatusText(res.status) : `failed to parse unknown error format: ${bodyExcerpt(res.body)}`;
    }
    return `${method} ${u.protocol}//${u.host}${path}: ${res.status} ${message}`;
  };
}

/** go-gitlab's success statuses. */
export const gitlabOk = (s: number): boolean => s === 200 || s === 201 || s === 202 || s === 204 || s === 304;

/** One call to the GitLab API with the client's headers (`Content-Type` added when there is a body). */
export async function gitlabCall(
  c: GitLabClient, signal: AbortSignal, method: string, url: string, prefix: string, body?: string,
): Promise<HttpResponse> {
  return gitCall({
    method, url, prefix, signal, transport: c.transport, id: c.id, ok: gitlabOk, failure: gitlabFailure(method, url),
    headers: body === undefined ? c.headers : { ...c.headers, 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body } : {}),
  });
}

/** The token's user name (`GET /api/v4/user`, field `username`). */
export async function gitlabCurrentUser(c: GitLabClient, signal: AbortSignal): Promise<string> {
  const prefix = 'failed to get authenticated user info: ';
  const res = await gitlabCall(c, signal, 'GET', `${c.base}user`, prefix);
  return str(parseJson(res.body, prefix, c.id), 'username');
}
