// slack held to the provider conformance suite (spec providers/slack.md): a webhook-mode address on the test endpoint.
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'slack',
  target: (url) => ({ spec: { address: `${url}/api/chat.postMessage`, channel: 'flux-alerts' }, secret: { token: 'xoxb-123-456-abc' } }),
  vectors: 'slack',
});
