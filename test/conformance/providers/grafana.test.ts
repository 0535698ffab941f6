// grafana held to the provider conformance suite (spec providers/grafana.md, canonical example).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'grafana',
  target: (url) => ({ spec: { address: `${url}/api/annotations` }, secret: { token: 'glsa_abc' } }),
  vectors: 'grafana',
});
