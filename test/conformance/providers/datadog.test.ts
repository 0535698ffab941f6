// datadog held to the provider conformance suite (spec providers/datadog.md, canonical example).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'datadog',
  // Only scheme and host of the address are used: the events path is Datadog's.
  target: (url) => ({ spec: { address: `${url}/ignored/path?x=1` }, secret: { token: 'dd-api-key' } }),
  vectors: 'datadog',
  ok: () => ({ status: 202, headers: { 'Content-Type': 'application/json' }, body: '{"status":"ok","event":{"id":1}}' }),
});
