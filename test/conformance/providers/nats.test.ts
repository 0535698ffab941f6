// nats held to the parts of the provider conformance suite that do not depend on HTTP, against a real nats-server.
import { connect } from '@nats-io/transport-node';
import { describeBusConformance } from '../../helpers/provider-conformance.js';
import { startNatsServer } from '../../helpers/nats-server.js';

describeBusConformance({
  type: 'nats',
  async endpoint() {
    const server = await startNatsServer({ config: 'authorization { user: flux, password: n4ts-p4ssw0rd }' });
    const nc = await connect({ servers: server.url, user: 'flux', pass: 'n4ts-p4ssw0rd' });
    let received = 0;
    const sub = nc.subscribe('flux.events', { callback: () => { received++; } });
    await nc.flush();
    return {
      setup: { spec: { address: server.url, channel: 'flux.events' }, secret: { username: 'flux', password: 'n4ts-p4ssw0rd' } },
      received: () => received,
      async close() {
        sub.unsubscribe();
        await nc.close();
        await server.stop();
      },
    };
  },
  unreachable: { spec: { address: 'nats://127.0.0.1:1', channel: 'flux.events' }, secret: { username: 'flux', password: 'n4ts-p4ssw0rd' } },
});
