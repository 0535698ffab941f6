// github held to the provider conformance suite (spec providers/github.md §6): list the commit's statuses, then post.
import type { FluxEvent } from '../../../src/api/event.js';
import { canonicalEvent } from '../../helpers/providers.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

/** Variant I of commit-status.md §2.1: a successful reconciliation that Flux marks as a commit-status update. */
function variantI(): FluxEvent {
  const e = canonicalEvent('info');
  e.reason = 'ReconciliationSucceeded';
  e.message = 'Reconciliation finished in 4s, next run in 10m0s';
  e.metadata = { ...e.metadata, commit_status: 'update' };
  return e;
}

describeProviderConformance({
  type: 'github',
  // A GitHub Enterprise style address: the API base is <server>/api/v3/, the path github.com takes with api.github.com.
  target: (url) => ({ spec: { address: `${url}/acme/webapp` }, secret: { token: 'ghp_exampletoken' } }),
  vectors: 'github',
  commitStatusId: 'kustomization/webapp/0c9c2e41',
  events: { error: canonicalEvent('error'), info: variantI() },
  // The list holds no status with this context (another context's is there); the create is answered 201.
  ok: (req) => (req.method === 'GET'
    ? { status: 200, headers: { 'Content-Type': 'application/json' }, body: '[{"context":"other","state":"failure","description":"health check failed"}]' }
    : { status: 201, headers: { 'Content-Type': 'application/json' }, body: '{"id":1}' }),
});
