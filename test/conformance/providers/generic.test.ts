// generic and generic-hmac held to the provider conformance suite (spec providers/generic.md, generic-hmac.md).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'generic',
  target: (url) => ({ spec: { address: `${url}/hooks/flux` } }),
  vectors: 'generic',
});

describeProviderConformance({
  type: 'generic-hmac',
  target: (url) => ({ spec: { address: `${url}/hooks/flux` }, secret: { token: 'flux-hmac-secret' } }),
  vectors: 'generic-hmac',
});
