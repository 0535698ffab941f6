// googlepubsub held to the parts of the provider conformance suite that do not depend on HTTP, against a Pub/Sub gRPC
// server (the Publisher service of the client library's own protos) reached through PUBSUB_EMULATOR_HOST.
import { describeBusConformance } from '../../helpers/provider-conformance.js';
import { startPubSubServer } from '../../helpers/pubsub-server.js';

/** Nothing listens on port 1: the SDK fails with UNAVAILABLE and retries until the attempt deadline. */
const UNREACHABLE = '127.0.0.1:1';
process.env['PUBSUB_EMULATOR_HOST'] = UNREACHABLE;

describeBusConformance({
  type: 'googlepubsub',
  async endpoint() {
    const server = await startPubSubServer();
    process.env['PUBSUB_EMULATOR_HOST'] = server.host;
    return {
      setup: { spec: { address: 'my-gcp-project', channel: 'flux-events', timeout: '3s' }, secret: { headers: 'env: prod\n' } },
      received: () => server.calls.filter((c) => c.topic === 'projects/my-gcp-project/topics/flux-events').reduce((n, c) => n + c.messages.length, 0),
      async close() {
        process.env['PUBSUB_EMULATOR_HOST'] = UNREACHABLE;
        await server.close();
      },
    };
  },
  unreachable: { spec: { address: 'my-gcp-project', channel: 'flux-events', timeout: '2s' }, secret: { headers: 'env: prod\n' } },
});
