// githubpullrequestcomment held to the provider conformance suite (spec providers/githubpullrequestcomment.md §7):
// who am I, list the PR's comments, then create or edit Flux's one.
import type { RecordedRequest, ScriptedResponse } from '../../helpers/recording-server.js';
import { gitVariant } from '../../helpers/git-events.js';
import { CANONICAL } from '../../helpers/providers.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

const marker = `<!-- flux-pr-comment-key:${CANONICAL.provider.uid}/Kustomization/apps/webapp -->`;
const json = (body: unknown): ScriptedResponse => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

// The first list (the canonical error request, which runs first) finds no comment of Flux's, so it is created; every
// later list finds comment 1234567890 by flux-bot with the marker, so the canonical info request edits it.
let lists = 0;
function ok(req: RecordedRequest): ScriptedResponse {
  if (req.method === 'GET' && req.url === '/api/v3/user') return json({ login: 'flux-bot', id: 7 });
  if (req.method === 'GET') {
    const first = lists++ === 0;
    return json([
      { id: 11, body: `${marker}\n\nwritten by someone else`, user: { login: 'octocat' } },
      { id: 12, body: 'LGTM', user: { login: 'flux-bot' } },
      ...(first ? [] : [{ id: 1234567890, body: `${marker}\n\n## Flux Status`, user: { login: 'flux-bot' } }]),
    ]);
  }
  return { status: req.method === 'POST' ? 201 : 200, headers: { 'Content-Type': 'application/json' }, body: '{"id":1234567890}' };
}

describeProviderConformance({
  type: 'githubpullrequestcomment',
  target: (url) => ({ spec: { address: `${url}/acme/webapp` }, secret: { token: 'ghp_exampletoken' } }),
  vectors: 'githubpullrequestcomment',
  // Variants E+CR and I0+CR of commit-status.md §2.1, on pull request 42.
  events: { error: gitVariant('E', '42'), info: gitVariant('I0', '42') },
  ok,
});
