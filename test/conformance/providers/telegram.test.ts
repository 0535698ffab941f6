// telegram held to the provider conformance suite (spec providers/telegram.md). Telegram's API host is fixed
// (https://api.telegram.org), so every request goes through a CONNECT proxy that routes api.telegram.org:443 to the
// suite's recording server, which presents a certificate for api.telegram.org signed by the test CA (trusted here as
// a system root). The request line, Host header and bot-token path are thus the real ones.
import { afterAll, beforeAll } from 'vitest';
import { trustTestCaAsSystemRoot } from '../../helpers/fixed-host.js';
import { serverCertFor } from '../../helpers/tls.js';
import { describeProviderConformance } from '../../helpers/provider-conformance.js';
import { startProxy, type TinyProxy } from '../../helpers/proxy.js';

trustTestCaAsSystemRoot();
let proxy: TinyProxy;
/** The recording server the suite is pointing the Provider at (target is called right before each send). */
let routeTo = 0;
beforeAll(async () => {
  proxy = await startProxy(undefined, { route: () => ({ host: '127.0.0.1', port: routeTo }) });
});
afterAll(() => proxy.close());

describeProviderConformance({
  type: 'telegram',
  fixedHost: { tls: serverCertFor(['api.telegram.org']) },
  target: (url) => {
    const port = Number(new URL(url).port);
    if (port > 0) routeTo = port;
    // The Secret `proxy` key (the suite's own proxySecretRef test overrides it with its routing proxy).
    return { spec: { channel: '-1001234567890:42' }, secret: { token: '123456:ABC-DEF1234', proxy: proxy?.url ?? 'http://127.0.0.1:1' } };
  },
  vectors: 'telegram',
});
