// The `githubdispatch` provider (spec providers/githubdispatch.md): every event becomes a repository_dispatch whose
// event_type is `<Kind>/<name>.<namespace>` and whose client_payload is the event.
import { encodeEvent } from '../../api/event.js';
import type { Notification, SendContext } from '../types.js';
import { defineGitHubProvider, githubCall, githubJsonString, githubToken, repoUrl, type GitHubClient } from './github-client.js';
import type { FluxEvent } from '../../api/event.js';

/** The dispatch body: `event_type` unescaped as go-github writes it, the event as Flux marshals it, trailing newline. */
export function dispatchBody(event: FluxEvent): string {
  const o = event.involvedObject;
  return `{"event_type":${githubJsonString(`${o.kind}/${o.name}.${o.namespace}`)},"client_payload":${encodeEvent(event)}}\n`;
}

async function send(n: Notification, client: GitHubClient, ctx: SendContext): Promise<void> {
  const { token } = await githubToken(client, ctx.signal);
  await githubCall('could not send github repository dispatch webhook: ', {
    method: 'POST', url: repoUrl(client.repository, 'dispatches'), body: dispatchBody(n.event), token, transport: client.api, signal: ctx.signal,
  }, [token]);
}

export const GitHubDispatchProvider = defineGitHubProvider<GitHubClient>({ type: 'githubdispatch', category: 'forwarding', send });
