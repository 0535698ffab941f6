// gitlabmergerequestcomment held to the provider conformance suite (spec providers/gitlabmergerequestcomment.md §7):
// the token's user, the MR's notes, then create (E+CR) or edit the note E+CR created (I0+CR).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';
import { commentHost, variantECR, variantI0CR } from '../../helpers/git-variants.js';

const json = { 'Content-Type': 'application/json' };

describeProviderConformance({
  type: 'gitlabmergerequestcomment',
  target: (url) => ({ spec: { address: `${url}/acme/platform/webapp` }, secret: { token: 'glpat-example' } }),
  vectors: 'gitlabmergerequestcomment',
  events: { error: variantECR(), info: variantI0CR() },
  ok: commentHost({
    id: 9001,
    login: 'flux-bot',
    user: (req) => (req.url === '/api/v4/user' ? { status: 200, headers: json, body: '{"id":7,"username":"flux-bot"}' } : undefined),
    comment: (id, login, body) => ({ id, body, author: { id: 7, username: login }, system: false }),
  }),
  statusAppliesTo: (req) => req.method === 'POST' || req.method === 'PUT',
});
