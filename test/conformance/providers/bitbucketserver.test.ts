// bitbucketserver held to the provider conformance suite (spec providers/bitbucketserver.md §8): list, then post.
import { gitVariant } from '../../helpers/git-events.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'bitbucketserver',
  target: (url) => ({ spec: { address: `${url}/scm/PLAT/webapp.git` }, secret: { token: 'BBDC-exampletoken' } }),
  vectors: 'bitbucketserver',
  commitStatusId: 'kustomization/webapp/0c9c2e41',
  // Variants E and I of §8 (I: a successful reconciliation that Flux marks as a commit-status update).
  events: { error: gitVariant('E'), info: gitVariant('I') },
  // The first look-up finds no status with this key; the post is answered 204 as Bitbucket does.
  ok: (req) => (req.method === 'GET' ? { status: 404, body: '{"errors":[]}' } : { status: 204 }),
});
