// Reaching a fixed public HTTPS host whose type applies no certSecretRef (telegram's api.telegram.org) in tests
// without the internet: the test CA trusted as a system root of this test process, a certificate for the host from
// serverCertFor (tls.ts), and a routing CONNECT proxy (proxy.ts).
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { makeTestPki } from './tls.js';

/**
 * Adds the test CA to the default CA certificates of this test process (each test file runs in its own process), as
 * if it were a system root: a type that verifies a fixed public host with the system roots then trusts the test
 * server. Nothing outside the process changes.
 */
export function trustTestCaAsSystemRoot(): void {
  const ca = makeTestPki().ca;
  const current = getCACertificates('default');
  if (!current.includes(ca)) setDefaultCACertificates([...current, ca]);
}
