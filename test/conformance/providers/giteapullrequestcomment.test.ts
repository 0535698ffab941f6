// giteapullrequestcomment held to the provider conformance suite (spec providers/giteapullrequestcomment.md §7):
// version probe, the token's user, the PR's comments, then create (E+CR) or edit the comment E+CR created (I0+CR).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';
import { commentHost, variantECR, variantI0CR } from '../../helpers/git-variants.js';

const json = { 'Content-Type': 'application/json' };

describeProviderConformance({
  type: 'giteapullrequestcomment',
  target: (url) => ({ spec: { address: `${url}/acme/webapp` }, secret: { token: 'gitea-example' } }),
  vectors: 'giteapullrequestcomment',
  events: { error: variantECR(), info: variantI0CR() },
  ok: commentHost({
    id: 311,
    login: 'flux-bot',
    user: (req) => {
      if (req.url === '/api/v1/version') return { status: 200, headers: json, body: '{"version":"1.21.4"}' };
      if (req.url === '/api/v1/user') return { status: 200, headers: json, body: '{"id":3,"login":"flux-bot","username":"flux-bot"}' };
      return undefined;
    },
    comment: (id, login, body) => ({ id, body, user: { id: 3, login } }),
  }),
  statusAppliesTo: (req) => req.method === 'POST' || req.method === 'PATCH',
});
