// bitbucketserver held to the provider conformance suite (spec providers/bitbucketserver.md §8): list, then post.
import type { FluxEvent } from '../../../src/api/event.js';
import { canonicalEvent } from '../../helpers/providers.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

/** Variant I of §8: a successful reconciliation that Flux marks as a commit-status update. */
function variantI(): FluxEvent {
  const e = canonicalEvent('info');
  e.reason = 'ReconciliationSucceeded';
  e.message = 'Reconciliation finished in 4s, next run in 10m0s';
  e.metadata = { ...e.metadata, commit_status: 'update' };
  return e;
}

describeProviderConformance({
  type: 'bitbucketserver',
  target: (url) => ({ spec: { address: `${url}/scm/PLAT/webapp.git` }, secret: { token: 'BBDC-exampletoken' } }),
  vectors: 'bitbucketserver',
  commitStatusId: 'kustomization/webapp/0c9c2e41',
  events: { error: canonicalEvent('error'), info: variantI() },
  // The first look-up finds no status with this key; the post is answered 204 as Bitbucket does.
  ok: (req) => (req.method === 'GET' ? { status: 404, body: '{"errors":[]}' } : { status: 204 }),
});
