// The `bitbucketserver` provider (spec providers/bitbucketserver.md): Bitbucket Server / Data Center build statuses on the event's commit.
import { goJsonString, type FluxEvent } from '../../api/event.js';
import { eventRevision, isProgressing, parseRevision } from './revision.js';
import { goStatusText } from '../../go/status-text.js';
import { formatNameAndDescription } from '../labels.js';
import { sha1String } from './status-key.js';
import { goEscapedPath, goJoinEscapedPath, goQuote, parseGoUrl } from '../../go/url.js';
import { httpRequest, type HttpResponse } from '../http/client.js';
import { statusError } from '../http/errors.js';
import { resolveTransport } from '../http/provider.js';
import type { Transport } from '../http/pool.js';
import { ConfigError, defineProvider, DeliveryError, type Notification, type ParseContext, type ProviderSettings, type SendContext } from '../types.js';

/** Where the REST API of one repository lives, derived from its clone URL. */
export interface BitbucketServerApi {
  /** `https://host:port` (user-info dropped: the Authorization header is always set). */
  origin: string;
  /** Decoded `<context>/rest/api/latest/projects/<key>/repos/<slug>/commits`. */
  commitsPath: string;
  /** The clone URL's query, kept on the POST as Flux does. */
  rawQuery: string;
  forceQuery: boolean;
  projectKey: string;
  repoSlug: string;
}

export interface BitbucketServerConfig {
  api: BitbucketServerApi;
  /** The address as configured: the build status `url`. */
  address: string;
  /** `Bearer <token>` or `Basic <base64>`. */
  authorization: string;
  provider: string;
  secret?: string;
  /** Proxy and TLS (certSecretRef, or the secretRef's ca.crt) resolved once, at parse time. */
  transport: Transport;
}

/** Atlassian's limits for a build status (BSERV-12804; `url` and `key` from the REST docs). */
export const FIELD_LIMITS = { key: 255, name: 255, description: 255, url: 450 } as const;

const SCM = '/scm/';

/**
 * Flux's parseBitbucketServerGitAddress: an http(s) clone URL with `/scm/<project>/<repo>(.git)`, any
 * context path before the last `/scm/`. Throws Error with Flux's text.
 */
export function parseBitbucketServerAddress(address: string): BitbucketServerApi {
  let u;
  try {
    u = parseGoUrl(address);
  } catch (err) {
    throw new Error(`could not parse git address: ${(err as Error).message}`);
  }
  if (u.scheme !== 'http' && u.scheme !== 'https') {
    throw new Error(`could not parse git address: unsupported scheme type in address: ${u.scheme}. Must be http or https`);
  }
  const idWithContext = u.path.endsWith('.git') ? u.path.slice(0, -4) : u.path;
  const last = idWithContext.lastIndexOf(SCM);
  if (last < 0) throw new Error('could not parse git address: supplied provider address is not http(s) git clone url');
  const context = idWithContext.slice(0, last);
  const id = idWithContext.slice(last + SCM.length);
  const parts = id.split('/');
  if (parts.length !== 2) throw new Error(`could not parse git address: invalid repository id ${goQuote(id)}`);
  const [projectKey, repoSlug] = parts as [string, string];
  return {
    origin: `${u.scheme}://${u.host}`,
    commitsPath: `${context}/rest/api/latest/projects/${projectKey}/repos/${repoSlug}/commits`,
    rawQuery: u.rawQuery,
    forceQuery: u.forceQuery,
    projectKey,
    repoSlug,
  };
}

/** The builds endpoint of one commit as Go's `URL.JoinPath(sha + "/builds")` puts it on the wire (no query). */
export function buildsUrl(api: BitbucketServerApi, commit: string): string {
  return `${api.origin}${goJoinEscapedPath({ path: api.commitsPath, rawPath: '' }, `${commit}/builds`)}`;
}

/** The commits endpoint, escaped as Go would send it (for documentation and tests). */
export function commitsUrl(api: BitbucketServerApi): string {
  return `${api.origin}${goEscapedPath({ path: api.commitsPath, rawPath: '' })}`;
}

