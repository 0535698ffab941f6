// lark held to the provider conformance suite (spec providers/lark.md).
import { describeProviderConformance } from '../../helpers/provider-conformance.js';

describeProviderConformance({
  type: 'lark',
  // A Secret address, as users keep the webhook (its path is the bot's key).
  target: (url) => ({ spec: {}, secret: { address: `${url}/open-apis/bot/v2/hook/3f2a9c1e` } }),
  vectors: 'lark',
  ok: () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"code":0,"msg":"success","data":{}}' }),
});
