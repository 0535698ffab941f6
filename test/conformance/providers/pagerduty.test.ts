// pagerduty held to the provider conformance suite (spec providers/pagerduty.md): trigger for errors; resolve, then a change event, for info.
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'pagerduty',
  // Only scheme and host of the address are used: the path given here must not reach the server.
  target: (url) => ({ spec: { address: `${url}/v2/enqueue?ignored=1`, channel: 'R0UT1NGKEY' } }),
  vectors: 'pagerduty',
  ok: () => ({ status: 202, headers: { 'Content-Type': 'application/json' }, body: '{"status":"success","message":"Event processed"}' }),
});
