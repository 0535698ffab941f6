// The `gitea` provider (spec providers/gitea.md): Gitea / Forgejo commit statuses; Progressing is posted as `pending`.
import { goJsonString } from '../../api/event.js';
import { goPathEscape, goQueryEscape } from '../../go/url.js';
import { formatNameAndDescription } from '../labels.js';
import type { Notification, ParseContext, ProviderSettings, SendContext } from '../types.js';
import { commitState, decodeFailure, defineGitProvider, eventCommit, parseJson, requireStatusId, str } from './api.js';
import { giteaCall, giteaClient, giteaProbe, type GiteaClient } from './gitea-client.js';
import { isProgressing } from './revision.js';

export type GiteaConfig = GiteaClient;

/** `pending` for Progressing (before the severity), else `success` / `failure` (commit-status.md §10). */
export function giteaState(event: Notification['event']): string {
  if (isProgressing(event)) return 'pending';
  return commitState(event.severity, { info: 'success', error: 'failure' }, 'gitea');
}

/** The SDK's CreateStatusOption: all four fields, `target_url` always empty. */
export function giteaStatusBody(s: { state: string; description: string; context: string }): string {
  return `{"state":${goJsonString(s.state)},"target_url":"","description":${goJsonString(s.description)},"context":${goJsonString(s.context)}}`;
}

/** gitea.md §8: the first complete status with this context decides; its state is in `status`. */
export function giteaDuplicate(statuses: unknown[], context: string, state: string, description: string): boolean {
  for (const s of statuses) {
    const ctxName = str(s, 'context');
    const status = str(s, 'status');
    const desc = str(s, 'description');
    if (ctxName === '' || status === '' || desc === '') continue;
    if (ctxName === context) return status === state && desc === description;
  }
  return false;
}

function parse(settings: ProviderSettings, ctx: ParseContext): GiteaConfig {
  return giteaClient(settings, ctx);
}

async function send(n: Notification, c: GiteaConfig, ctx: SendContext): Promise<void> {
  const context = requireStatusId(n);
  await giteaProbe(c, ctx.signal);
  const sha = eventCommit(n);
  const state = giteaState(n.event);
  const { description } = formatNameAndDescription(n.event);

  const listPrefix = 'could not list commit statuses: ';
  const list = await giteaCall(c, ctx.signal, 'GET', `${c.repo}/commits/${goPathEscape(sha)}/statuses?limit=50&page=1`, listPrefix, { contentType: true });
  const statuses = list.body === '' ? [] : parseJson(list.body, listPrefix, c.id);
  if (!Array.isArray(statuses)) throw decodeFailure(`${listPrefix}json: cannot unmarshal object into Go value of type []*gitea.Status`, c.id);
  if (giteaDuplicate(statuses, context, state, description)) {
    ctx.log.debug({ commit: sha, context }, 'gitea commit status unchanged, not posted');
    return;
  }
  await giteaCall(c, ctx.signal, 'POST', `${c.repo}/statuses/${goQueryEscape(sha)}`, '', { body: giteaStatusBody({ state, description, context }) });
}

export const GiteaProvider = defineGitProvider<GiteaConfig>({ type: 'gitea', category: 'commit-status', parse, send });
