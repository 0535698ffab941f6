// githubdispatch held to the provider conformance suite (spec providers/githubdispatch.md §6): one repository_dispatch.
import type { FluxEvent } from '../../../src/api/event.js';
import { canonicalEvent } from '../../helpers/providers.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

/** Variant I0 of commit-status.md §2.1: a plain successful reconciliation (no commit-status marker). */
function variantI0(): FluxEvent {
  const e = canonicalEvent('info');
  e.reason = 'ReconciliationSucceeded';
  e.message = 'Reconciliation finished in 4s, next run in 10m0s';
  return e;
}

describeProviderConformance({
  type: 'githubdispatch',
  target: (url) => ({ spec: { address: `${url}/acme/webapp` }, secret: { token: 'ghp_exampletoken' } }),
  vectors: 'githubdispatch',
  events: { error: canonicalEvent('error'), info: variantI0() },
  ok: () => ({ status: 204 }),
});
