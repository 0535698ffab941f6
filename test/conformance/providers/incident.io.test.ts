// incident.io held to the provider conformance suite (spec providers/incident.io.md, canonical example).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'incident.io',
  target: (url) => ({ spec: { address: `${url}/v2/alert_events/http/01HXYZ` }, secret: { token: 'inc-token' } }),
  vectors: 'incident.io',
  ok: () => ({ status: 202, headers: { 'Content-Type': 'application/json' }, body: '{"status":"success"}' }),
});
