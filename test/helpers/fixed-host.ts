// Reaching a fixed public HTTPS host (api.telegram.org) in tests without the internet: a certificate for the host
// signed by the test CA, that CA added to this test process's default (system) roots, and a routing CONNECT proxy.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { makeTestPki } from './tls.js';

const issued = new Map<string, { key: string; cert: string }>();

/** A server certificate for `host` (CN and SAN), signed by the test CA of makeTestPki. */
export function fixedHostCertificate(host: string): { key: string; cert: string } {
  const cached = issued.get(host);
  if (cached) return cached;
  const pki = makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'herald-host-'));
  try {
    writeFileSync(join(dir, 'ca.crt'), pki.ca);
    writeFileSync(join(dir, 'ca.key'), pki.caKey);
    writeFileSync(join(dir, 'host.ext'),
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${host}\n`);
    const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'host.key', '-out', 'host.csr', '-subj', `/CN=${host}`]);
    openssl(['x509', '-req', '-in', 'host.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'host.crt', '-days', '2', '-extfile', 'host.ext']);
    const out = { key: readFileSync(join(dir, 'host.key'), 'utf8'), cert: readFileSync(join(dir, 'host.crt'), 'utf8') };
    issued.set(host, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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
