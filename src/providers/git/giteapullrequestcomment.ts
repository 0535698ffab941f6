// The `giteapullrequestcomment` provider (spec providers/giteapullrequestcomment.md): one comment per Provider and Flux object on the pull request, edited in place.
import type { Notification, ParseContext, ProviderSettings, SendContext } from '../types.js';
import { defineGitProvider, str } from './api.js';
import { requireProviderUid, upsertComment, type HostedComment } from './comment-upsert.js';
import { giteaCall, giteaClient, giteaCurrentUser, giteaProbe, type GiteaClient } from './gitea-client.js';

export interface GiteaCommentConfig extends GiteaClient {
  /** The token's login, looked up on the first notification and kept while the Provider and Secret are unchanged. */
  login?: string;
}

function parse(settings: ProviderSettings, ctx: ParseContext): GiteaCommentConfig {
  requireProviderUid(settings);
  return giteaClient(settings, ctx);
}

/** Comments with a user (`user: null` never matches), compared by `user.login`. */
function commentsOf(doc: unknown): HostedComment[] {
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
  const listPrefix = 'failed to list pull request comments: ';
  await upsertComment(n, {
    kind: 'pr',
    parser: 'Atoi',
    identity: c.login,
    id: c.id,
    listPrefix,
    list: (number) => giteaCall(c, ctx.signal, 'GET', `${c.repo}/issues/${number}/comments?limit=100&page=1`, listPrefix),
    comments: commentsOf,
    update: (id, body) => giteaCall(c, ctx.signal, 'PATCH', `${c.repo}/issues/comments/${id}`, 'failed to update pull request comment: ', { body }),
    create: (number, body) => giteaCall(c, ctx.signal, 'POST', `${c.repo}/issues/${number}/comments`, 'failed to create pull request comment: ', { body }),
  });
}

export const GiteaPullRequestCommentProvider = defineGitProvider<GiteaCommentConfig>({ type: 'giteapullrequestcomment', category: 'change-request', parse, send });
