// A fixed public HTTPS host (slack.com, xxx.webhook.office.com) served on loopback: a local HTTPS server with a test-CA
// certificate for the name, and the recording proxy routing `<host>:443` to it. The Provider reaches it through
// proxySecretRef and trusts it through certSecretRef, so the real host name and address are exercised.
import type { ProviderSpec } from '../../src/api/provider.js';
import type { Secret } from '../../src/api/secret.js';
import { secretObject } from './providers.js';
import { startProxy, type TinyProxy } from './proxy.js';
import { startRecordingServer, type RecordingServer, type RecordingServerOptions } from './recording-server.js';
import { makeTestPki, serverCertFor } from './tls.js';

export interface PublicHost {
  server: RecordingServer;
  proxy: TinyProxy;
  /** proxySecretRef and certSecretRef for the Provider spec. */
  spec: Pick<ProviderSpec, 'proxySecretRef' | 'certSecretRef'>;
  /** The proxy and CA Secrets those refer to. */
  secrets: Secret[];
  close(): Promise<void>;
}

/** Serves `hosts` (port 443 of each, through the proxy) from one local HTTPS server answering with `respond`. */
export async function startPublicHost(hosts: string[], respond: RecordingServerOptions['respond']): Promise<PublicHost> {
  const { cert, key } = serverCertFor(hosts);
  const server = await startRecordingServer({ tls: { cert, key }, ...(respond ? { respond } : {}) });
  const routed = new Set(hosts);
  const proxy = await startProxy(undefined, {
    route: (host, port) => (routed.has(host) && port === 443 ? { host: '127.0.0.1', port: server.port } : { host: '127.0.0.1', port: 9 }),
  });
  return {
    server,
    proxy,
    spec: { proxySecretRef: { name: 'public-host-proxy' }, certSecretRef: { name: 'public-host-ca' } },
    secrets: [secretObject('public-host-proxy', { address: proxy.url }), secretObject('public-host-ca', { 'ca.crt': makeTestPki().ca })],
    close: async () => {
      await proxy.close();
      await server.close();
    },
  };
}
