// gitea held to the provider conformance suite (spec providers/gitea.md §7): version probe, list, then post.
import { canonicalEvent } from '../../helpers/providers.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';
import { STATUS_ID, variantI } from '../../helpers/git-variants.js';

const json = { 'Content-Type': 'application/json' };

describeProviderConformance({
  type: 'gitea',
  target: (url) => ({ spec: { address: `${url}/acme/webapp` }, secret: { token: 'gitea-example' } }),
  vectors: 'gitea',
  commitStatusId: STATUS_ID,
  events: { error: canonicalEvent('error'), info: variantI() },
  ok: (req) => {
    if (req.url === '/api/v1/version') return { status: 200, headers: json, body: '{"version":"1.21.4"}' };
    return req.method === 'GET' ? { status: 200, headers: json, body: '[]' } : { status: 201, headers: json, body: '{}' };
  },
  // The status under test answers the write; the probe and the list are healthy.
  statusAppliesTo: (req) => req.method === 'POST',
});
