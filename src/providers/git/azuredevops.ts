// The `azuredevops` provider (spec providers/azuredevops.md): Azure DevOps Git commit statuses with genre `fluxcd[:<summary>]`.
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { goJsonString } from '../../api/event.js';
import { goStatusText } from '../../go/status-text.js';
import { goPathEscape } from '../../go/url.js';
import type { HttpResponse } from '../http/client.js';
import { basicAuth } from '../http/headers.js';
import { resolveTransport } from '../http/provider.js';
import type { Transport } from '../http/pool.js';
import { formatNameAndDescription } from '../labels.js';
import { AttemptDeadline, errorText, withDeadline } from '../cloud/sdk.js';
import { AZURE_DEVOPS_SCOPE, controllerAzureCredential, serviceAccountAzureCredential } from '../cloud/identity/azure.js';
import { objectLevelServiceAccount } from '../cloud/identity/service-account.js';
import { DeliveryError, type Notification, type ParseContext, type ProviderSettings, type SendContext } from '../types.js';
import { parseGitAddress, quoteRepositoryId } from './address.js';
import { commitState, configError, decodeFailure, defineGitProvider, eventCommit, gitCall, gitIdentity, jsonErrorText, parseJson, requireHttpHost, requireStatusId, str, type GitIdentity } from './api.js';
import { isProgressing } from './revision.js';

export interface AzureDevOpsConfig {
  /** `https://dev.azure.com/acme` (lower-cased, as the SDK does). */
  orgUrl: string;
  project: string;
  repo: string;
  /** `Basic base64(":" + PAT)`; '' with workload identity, where each send takes a token from `credential`. */
  authorization: string;
  /** Workload identity (no token): the Entra ID credential whose Azure DevOps token is sent as the PAT would be. */
  credential?: () => Promise<TokenCredential>;
  /** X-TFS-Session: one id per Herald instance, as the SDK keeps one per process. */
  session: string;
  transport: Transport;
  id: GitIdentity;
}

function parse(settings: ProviderSettings, ctx: ParseContext): AzureDevOpsConfig {
  const { host, id } = parseGitAddress(settings.address);
  const parts = id.split('/');
  if (parts.length !== 4) {
    throw configError(settings, `invalid repository id ${quoteRepositoryId(id)} (address ${JSON.stringify(settings.address)} must be https://dev.azure.com/<org>/<project>/_git/<repo>)`);
  }
  requireHttpHost(settings, host, 'Azure DevOps');
  const session = ctx.runtime.shared('azuredevops-session', () => ({ id: randomUUID(), close: () => undefined })).id;
  const common = {
    orgUrl: `${host}/${parts[0]}`.replace(/\/+$/, '').toLowerCase(),
    project: parts[1]!,
    repo: parts[3]!,
    session,
    transport: resolveTransport(settings, ctx, { proxy: true, tls: true }),
  };
  if (settings.token === '') {
    // Workload identity (spec §2): the Entra ID credential of spec.serviceAccountName (object-level, behind the feature
    // gate) or the controller's, shared with the cloud buses.
    const sa = objectLevelServiceAccount(settings, ctx.runtime, `provider ${settings.provider.metadata.namespace}/${settings.provider.metadata.name}`);
    const object = sa ? serviceAccountAzureCredential(ctx.runtime, sa) : undefined;
    const credential = (): Promise<TokenCredential> => (object ? Promise.resolve(object) : controllerAzureCredential(ctx.runtime));
    return { ...common, authorization: '', credential, id: gitIdentity(settings) };
  }
  const authorization = `Basic ${basicAuth('', settings.token)}`;
  return { ...common, authorization, id: gitIdentity(settings, [authorization.slice('Basic '.length)]) };
}

/**
 * The Authorization header and masking of one send: the PAT's, or (workload identity) a Basic header carrying the
 * Entra ID access token as the PAT would be (spec §4: Flux hands the token to the SDK's PAT connection). The credential
 * caches the token until shortly before it expires; failures read as Flux's (spec §11).
 */
async function authorizationFor(c: AzureDevOpsConfig, ctx: SendContext): Promise<{ authorization: string; id: GitIdentity }> {
  if (!c.credential) return { authorization: c.authorization, id: c.id };
  const prefix = 'failed to acquire azure devops token: failed to get token: ';
  let token: string;
  try {
    const credential = await withDeadline(c.credential(), ctx.signal);
    const access = await withDeadline(credential.getToken(AZURE_DEVOPS_SCOPE, { abortSignal: ctx.signal }), ctx.signal);
    if (!access?.token) throw new Error('the credential returned no token');
    token = access.token;
  } catch (err) {
    const text = err instanceof AttemptDeadline ? 'context deadline exceeded' : errorText(err);
    throw new DeliveryError(`${prefix}${text}`, { retryable: true, reason: err instanceof AttemptDeadline ? 'timeout' : 'auth' });
  }
  const basic = basicAuth('', token);
  return { authorization: `Basic ${basic}`, id: { ...c.id, mask: [...c.id.mask, token, basic] } };
}

