// The `gitlabmergerequestcomment` provider (spec providers/gitlabmergerequestcomment.md): one note per Provider and Flux object on the merge request, edited in place.
import type { Notification, ParseContext, ProviderSettings, SendContext } from '../types.js';
import { defineGitProvider, str } from './api.js';
import { requireProviderUid, upsertComment, type HostedComment } from './comment-upsert.js';
import { gitlabCall, gitlabClient, gitlabCurrentUser, type GitLabClient } from './gitlab-client.js';

export interface GitLabCommentConfig extends GitLabClient {
  /** The token's user, looked up on the first notification and kept while the Provider and Secret are unchanged. */
  username?: string;
}

function parse(settings: ProviderSettings, ctx: ParseContext): GitLabCommentConfig {
  requireProviderUid(settings);
  return gitlabClient(settings, ctx);
}

/** Notes with a numeric id, compared by `author.username`. */
function notesOf(doc: unknown): HostedComment[] {
  if (!Array.isArray(doc)) throw new Error('json: cannot unmarshal object into Go value of type []*gitlab.Note');
  return doc.flatMap((x) => {
    const note = x as Record<string, unknown>;
    return typeof note['id'] === 'number' ? [{ id: note['id'], author: str(note['author'], 'username'), body: str(note, 'body') }] : [];
  });
}

async function send(n: Notification, c: GitLabCommentConfig, ctx: SendContext): Promise<void> {
  c.username ??= await gitlabCurrentUser(c, ctx.signal);
  const notes = (iid: number) => `${c.base}projects/${c.project}/merge_requests/${iid}/notes`;
  const listPrefix = 'failed to list merge request notes: ';
  let iid = 0;
  await upsertComment(n, {
    kind: 'mr',
    parser: 'ParseInt',
    identity: c.username,
    id: c.id,
    listPrefix,
    list: (number) => {
      iid = number;
      return gitlabCall(c, ctx.signal, 'GET', `${notes(number)}?order_by=created_at&per_page=100&sort=asc`, listPrefix);
    },
    comments: notesOf,
    update: (id, json) => gitlabCall(c, ctx.signal, 'PUT', `${notes(iid)}/${id}`, 'failed to update merge request note: ', json),
    create: (number, json) => gitlabCall(c, ctx.signal, 'POST', notes(number), 'failed to create merge request note: ', json),
  });
}

export const GitLabMergeRequestCommentProvider = defineGitProvider<GitLabCommentConfig>({ type: 'gitlabmergerequestcomment', category: 'change-request', parse, send });
