// The `githubpullrequestcomment` provider (spec providers/githubpullrequestcomment.md): one comment per (Provider,
// object) on the pull request of the event's change_request, edited in place by later events.
import { ConfigError, DeliveryError, type Notification, type ProviderSettings, type SendContext } from '../types.js';
import { changeRequestNumber, commentBody, commentKey, commentMarker, findOwnComment } from './comment.js';
import {
  defineGitHubProvider, githubCall, githubJson, githubJsonString, githubToken, repoUrl, type GitHubClient,
} from './github-client.js';

export interface GitHubCommentConfig extends GitHubClient {
  /** The token user's login, learnt by the first notification (GET /user) and kept for this Provider version. */
  login?: Promise<string>;
}

const SQUIRREL_GIRL = 'application/vnd.github.squirrel-girl-preview';

export function commentRequestBody(body: string): string {
  return `{"body":${githubJsonString(body)}}\n`;
}

/** The listed comments as comment.ts compares them; entries that are not comments are skipped. */
function listedComments(listed: unknown): { id: number | string; author: string; body: string }[] {
  if (!Array.isArray(listed)) return [];
  const out: { id: number | string; author: string; body: string }[] = [];
  for (const c of listed) {
    if (c === null || typeof c !== 'object') continue;
    const o = c as { id?: unknown; body?: unknown; user?: { login?: unknown } | null };
    const login = o.user && typeof o.user.login === 'string' ? o.user.login : '';
    const id = typeof o.id === 'number' || typeof o.id === 'string' ? o.id : 0;
    out.push({ id, author: login, body: typeof o.body === 'string' ? o.body : '' });
  }
  return out;
}

/** Flux checks the Provider UID (part of the comment key) before the client. */
function check(settings: ProviderSettings): void {
  const m = settings.provider.metadata;
  if (!m.uid) throw new ConfigError(`provider ${m.namespace}/${m.name}: provider UID cannot be empty (it is part of the comment key)`);
}

/** Whose comments are Flux's: the App's bot (`<slug>[bot]`) or the token's user. */
async function identity(config: GitHubCommentConfig, token: string, slug: string | undefined, signal: AbortSignal): Promise<string> {
  if (slug) return `${slug}[bot]`;
  if (!config.login) {
    const prefix = 'failed to get authenticated user info: ';
    const p = githubCall(prefix, { method: 'GET', url: `${config.repository.apiBase}user`, token, transport: config.api, signal }, [token]).then((res) => {
      const user = githubJson(prefix, res) as { login?: unknown } | null;
      return user !== null && typeof user === 'object' && typeof user.login === 'string' ? user.login : '';
    });
    config.login = p;
    p.catch(() => {
      if (config.login === p) delete config.login;
    });
  }
  return config.login;
}

async function send(n: Notification, config: GitHubCommentConfig, ctx: SendContext): Promise<void> {
  const body = commentBody(n);
  let number: number;
  try {
    number = changeRequestNumber(n.event);
  } catch (err) {
    throw new DeliveryError((err as Error).message, { retryable: false });
  }
  const { token, slug } = await githubToken(config, ctx.signal, true);
  const sensitive = [token];
  const author = await identity(config, token, slug, ctx.signal);
  const base = { token, transport: config.api, signal: ctx.signal };
  const listPrefix = 'failed to list pull request comments: ';
  const listed = await githubCall(listPrefix, {
    ...base, method: 'GET', accept: SQUIRREL_GIRL, url: repoUrl(config.repository, `issues/${number}/comments?direction=asc&per_page=100&sort=created`),
  }, sensitive);
  const own = findOwnComment(listedComments(githubJson(listPrefix, listed)), author, commentMarker(commentKey(n)));
  if (own) {
    await githubCall('failed to update pull request comment: ', {
      ...base, method: 'PATCH', url: repoUrl(config.repository, `issues/comments/${own.id}`), body: commentRequestBody(body),
    }, sensitive);
    return;
  }
  await githubCall('failed to create pull request comment: ', {
    ...base, method: 'POST', url: repoUrl(config.repository, `issues/${number}/comments`), body: commentRequestBody(body),
  }, sensitive);
}

export const GitHubPullRequestCommentProvider = defineGitHubProvider<GitHubCommentConfig>({
  type: 'githubpullrequestcomment', category: 'change-request', check, send,
});
