// discord held to the provider conformance suite (spec providers/discord.md): the webhook in the Secret's address.
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'discord',
  target: (url) => ({ spec: { channel: 'ignored-channel' }, secret: { address: `${url}/api/webhooks/123/abc` } }),
  vectors: 'discord',
});
