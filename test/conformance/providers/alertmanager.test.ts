// alertmanager held to the provider conformance suite (spec providers/alertmanager.md, canonical example).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'alertmanager',
  target: (url) => ({ spec: { address: `${url}/api/v2/alerts` }, secret: { token: 'am-token' } }),
  vectors: 'alertmanager',
});
