// googlechat held to the provider conformance suite (spec providers/googlechat.md): the `key`/`token` query is kept.
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'googlechat',
  target: (url) => ({
    spec: {},
    secret: { address: `${url}/v1/spaces/AAAA/messages?key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI&token=tok3n-abcdefgh` },
  }),
  vectors: 'googlechat',
});
