// azuredevops held to the provider conformance suite (spec providers/azuredevops.md §8): list the commit's statuses, then post.
import { canonicalEvent } from '../../helpers/providers.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';
import { STATUS_ID, variantI } from '../../helpers/git-variants.js';

describeProviderConformance({
  type: 'azuredevops',
  target: (url) => ({ spec: { address: `${url}/acme/platform/_git/webapp` }, secret: { token: 'azdo-pat' } }),
  vectors: 'azuredevops',
  commitStatusId: STATUS_ID,
  events: { error: canonicalEvent('error'), info: variantI() },
  ok: (req) => (req.method === 'GET'
    ? { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: '{"count":0,"value":[]}' }
    : { status: 201, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: '{}' }),
});
