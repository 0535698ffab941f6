// zulip held to the provider conformance suite (spec providers/zulip.md).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'zulip',
  // The path of the address is replaced by /api/v1/messages.
  target: (url) => ({
    spec: { address: `${url}/some/path`, channel: 'platform/flux alerts' },
    secret: { username: 'flux-bot@zulip.example.com', password: 'zk-123' },
  }),
  vectors: 'zulip',
  ok: () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"id":42,"msg":"","result":"success"}' }),
});
