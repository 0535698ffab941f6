// matrix held to the provider conformance suite (spec providers/matrix.md).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'matrix',
  target: (url) => ({ spec: { address: url, channel: '!abcdef:example.org' }, secret: { token: 'syt_abc' } }),
  vectors: 'matrix',
  ok: () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"event_id":"$ev1"}' }),
});
