// sentry held to the provider conformance suite (spec providers/sentry.md). The vectors give the request line and
// headers; the envelope (random ids, send time) is compared line by line in test/integration/providers/sentry.test.ts.
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'sentry',
  // The DSN of the spec's canonical example, pointed at the test server.
  target: (url) => ({ spec: { channel: 'production' }, secret: { address: `${url.replace('://', '://abc123@')}/4506` } }),
  vectors: 'sentry',
});
