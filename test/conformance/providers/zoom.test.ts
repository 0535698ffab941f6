// zoom held to the provider conformance suite (spec providers/zoom.md).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'zoom',
  target: (url) => ({ spec: {}, secret: { address: `${url}/chat/webhooks/incomingwebhook/abc`, token: 'zoom-verif-token' } }),
  vectors: 'zoom',
});
