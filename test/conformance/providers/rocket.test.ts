// rocket held to the provider conformance suite (spec providers/rocket.md).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'rocket',
  target: (url) => ({ spec: { channel: '#flux' }, secret: { address: `${url}/hooks/abc/def` } }),
  vectors: 'rocket',
});
