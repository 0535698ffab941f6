// The `gitlabmergerequestcomment` provider (spec providers/gitlabmergerequestcomment.md): one note per Provider and Flux object on the merge request, edited in place.
import { goJsonString } from '../../api/event.js';
import { defineProvider, DeliveryError, type Notification, type ParseContext, type ProviderSettings, type SendContext } from '../types.js';
import { configError, decodeFailure, parseJson, str } from './api.js';
import { changeRequestNumber, commentBody, commentKey, commentMarker, findOwnComment } from './comment.js';
import { gitlabCall, gitlabClient, gitlabCurrentUser, type GitLabClient } from './gitlab-client.js';

export interface GitLabCommentConfig extends GitLabClient {
  /** The token's user, looked up on the first notification and kept while the Provider and Secret are unchanged. */
  username?: string;
}

function parse(settings: ProviderSettings, ctx: ParseContext): GitLabCommentConfig {
  if (!settings.provider.metadata.uid) throw configError(settings, 'provider UID cannot be empty');
  return gitlabClient(settings, ctx);
}

/** A note as the provider compares it: id, author's user name, body. */
function notesOf(doc: unknown): { id: number; author: string; body: string }[] {
  if (!Array.isArray(doc)) throw new Error('json: cannot unmarshal object into Go value of type []*gitlab.Note');
  return doc.map((x) => {
    const note = x as Record<string, unknown>;
    return { id: typeof note['id'] === 'number' ? note['id'] : Number.NaN, author: str(note['author'], 'username'), body: str(note, 'body') };
  });
}

async function send(n: Notification, c: GitLabCommentConfig, ctx: SendContext): Promise<void> {
  c.username ??= await gitlabCurrentUser(c, ctx.signal);
  const body = commentBody(n, 'mr');
  let iid: number;
  try {
    iid = changeRequestNumber(n.event, 'ParseInt');
  } catch (err) {
    throw new DeliveryError((err as Error).message, { retryable: false });
  }
  const notesUrl = `${c.base}projects/${c.project}/merge_requests/${iid}/notes`;
  const listPrefix = 'failed to list merge request notes: ';
  const list = await gitlabCall(c, ctx.signal, 'GET', `${notesUrl}?order_by=created_at&per_page=100&sort=asc`, listPrefix);
  let notes;
  try {
    notes = notesOf(list.body === '' ? [] : parseJson(list.body, listPrefix, c.id));
  } catch (err) {
    if (err instanceof DeliveryError) throw err;
    throw decodeFailure(`${listPrefix}${(err as Error).message}`, c.id);
  }
  const json = `{"body":${goJsonString(body)}}`;
  const own = findOwnComment(notes, c.username, commentMarker(commentKey(n), 'mr'));
  if (own && Number.isFinite(own.id)) {
    await gitlabCall(c, ctx.signal, 'PUT', `${notesUrl}/${own.id}`, 'failed to update merge request note: ', json);
  } else {
    await gitlabCall(c, ctx.signal, 'POST', notesUrl, 'failed to create merge request note: ', json);
  }
}

export const GitLabMergeRequestCommentProvider = defineProvider<GitLabCommentConfig>({
  type: 'gitlabmergerequestcomment',
  category: 'change-request',
  secretKeys: [],
  transport: { proxy: true, tls: true },
  parse,
  send,
  close: async (c) => c.transport.release(),
});
