// webex held to the provider conformance suite (spec providers/webex.md).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'webex',
  target: (url) => ({ spec: { address: `${url}/v1/messages`, channel: 'Y2lzY29zcGFyazovL3VzL1JPT00vYWJj' }, secret: { token: 'bot-token-123' } }),
  vectors: 'webex',
});
