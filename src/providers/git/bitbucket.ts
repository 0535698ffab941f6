// The `bitbucket` provider (spec providers/bitbucket.md): Bitbucket Cloud build statuses, keyed by the SHA-1 of the commit status id.
import { goJsonString } from '../../api/event.js';
import { goStatusText } from '../../go/status-text.js';
import { parseGoUrl } from '../../go/url.js';
import { formatNameAndDescription } from '../labels.js';
import { basicAuth } from '../http/headers.js';
import { resolveTransport } from '../http/provider.js';
import type { Transport } from '../http/pool.js';
import type { Notification, ParseContext, ProviderSettings, SendContext } from '../types.js';
import { parseGitAddress, quoteRepositoryId } from './address.js';
import { commitState, configError, decodeFailure, defineGitProvider, eventCommit, gitCall, gitIdentity, parseJson, requireStatusId, str, whereToken, type GitIdentity } from './api.js';
import { isProgressing } from './revision.js';
import { sha1String } from './status-key.js';

/** go-bitbucket's default API base; the controller's `BITBUCKET_API_BASE_URL` replaces it. */
export const BITBUCKET_API = 'https://api.bitbucket.org/2.0';

/** The constant `url` of every status Flux posts. */
export const BITBUCKET_STATUS_URL = 'https://bitbucket.org';

export interface BitbucketConfig {
  /** `<api>/repositories/<workspace>/<slug>/commit/` */
  commitBase: string;
  authorization: string;
  transport: Transport;
  id: GitIdentity;
}

/** The API base: `BITBUCKET_API_BASE_URL` reduced to scheme, host and path, as the SDK reads it. */
function apiBase(settings: ProviderSettings): string {
  const env = process.env['BITBUCKET_API_BASE_URL'];
  if (env === undefined || env === '') return BITBUCKET_API;
  try {
    const u = parseGoUrl(env);
    if (u.scheme !== 'http' && u.scheme !== 'https') throw new Error(`unsupported scheme ${JSON.stringify(u.scheme)}`);
    return `${u.scheme}://${u.host}${u.path}`.replace(/\/+$/, '');
  } catch (err) {
    throw configError(settings, `failed to create bitbucket client: BITBUCKET_API_BASE_URL: ${(err as Error).message}`);
  }
}

function parse(settings: ProviderSettings, ctx: ParseContext): BitbucketConfig {
  if (settings.token === '') throw configError(settings, `bitbucket token cannot be empty: ${whereToken(settings)} (<username>:<app-password>)`);
  const parts = settings.token.split(':');
  if (parts.length !== 2) {
    throw configError(settings, `invalid token format, expected to be <user>:<password>: secret ${settings.secretName ?? ''} key 'token' must hold exactly one ':' between the user name and the app password or API token`);
  }
  const { id } = parseGitAddress(settings.address);
  const repo = id.split('/');
  if (repo.length !== 2) throw configError(settings, `invalid repository id ${quoteRepositoryId(id)} (address ${JSON.stringify(settings.address)} must name <workspace>/<repo>)`);
  const authorization = `Basic ${basicAuth(parts[0]!, parts[1]!)}`;
  return {
    commitBase: `${apiBase(settings)}/repositories/${repo[0]}/${repo[1]}/commit/`,
    authorization,
    transport: resolveTransport(settings, ctx, { proxy: true, tls: true }),
    id: gitIdentity(settings, [authorization.slice('Basic '.length)]),
  };
}

/** `SUCCESSFUL` / `FAILED` (commit-status.md §10). */
export function bitbucketState(severity: string): string {
  return commitState(severity, { info: 'SUCCESSFUL', error: 'FAILED' }, 'bitbucket');
}

/** Field order key, url, state, name, description; all present. */
export function bitbucketStatusBody(s: { key: string; state: string; name: string; description: string }): string {
  return `{"key":${goJsonString(s.key)},"url":${goJsonString(BITBUCKET_STATUS_URL)},"state":${goJsonString(s.state)},"name":${goJsonString(s.name)},"description":${goJsonString(s.description)}}`;
}

const statusLine = (status: number): string => `${status} ${goStatusText(status)}`.trimEnd();

async function send(n: Notification, c: BitbucketConfig, ctx: SendContext): Promise<void> {
  const statusId = requireStatusId(n);
  if (isProgressing(n.event)) return;
  const sha = eventCommit(n);
  const state = bitbucketState(n.event.severity);
  const { name, description } = formatNameAndDescription(n.event);
  const key = sha1String(statusId);
  const base = { transport: c.transport, signal: ctx.signal, id: c.id };
  const headers = { Authorization: c.authorization };

  const getPrefix = 'could not get commit status: ';
  // 404 (and 204) mean there is no status with this key yet; the SDK turns every other status into its status line.
  const existing = await gitCall({
    ...base, method: 'GET', url: `${c.commitBase}${sha}/statuses/build/${key}`, headers, prefix: getPrefix,
    ok: (s) => (s >= 200 && s <= 202) || s === 204 || statusLine(s).includes('Not Found'),
    failure: (res) => statusLine(res.status),
  });
  if (existing.status >= 200 && existing.status <= 202) {
    const current = parseJson(existing.body, getPrefix, c.id);
    if (typeof current !== 'object' || Array.isArray(current)) {
      throw decodeFailure(`${getPrefix}json: cannot unmarshal ${Array.isArray(current) ? 'array' : typeof current} into Go value of type map[string]interface {}`, c.id);
    }
    if (str(current, 'state') === state && str(current, 'description') === description) {
      ctx.log.debug({ commit: sha, key }, 'bitbucket build status unchanged, not posted');
      return;
    }
  }
  await gitCall({
    ...base, method: 'POST', url: `${c.commitBase}${sha}/statuses/build`, prefix: '',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: bitbucketStatusBody({ key, state, name, description }),
    ok: (s) => (s >= 200 && s <= 202) || s === 204,
    failure: (res) => statusLine(res.status),
  });
}

export const BitbucketProvider = defineGitProvider<BitbucketConfig>({ type: 'bitbucket', category: 'commit-status', parse, send });
