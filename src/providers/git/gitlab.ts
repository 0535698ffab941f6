// The `gitlab` provider (spec providers/gitlab.md): GitLab commit statuses, listed by name first so an unchanged one is not posted again.
import { goJsonString } from '../../api/event.js';
import { goPathEscape, goQueryEscape } from '../../go/url.js';
import { formatNameAndDescription } from '../labels.js';
import type { Notification, ParseContext, ProviderSettings, SendContext } from '../types.js';
import { commitState, decodeFailure, defineGitProvider, eventCommit, parseJson, requireStatusId, str } from './api.js';
import { gitlabCall, gitlabClient, type GitLabClient } from './gitlab-client.js';
import { isProgressing } from './revision.js';

export type GitLabConfig = GitLabClient;

/** `success` / `failed` (commit-status.md §10). */
export function gitlabState(severity: string): string {
  return commitState(severity, { info: 'success', error: 'failed' }, 'gitlab');
}

/** The POST body: go-gitlab's SetCommitStatusOptions with only state, name and description set. */
export function gitlabStatusBody(s: { state: string; name: string; description: string }): string {
  return `{"state":${goJsonString(s.state)},"name":${goJsonString(s.name)},"description":${goJsonString(s.description)}}`;
}

function parse(settings: ProviderSettings, ctx: ParseContext): GitLabConfig {
  return gitlabClient(settings, ctx);
}

async function send(n: Notification, c: GitLabConfig, ctx: SendContext): Promise<void> {
  const name = requireStatusId(n);
  if (isProgressing(n.event)) return;
  const sha = eventCommit(n);
  const state = gitlabState(n.event.severity);
  const { description } = formatNameAndDescription(n.event);
  const shaPath = goPathEscape(sha);

  const listPrefix = 'unable to list commit status: ';
  const list = await gitlabCall(c, ctx.signal, 'GET',
    `${c.base}projects/${c.project}/repository/commits/${shaPath}/statuses?name=${goQueryEscape(name)}`, listPrefix);
  const statuses = list.status === 204 || list.status === 304 || list.body === '' ? [] : parseJson(list.body, listPrefix, c.id);
  if (!Array.isArray(statuses)) throw decodeFailure(`${listPrefix}json: cannot unmarshal object into Go value of type []*gitlab.CommitStatus`, c.id);
  // GitLab returns the latest status per name and ref; any of them unchanged means there is nothing to say.
  if (statuses.some((s) => str(s, 'sha') === sha && str(s, 'status') === state && str(s, 'description') === description && str(s, 'name') === name)) {
    ctx.log.debug({ commit: sha, name }, 'gitlab commit status unchanged, not posted');
    return;
  }
  await gitlabCall(c, ctx.signal, 'POST', `${c.base}projects/${c.project}/statuses/${shaPath}`, '', gitlabStatusBody({ state, name, description }));
}

export const GitLabProvider = defineGitProvider<GitLabConfig>({ type: 'gitlab', category: 'commit-status', parse, send });
