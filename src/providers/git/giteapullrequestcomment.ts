// The `giteapullrequestcomment` provider (spec providers/giteapullrequestcomment.md): one comment per Provider and Flux object on the pull request, edited in place.
import { goJsonString } from '../../api/event.js';
import { defineProvider, DeliveryError, type Notification, type ParseContext, type ProviderSettings, type SendContext } from '../types.js';
import { configError, decodeFailure, parseJson, str } from './api.js';
import { changeRequestNumber, commentBody, commentKey, commentMarker, findOwnComment } from './comment.js';
import { giteaCall, giteaClient, giteaCurrentUser, giteaProbe, type GiteaClient } from './gitea-client.js';

export interface GiteaCommentConfig extends GiteaClient {
  /** The token's login, looked up on the first notification and kept while the Provider and Secret are unchanged. */
  login?: string;
}

function parse(settings: ProviderSettings, ctx: ParseContext): GiteaCommentConfig {
  if (!settings.provider.metadata.uid) throw configError(settings, 'provider UID cannot be empty');
  return giteaClient(settings, ctx);
}

/** Comments with a user (`user: null` never matches), as the provider compares them. */
function commentsOf(doc: unknown): { id: number; author: string; body: string }[] {
  if (!Array.isArray(doc)) throw new Error('json: cannot unmarshal object into Go value of type []*gitea.Comment');
  return doc.flatMap((x) => {
    const comment = x as Record<string, unknown>;
    const user = comment['user'];
    if (typeof user !== 'object' || user === null || typeof comment['id'] !== 'number') return [];
    return [{ id: comment['id'], author: str(user, 'login'), body: str(comment, 'body') }];
  });
}

async function send(n: Notification, c: GiteaCommentConfig, ctx: SendContext): Promise<void> {
  await giteaProbe(c, ctx.signal);
  c.login ??= await giteaCurrentUser(c, ctx.signal);
  const body = commentBody(n, 'pr');
  let number: number;
  try {
    number = changeRequestNumber(n.event, 'Atoi');
  } catch (err) {
    throw new DeliveryError((err as Error).message, { retryable: false });
  }
  const listPrefix = 'failed to list pull request comments: ';
  const list = await giteaCall(c, ctx.signal, 'GET', `${c.repo}/issues/${number}/comments?limit=100&page=1`, listPrefix);
  let comments;
  try {
    comments = commentsOf(list.body === '' ? [] : parseJson(list.body, listPrefix, c.id));
  } catch (err) {
    if (err instanceof DeliveryError) throw err;
    throw decodeFailure(`${listPrefix}${(err as Error).message}`, c.id);
  }
  const json = `{"body":${goJsonString(body)}}`;
  const own = findOwnComment(comments, c.login, commentMarker(commentKey(n), 'pr'));
  if (own) {
    await giteaCall(c, ctx.signal, 'PATCH', `${c.repo}/issues/comments/${own.id}`, 'failed to update pull request comment: ', { body: json });
  } else {
    await giteaCall(c, ctx.signal, 'POST', `${c.repo}/issues/${number}/comments`, 'failed to create pull request comment: ', { body: json });
  }
}

export const GiteaPullRequestCommentProvider = defineProvider<GiteaCommentConfig>({
  type: 'giteapullrequestcomment',
  category: 'change-request',
  secretKeys: [],
  transport: { proxy: true, tls: true },
  parse,
  send,
  close: async (c) => c.transport.release(),
});