/** `succeeded` / `error` (not `failed`), commit-status.md §10. */
export function azureDevOpsState(severity: string): string {
  return commitState(severity, { info: 'succeeded', error: 'error' }, 'azure devops');
}

/** `fluxcd:<summary>` when the metadata has a `summary` key (even empty), else `fluxcd`. */
export function azureDevOpsGenre(metadata: Record<string, string>): string {
  return Object.prototype.hasOwnProperty.call(metadata, 'summary') ? `fluxcd:${metadata['summary']}` : 'fluxcd';
}

/** GitStatus with context, description and state; empty fields omitted. */
export function azureDevOpsStatusBody(s: { genre: string; name: string; description: string; state: string }): string {
  const context = [s.genre !== '' ? `"genre":${goJsonString(s.genre)}` : '', s.name !== '' ? `"name":${goJsonString(s.name)}` : ''].filter(Boolean).join(',');
  const fields = [`"context":{${context}}`];
  if (s.description !== '') fields.push(`"description":${goJsonString(s.description)}`);
  if (s.state !== '') fields.push(`"state":${goJsonString(s.state)}`);
  return `{${fields.join(',')}}`;
}

const present = (o: unknown, k: string): boolean => typeof o === 'object' && o !== null && (o as Record<string, unknown>)[k] != null;

/** azuredevops.md §9: the first complete status with the same context name and genre decides. */
export function azureDevOpsDuplicate(statuses: unknown[], s: { genre: string; name: string; description: string; state: string }): boolean {
  for (const x of statuses) {
    const ctx = present(x, 'context') ? (x as Record<string, unknown>)['context'] : undefined;
    if (!ctx || !present(ctx, 'name') || !present(ctx, 'genre') || !present(x, 'state') || !present(x, 'description')) continue;
    if (str(ctx, 'name') === s.name && str(ctx, 'genre') === s.genre) return str(x, 'state') === s.state && str(x, 'description') === s.description;
  }
  return false;
}

/** The SDK's text for a failed answer (azuredevops.md §10), with the status when the text alone does not say it. */
export function azureDevOpsFailure(res: HttpResponse): string {
  if (res.body === '') return `Request returned status: ${res.status} ${goStatusText(res.status)}`.trimEnd();
  if ((res.headers['content-type'] ?? '').includes('text/plain')) return res.body;
  let doc: unknown;
  try {
    doc = JSON.parse(res.body);
  } catch {
    return `${jsonErrorText(res.body)} (status ${res.status})`;
  }
  const message = str(doc, 'message') || str((doc as Record<string, unknown> | null)?.['value'], 'message');
  return message !== '' ? message : `REST call returned status code ${res.status}`;
}

async function send(n: Notification, c: AzureDevOpsConfig, ctx: SendContext): Promise<void> {
  const name = requireStatusId(n);
  if (isProgressing(n.event)) return;
  const sha = eventCommit(n);
  const state = azureDevOpsState(n.event.severity);
  const genre = azureDevOpsGenre(n.event.metadata);
  const { description } = formatNameAndDescription(n.event);
  const auth = await authorizationFor(c, ctx);
  const url = `${c.orgUrl}/${goPathEscape(c.project)}/_apis/git/repositories/${goPathEscape(c.repo)}/commits/${goPathEscape(sha)}/statuses`;
  const headers = {
    Authorization: auth.authorization,
    Accept: 'application/json;api-version=6.0',
    'X-TFS-FedAuthRedirect': 'Suppress',
    'X-TFS-Session': c.session,
  };
  const base = { url, transport: c.transport, signal: ctx.signal, id: auth.id, failure: azureDevOpsFailure };

  const listPrefix = 'could not list commit statuses: ';
  const list = await gitCall({ ...base, method: 'GET', headers, prefix: listPrefix });
  const doc = list.body === '' ? {} : parseJson(list.body, listPrefix, auth.id);
  const value = (doc as Record<string, unknown> | null)?.['value'] ?? [];
  if (!Array.isArray(value)) throw decodeFailure(`${listPrefix}json: cannot unmarshal ${typeof value} into Go struct field .value of type []git.GitStatus`, auth.id);
  const status = { genre, name, description, state };
  if (azureDevOpsDuplicate(value, status)) {
    ctx.log.debug({ commit: sha, name, genre }, 'azure devops commit status unchanged, not posted');
    return;
  }
  await gitCall({
    ...base, method: 'POST', prefix: 'could not create commit status: ',
    headers: { ...headers, 'Content-Type': 'application/json;charset=utf-8' },
    body: azureDevOpsStatusBody(status),
  });
}

export const AzureDevOpsProvider = defineGitProvider<AzureDevOpsConfig>({ type: 'azuredevops', category: 'commit-status', parse, send });
