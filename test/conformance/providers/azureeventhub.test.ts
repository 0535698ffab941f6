// azureeventhub held to the parts of the provider conformance suite that do not depend on HTTP, against a local AMQP
// 1.0 Event Hubs peer (rhea) reached through a development-emulator SAS connection string in the Secret address.
import { describeBusConformance } from '../../helpers/provider-conformance.js';
import { startEventHubPeer } from '../../helpers/eventhub-peer.js';

const KEY = 'c2FzLWtleS1mb3ItdGhlLWNvbmZvcm1hbmNlLXRlc3Q=';

describeBusConformance({
  type: 'azureeventhub',
  async endpoint() {
    const peer = await startEventHubPeer();
    return {
      setup: { spec: { timeout: '5s' }, secret: { address: peer.connectionString('flux-events', 'flux-sender', KEY) } },
      received: () => peer.events.filter((e) => e.address === 'flux-events').reduce((n, e) => n + e.messages.length, 0),
      close: () => peer.close(),
    };
  },
  unreachable: {
    spec: { timeout: '2s' },
    secret: { address: `Endpoint=sb://localhost:1;SharedAccessKeyName=flux-sender;SharedAccessKey=${KEY};EntityPath=flux-events;UseDevelopmentEmulator=true` },
  },
});
