// TLS material from certSecretRef (or a commit-status type's secretRef), checked as Go's tls and x509 packages do (event-server.md §11.3).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { TlsMaterial } from '../types.js';
import { str } from './secret-data.js';

export interface RawTls {
  ca?: string;
  cert?: string;
  key?: string;
  caKey: string;
  certKey: string;
  keyKey: string;
}

/** Standard keys win over the legacy ones; an empty value counts as absent. */
export function tlsMaterial(data: Record<string, Buffer>): RawTls {
  const pick = (standard: string, legacy: string): [string | undefined, string] => {
    const s = str(data, standard);
    if (s) return [s, standard];
    const l = str(data, legacy);
    if (l) return [l, legacy];
    return [undefined, standard];
  };
  const [ca, caKey] = pick('ca.crt', 'caFile');
  const [cert, certKey] = pick('tls.crt', 'certFile');
  const [key, keyKey] = pick('tls.key', 'keyFile');
  const out: RawTls = { caKey, certKey, keyKey };
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  return out;
}

export function tlsFromCertSecret(data: Record<string, Buffer>, secretName: string): TlsMaterial {
  const raw = tlsMaterial(data);
  if (raw.cert && !raw.key) throw new Error(`secret '${secretName}' contains 'tls.crt' but missing 'tls.key'`);
  if (raw.key && !raw.cert) throw new Error(`secret '${secretName}' contains 'tls.key' but missing 'tls.crt'`);
  if (!raw.cert && !raw.ca) throw new Error(`secret '${secretName}' must contain either 'ca.crt' or both 'tls.crt' and 'tls.key'`);
  const out: TlsMaterial = {};
  if (raw.cert && raw.key) {
    const err = keyPairError(raw.cert, raw.key);
    if (err) throw new Error(`failed to parse TLS certificate and key: ${err} (secret '${secretName}' keys '${raw.certKey}', '${raw.keyKey}')`);
    out.cert = raw.cert;
    out.key = raw.key;
  }
  if (raw.ca) {
    const ca = validCaBundle(raw.ca);
    if (ca === undefined) throw new Error(`failed to parse CA certificate (secret '${secretName}' key '${raw.caKey}' holds no valid PEM certificate)`);
    out.ca = ca;
  }
  return out;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Like Go's AppendCertsFromPEM: keeps the certificates that parse; undefined when none does. */
export function validCaBundle(pem: string): string | undefined {
  const good: string[] = [];
  for (const block of pem.match(PEM_CERT) ?? []) {
    try {
      new X509Certificate(block);
      good.push(block);
    } catch {
      // Go skips certificates it cannot parse.
    }
  }
  return good.length > 0 ? good.join('\n') + '\n' : undefined;
}

/** Go tls.X509KeyPair's checks: a certificate, a private key, and the key belonging to the certificate. */
export function keyPairError(certPem: string, keyPem: string): string | undefined {
  const first = certPem.match(PEM_CERT)?.[0];
  if (!first) return 'tls: failed to find any PEM data in certificate input';
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(first);
  } catch (err) {
    return `x509: ${(err as Error).message}`;
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return 'tls: failed to find any PEM data in key input';
  }
  if (!cert.checkPrivateKey(key)) return 'tls: private key does not match public key';
  return undefined;
}

