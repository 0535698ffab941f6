// github held to the provider conformance suite (spec providers/github.md §6): list the commit's statuses, then post.
import { gitVariant } from '../../helpers/git-events.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'github',
  // A GitHub Enterprise style address: the API base is <server>/api/v3/, the path github.com takes with api.github.com.
  target: (url) => ({ spec: { address: `${url}/acme/webapp` }, secret: { token: 'ghp_exampletoken' } }),
  vectors: 'github',
  commitStatusId: 'kustomization/webapp/0c9c2e41',
  // Variants E and I of commit-status.md §2.1 (I: a successful reconciliation marked commit_status: update).
  events: { error: gitVariant('E'), info: gitVariant('I') },
  // The list holds no status with this context (another context's is there); the create is answered 201.
  ok: (req) => (req.method === 'GET'
    ? { status: 200, headers: { 'Content-Type': 'application/json' }, body: '[{"context":"other","state":"failure","description":"health check failed"}]' }
    : { status: 201, headers: { 'Content-Type': 'application/json' }, body: '{"id":1}' }),
});
