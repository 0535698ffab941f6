// opsgenie held to the provider conformance suite (spec providers/opsgenie.md, canonical example).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'opsgenie',
  target: (url) => ({ spec: { address: `${url}/v2/alerts` }, secret: { token: 'og-key-123' } }),
  vectors: 'opsgenie',
  ok: () => ({ status: 202, headers: { 'Content-Type': 'application/json' }, body: '{"result":"Request will be processed","requestId":"r1"}' }),
});