function parse(settings: ProviderSettings, ctx: ParseContext): BitbucketServerConfig {
  const provider = `${settings.provider.metadata.namespace}/${settings.provider.metadata.name}`;
  let api: BitbucketServerApi;
  try {
    api = parseBitbucketServerAddress(settings.address);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (settings.token === '' && (settings.username === '' || settings.password === '')) {
    throw new ConfigError(`invalid credentials, expected to be one of username/password or API Token: ${missingCredentials(settings)}`);
  }
  if (settings.address.length > FIELD_LIMITS.url) {
    // Bitbucket answers every build status with this url with 400; say so once, here, instead of on every event.
    throw new ConfigError(
      `address is ${settings.address.length} characters long; Bitbucket Server accepts at most ${FIELD_LIMITS.url} for the build status url`,
    );
  }
  const authorization = settings.token !== ''
    ? `Bearer ${settings.token}`
    : `Basic ${Buffer.from(`${settings.username}:${settings.password}`, 'utf8').toString('base64')}`;
  const config: BitbucketServerConfig = { api, address: settings.address, authorization, provider, transport: resolveTransport(settings, ctx) };
  if (settings.secretName) config.secret = settings.secretName;
  return config;
}

/** Which key is missing, naming the Provider and its Secret: Flux's message alone does not say where to look. */
function missingCredentials(settings: ProviderSettings): string {
  const provider = `provider ${settings.provider.metadata.namespace}/${settings.provider.metadata.name}`;
  if (!settings.secretName) {
    return `${provider} has no spec.secretRef; it needs a Secret with 'token', or 'username' and 'password'`;
  }
  const data = settings.secretData;
  const has = (k: string) => Object.prototype.hasOwnProperty.call(data, k);
  const secret = `secret ${settings.secretName}`;
  if (has('username') && has('password')) {
    const empty = [settings.username === '' ? "'username'" : '', settings.password === '' ? "'password'" : ''].filter(Boolean).join(' and ');
    return `${provider}: ${secret} has an empty ${empty}${has('token') ? " and an empty 'token'" : ''}`;
  }
  if (has('token')) return `${provider}: ${secret} has an empty 'token' and no 'username' and 'password'`;
  if (settings.username !== '') {
    return `${provider}: ${secret} has no 'token' and no 'password' (spec.username needs the password in the Secret, next to 'username')`;
  }
  return `${provider}: ${secret} has neither 'token' nor 'username' and 'password'`;
}

/** Name and description within Atlassian's limits, keeping the state description readable. */
export function buildStatusText(event: Pick<FluxEvent, 'involvedObject' | 'reason'>): { name: string; description: string } {
  const f = formatNameAndDescription(event);
  const description = truncateText(f.description, FIELD_LIMITS.description);
  const full = `${f.name} [${description}]`;
  if (full.length <= FIELD_LIMITS.name) return { name: full, description };
  const suffix = ` [${description}]`;
  // Shorten the object part first so the state stays visible; only a huge description is cut as a whole.
  if (suffix.length <= FIELD_LIMITS.name - 32) return { name: truncateText(f.name, FIELD_LIMITS.name - suffix.length) + suffix, description };
  return { name: truncateText(full, FIELD_LIMITS.name), description };
}

/** The POST body with the Go struct's field order, omitempty rules, HTML escaping and trailing newline. */
export function buildStatusBody(s: { description: string; key: string; name: string; state: string; url: string }): string {
  const fields: string[] = [];
  if (s.description !== '') fields.push(`"description":${goJsonString(s.description)}`);
  fields.push(`"key":${goJsonString(s.key)}`);
  if (s.name !== '') fields.push(`"name":${goJsonString(s.name)}`);
  fields.push(`"state":${goJsonString(s.state)}`, `"url":${goJsonString(s.url)}`);
  return `{${fields.join(',')}}\n`;
}

const STATUS_FIELDS: Record<string, 'string' | 'int64'> = {
  name: 'string', key: 'string', parent: 'string', state: 'string', ref: 'string', buildNumber: 'string',
  description: 'string', duration: 'int64', updatedDate: 'int64', createdDate: 'int64', url: 'string',
};

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

/**
 * Go's json.Unmarshal into Flux's bbServerBuildStatus: case-insensitive field names,
 * type errors reported with Go's wording. Returns the four compared fields.
 */
export function decodeExistingStatus(body: string): { key: string; state: string; description: string; name: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (err) {
    if (body.trim() === '' || /end of JSON input/i.test((err as Error).message)) throw new Error('unexpected end of JSON input');
    const first = body.trimStart()[0] ?? '';
    if (!/[[{"\-0-9tfn]/.test(first)) throw new Error(`invalid character ${goCharQuote(first)} looking for beginning of value`);
    throw new Error(`invalid character in JSON: ${(err as Error).message}`);
  }
  const out = { key: '', state: '', description: '', name: '' };
  if (raw === null) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type notifier.bbServerBuildStatus`);
  }
  const obj = raw as Record<string, unknown>;
  let typeError: string | undefined;
  for (const [k, v] of Object.entries(obj)) {
    const field = k in STATUS_FIELDS ? k : Object.keys(STATUS_FIELDS).find((f) => f.toLowerCase() === k.toLowerCase());
    // Go assigns every matching member in document order, so a later `Key` overrides an earlier `key`.
    if (!field || v === null) continue;
    const want = STATUS_FIELDS[field]!;
    if (want === 'string') {
      if (typeof v !== 'string') {
        typeError ??= `json: cannot unmarshal ${jsonKind(v)} into Go struct field bbServerBuildStatus.${field} of type string`;
        continue;
      }
      if (field in out) out[field as keyof typeof out] = v;
    } else if (typeof v !== 'number' || !Number.isInteger(v)) {
      typeError ??= typeof v === 'number'
        ? `json: cannot unmarshal number ${v} into Go struct field bbServerBuildStatus.${field} of type int64`
        : `json: cannot unmarshal ${jsonKind(v)} into Go struct field bbServerBuildStatus.${field} of type int64`;
    }
  }
  if (typeError) throw new Error(typeError);
  return out;
}

function goCharQuote(c: string): string {
  return c === "'" ? "'\\''" : `'${c}'`;
}

/** Flux's wording for a status >= 400, plus what a Bitbucket administrator should look at. */
function statusFailure(prefix: string, res: HttpResponse, config: BitbucketServerConfig, commit: string): DeliveryError {
  let text = `${prefix}${res.status} - ${goStatusText(res.status)}`;
  const creds = config.secret ? `secret ${config.secret}` : 'its Secret';
  if (res.status === 401) text += ` (provider ${config.provider}: Bitbucket rejected the credentials from ${creds})`;
  else if (res.status === 403) text += ` (provider ${config.provider}: the credentials from ${creds} lack REPO_READ on ${config.api.projectKey}/${config.api.repoSlug})`;
  else if (res.status === 404) text += ` (provider ${config.provider}: repository ${config.api.projectKey}/${config.api.repoSlug} or commit ${commit} not found)`;
  return statusError(res, text);
}

function wrapTransport(prefix: string, err: unknown): DeliveryError {
  if (!(err instanceof DeliveryError)) return new DeliveryError(`${prefix}${(err as Error).message}`, { retryable: true, cause: err });
  return err.prefixed(prefix);
}

const GET_PREFIX = 'could not get existing commit status: ';
const POST_PREFIX = 'could not post build status: could not post build commit status: ';

async function send(n: Notification, config: BitbucketServerConfig, ctx: SendContext): Promise<void> {
  const event = n.event;
  if (isProgressing(event)) return;
  const rev = eventRevision(event);
  if (rev === undefined) throw new DeliveryError('missing revision metadata', { retryable: false });
  let commit: string;
  try {
    commit = parseRevision(rev);
  } catch (err) {
    throw new DeliveryError(`could not parse revision: ${(err as Error).message}`, { retryable: false });
  }
  let state: string;
  if (event.severity === 'info') state = 'SUCCESSFUL';
  else if (event.severity === 'error') state = 'FAILED';
  else throw new DeliveryError("couldn't convert to bitbucket server state: bitbucket server state generated on info or error events only", { retryable: false });
  if (!n.commitStatusId) throw new DeliveryError('commit status cannot be empty', { retryable: false });

  const { name, description } = buildStatusText(event);
  const key = sha1String(n.commitStatusId);
  const url = buildsUrl(config.api, commit);
  const headers = {
    Authorization: config.authorization,
    'X-Atlassian-Token': 'no-check',
    'X-Requested-With': 'XMLHttpRequest',
  };
  const base = { signal: ctx.signal, transport: config.transport };

  let existing: HttpResponse;
  try {
    existing = await httpRequest(`${url}?key=${encodeURIComponent(key)}`, { ...base, method: 'GET', headers });
  } catch (err) {
    throw wrapTransport(`${GET_PREFIX}failed api call to check duplicate commit status: `, err);
  }
  if (existing.status >= 400 && existing.status !== 404) {
    throw statusFailure(`${GET_PREFIX}failed api call to check duplicate commit status: `, existing, config, commit);
  }
  if (existing.status === 200) {
    let current;
    try {
      current = decodeExistingStatus(existing.body);
    } catch (err) {
      throw new DeliveryError(`${GET_PREFIX}could not unmarshal json response body for duplicate commit status: ${(err as Error).message}`, {
        retryable: false,
      });
    }
    if (current.key === key && current.state === state && current.description === description && current.name === name) {
      ctx.log.debug({ provider: config.provider, commit, key }, 'build status unchanged, not posted');
      return;
    }
  }

  const body = buildStatusBody({ description, key, name, state, url: config.address });
  const query = config.api.rawQuery !== '' || config.api.forceQuery ? `?${config.api.rawQuery}` : '';
  let posted: HttpResponse;
  try {
    posted = await httpRequest(url + query, { ...base, method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body });
  } catch (err) {
    throw wrapTransport(POST_PREFIX, err);
  }
  if (posted.status >= 400) throw statusFailure(POST_PREFIX, posted, config, commit);
}

export const BitbucketServerProvider = defineProvider<BitbucketServerConfig>({
  type: 'bitbucketserver',
  category: 'commit-status',
  secretKeys: [],
  transport: { proxy: true, tls: true },
  parse,
  send,
  close: async (config) => config.transport.release(),
});

/**
 * Cuts `s` to at most `max` UTF-16 code units (the unit Java, and so Bitbucket, counts), ending with `…`
 * when something was cut, never splitting a surrogate pair.
 */
export function truncateText(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = max - 1;
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return `${s.slice(0, Math.max(0, cut))}…`;
}
