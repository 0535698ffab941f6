// Test PKI: a throw-away CA with a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  /** CA certificate (PEM) that signed the server and client certificates. */
  ca: string;
  caKey: string;
  /** Server certificate for CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1. */
  serverCert: string;
  serverKey: string;
  /** Client certificate (CN=herald-client, extendedKeyUsage clientAuth). */
  clientCert: string;
  clientKey: string;
  /** A second, unrelated CA: trusting it must not make the server certificate valid. */
  otherCa: string;
}

let cached: TestPki | undefined;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Generates the PKI once per test process (openssl takes a few hundred ms). */
export function makeTestPki(): TestPki {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'herald-pki-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Herald Test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    openssl(dir, ['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=Other Test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    writeFileSync(join(dir, 'server.ext'),
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n');
    writeFileSync(join(dir, 'client.ext'),
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
    for (const [name, cn] of [['server', 'localhost'], ['client', 'herald-client']] as const) {
      openssl(dir, ['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
    }
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    cached = {
      ca: read('ca.crt'),
      caKey: read('ca.key'),
      serverCert: read('server.crt'),
      serverKey: read('server.key'),
      clientCert: read('client.crt'),
      clientKey: read('client.key'),
      otherCa: read('other.crt'),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const issued = new Map<string, { cert: string; key: string }>();

/**
 * A server certificate from the test CA for public host names (`slack.com`, `*.webhook.office.com`), so a provider
 * with a fixed host can be sent through the recording proxy's `route` to a local HTTPS server and verify it against
 * the certSecretRef CA. Cached per name list.
 */
export function serverCertFor(dnsNames: string[]): { cert: string; key: string } {
  const id = dnsNames.join(',');
  const hit = issued.get(id);
  if (hit) return hit;
  const pki = makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'herald-pki-host-'));
  try {
    writeFileSync(join(dir, 'ca.crt'), pki.ca);
    writeFileSync(join(dir, 'ca.key'), pki.caKey);
    writeFileSync(join(dir, 'host.ext'),
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\n`);
    openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'host.key', '-out', 'host.csr', '-subj', `/CN=${dnsNames[0]}`]);
    openssl(dir, ['x509', '-req', '-in', 'host.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'host.crt', '-days', '2', '-extfile', 'host.ext']);
    const out = { cert: readFileSync(join(dir, 'host.crt'), 'utf8'), key: readFileSync(join(dir, 'host.key'), 'utf8') };
    issued.set(id, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
