// The `github` provider (spec providers/github.md): a commit status on the event's commit, unless the latest status
// with the same context already says the same.
import { formatNameAndDescription } from '../labels.js';
import { DeliveryError, type Notification, type SendContext } from '../types.js';
import {
  defineGitHubProvider, escapeRef, githubCall, githubJson, githubJsonString, githubToken, repoUrl, type GitHubClient,
} from './github-client.js';
import { eventRevision, isProgressing, parseRevision } from './revision.js';

export interface GitHubStatus {
  state: string;
  description: string;
  context: string;
}

/** The create body: field order state, (target_url), description, context; `<>&` not escaped; trailing newline. */
export function githubStatusBody(s: GitHubStatus): string {
  return `{"state":${githubJsonString(s.state)},"description":${githubJsonString(s.description)},"context":${githubJsonString(s.context)}}\n`;
}

/**
 * github.md §7: the first listed status (newest first) with the same context, skipping entries without context, state
 * or description, decides; the new status is a duplicate when its state and description are the same.
 */
export function isDuplicateStatus(listed: unknown, s: GitHubStatus): boolean {
  if (!Array.isArray(listed)) return false;
  for (const e of listed) {
    if (e === null || typeof e !== 'object') continue;
    const { context, state, description } = e as Record<string, unknown>;
    if (typeof context !== 'string' || typeof state !== 'string' || typeof description !== 'string') continue;
    if (context === s.context) return state === s.state && description === s.description;
  }
  return false;
}

async function send(n: Notification, client: GitHubClient, ctx: SendContext): Promise<void> {
  const event = n.event;
  if (!n.commitStatusId) throw new DeliveryError('commit status cannot be empty', { retryable: false });
  if (isProgressing(event)) return;
  const rev = eventRevision(event);
  if (rev === undefined) throw new DeliveryError('missing revision metadata', { retryable: false });
  let sha: string;
  try {
    sha = parseRevision(rev);
  } catch (err) {
    throw new DeliveryError((err as Error).message, { retryable: false });
  }
  let state: string;
  if (event.severity === 'info') state = 'success';
  else if (event.severity === 'error') state = 'failure';
  else throw new DeliveryError("can't convert to github state", { retryable: false });
  const status: GitHubStatus = { state, description: formatNameAndDescription(event).description, context: n.commitStatusId };

  const { token } = await githubToken(client, ctx.signal);
  const sensitive = [token];
  const base = { token, transport: client.api, signal: ctx.signal };
  const listPrefix = 'could not list commit statuses: ';
  const listed = await githubCall(listPrefix, { ...base, method: 'GET', url: repoUrl(client.repository, `commits/${escapeRef(sha)}/statuses?per_page=50`) }, sensitive);
  const statuses = githubJson(listPrefix, listed);
  if (statuses !== null && !Array.isArray(statuses)) {
    throw new DeliveryError(`${listPrefix}json: cannot unmarshal ${typeof statuses} into Go value of type []*github.RepoStatus`, { retryable: false, reason: 'server' });
  }
  if (isDuplicateStatus(statuses, status)) {
    ctx.log.debug({ provider: client.provider, commit: sha, context: status.context }, 'commit status unchanged, not posted');
    return;
  }
  await githubCall('could not create commit status: ', {
    ...base, method: 'POST', url: repoUrl(client.repository, `statuses/${escapeRef(sha)}`), body: githubStatusBody(status),
  }, sensitive);
}

export const GitHubProvider = defineGitHubProvider<GitHubClient>({ type: 'github', category: 'commit-status', send });
