// msteams held to the provider conformance suite (spec providers/msteams.md): a Workflows-style URL, so the Adaptive Card.
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'msteams',
  target: (url) => ({
    spec: {},
    secret: { address: `${url}/workflows/xxx/triggers/manual/paths/invoke?api-version=2016-06-01&sig=s1gn4tur3-abc` },
  }),
  vectors: 'msteams',
});
