// gitlab held to the provider conformance suite (spec providers/gitlab.md §6): list by name, then post.
import { canonicalEvent } from '../../helpers/providers.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';
import { STATUS_ID, variantI } from '../../helpers/git-variants.js';

describeProviderConformance({
  type: 'gitlab',
  target: (url) => ({ spec: { address: `${url}/acme/platform/webapp` }, secret: { token: 'glpat-example' } }),
  vectors: 'gitlab',
  commitStatusId: STATUS_ID,
  events: { error: canonicalEvent('error'), info: variantI() },
  // No status with this name yet; the post is answered 201 as GitLab does.
  ok: (req) => ({ status: req.method === 'GET' ? 200 : 201, headers: { 'Content-Type': 'application/json' }, body: req.method === 'GET' ? '[]' : '{}' }),
});
