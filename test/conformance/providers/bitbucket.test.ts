// bitbucket held to the provider conformance suite (spec providers/bitbucket.md §8): get the status by key, then post.
// The API base comes from BITBUCKET_API_BASE_URL, as Flux's SDK reads it, so the suite's server stands in for api.bitbucket.org.
import { afterAll } from 'vitest';
import { canonicalEvent } from '../../helpers/providers.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';
import { STATUS_ID, variantI } from '../../helpers/git-variants.js';

const saved = process.env['BITBUCKET_API_BASE_URL'];
afterAll(() => {
  if (saved === undefined) delete process.env['BITBUCKET_API_BASE_URL'];
  else process.env['BITBUCKET_API_BASE_URL'] = saved;
});

describeProviderConformance({
  type: 'bitbucket',
  target: (url) => {
    process.env['BITBUCKET_API_BASE_URL'] = `${url}/2.0`;
    return { spec: { address: 'https://bitbucket.org/acme/webapp' }, secret: { token: 'flux-bot:app-pass' } };
  },
  vectors: 'bitbucket',
  commitStatusId: STATUS_ID,
  events: { error: canonicalEvent('error'), info: variantI() },
  // First time: no status with this key (404), then the post is answered 201.
  ok: (req) => (req.method === 'GET'
    ? { status: 404, headers: { 'Content-Type': 'application/json' }, body: '{"type":"error","error":{"message":"Commit status not found"}}' }
    : { status: 201, headers: { 'Content-Type': 'application/json' }, body: '{}' }),
  statusAppliesTo: (req) => req.method === 'POST',
});
