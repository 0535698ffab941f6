// otel held to the provider conformance suite (spec providers/otel.md). The vectors give the request line and headers;
// the protobuf body is decoded and compared field by field in test/integration/providers/otel.test.ts.
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'otel',
  // The spec's canonical example: an address without a path, a token, and Secret headers (which enable Authorization).
  target: (url) => ({ spec: { address: url }, secret: { token: 'otlp-token', headers: 'X-Scope-OrgID: flux\n' } }),
  vectors: 'otel',
});
