// githubdispatch held to the provider conformance suite (spec providers/githubdispatch.md §6): one repository_dispatch.
import { gitVariant } from '../../helpers/git-events.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'githubdispatch',
  target: (url) => ({ spec: { address: `${url}/acme/webapp` }, secret: { token: 'ghp_exampletoken' } }),
  vectors: 'githubdispatch',
  // Variants E and I0 of commit-status.md §2.1 (I0: a plain successful reconciliation, no commit-status marker).
  events: { error: gitVariant('E'), info: gitVariant('I0') },
  ok: () => ({ status: 204 }),
});
