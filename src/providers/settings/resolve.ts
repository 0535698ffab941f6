// Turns a Provider and its Secrets into ProviderSettings as Flux does (event-server.md §11): address, credentials, headers, proxy, TLS.
import { COMMIT_STATUS_TYPES, providerTimeoutMs, type Provider } from '../../api/provider.js';
import type { Secret } from '../../api/secret.js';
import { parseHeadersYaml } from '../../go/yaml-headers.js';
import { urlCredentials } from '../../logger.js';
import { sensitiveSecretKeys } from '../registry.js';
import { ConfigError, type ProviderSettings, type TlsMaterial } from '../types.js';
import { parseCredentials } from './credentials.js';
import { addUrlCredentials, proxyFromSecret, tryParseGoUrl } from './proxy.js';
import { getSecretOrThrow, has, secretNotFound, str, type GetSecret } from './secret-data.js';
import { tlsFromCertSecret, tlsMaterial, validCaBundle } from './tls.js';

export type { GetSecret } from './secret-data.js';

const MAX_ADDRESS = 2048;

/** Header names whose values are credentials: their values join `sensitive`. */
export const SENSITIVE_HEADER = /authorization|token|secret|password|passwd|api[-_]?key|signature|cookie|auth/i;

/**
 * Resolves everything a provider needs from its Provider object and Secrets. Throws ConfigError with Flux's
 * message; where Flux silently drops malformed credentials, throws a ConfigError naming Provider, Secret and key.
 */
export function resolveProviderSettings(provider: Provider, getSecret: GetSecret): ProviderSettings {
  const ns = provider.metadata.namespace;
  const spec = provider.spec;
  const sensitive = new Set<string>();
  const settings: ProviderSettings = {
    provider,
    type: spec.type,
    address: spec.address ?? '',
    channel: spec.channel ?? '',
    username: spec.username ?? '',
    password: '',
    token: '',
    headers: {},
    secretData: {},
    timeoutMs: providerTimeoutMs(provider),
    sensitive: [],
  };
  if (spec.proxy) settings.proxy = spec.proxy;

  const fail = (message: string): never => {
    throw new ConfigError(message);
  };

  let providerSecret: Secret | undefined;
  if (spec.secretRef) {
    const name = spec.secretRef.name;
    const secretName = `${ns}/${name}`;
    providerSecret = getSecret(ns, name) ?? fail(secretNotFound(ns, name));
    const data = providerSecret.data;

    if (has(data, 'address') && data['address']!.length > MAX_ADDRESS) {
      fail('invalid address in secret: address exceeds maximum length of 2048 bytes');
    }

    const proxy = str(data, 'proxy');
    if (proxy !== undefined) {
      const trimmed = proxy.trim();
      if (tryParseGoUrl(trimmed).error !== undefined) fail(`invalid 'proxy' in secret '${secretName}'`);
      settings.proxy = trimmed;
      addUrlCredentials(trimmed, sensitive);
    }

    const headers = str(data, 'headers');
    if (headers !== undefined) {
      try {
        settings.headers = parseHeadersYaml(headers);
      } catch (err) {
        fail(`failed to read headers from secret: ${(err as Error).message}`);
      }
    }

    const creds = parseCredentials(data, `provider ${ns}/${provider.metadata.name}: secret ${secretName}`);
    if (creds.basic) {
      settings.username = creds.basic.username;
      settings.password = creds.basic.password;
    }
    if (creds.token !== undefined) settings.token = creds.token;

    settings.secretData = data;
    settings.secretName = secretName;

    const address = str(data, 'address');
    if (address !== undefined) {
      settings.address = address.trim();
      // A Secret address is often a signed URL (Slack, Teams, Discord webhooks): it is a credential, and so is
      // its path, which servers echo back without the host.
      sensitive.add(settings.address);
      const pathAndQuery = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([/?][^#]*)/.exec(settings.address)?.[1];
      if (pathAndQuery && pathAndQuery !== '/') sensitive.add(pathAndQuery);
      // Servers also echo single query values (`?key=...`, `?sig=...`) in their error bodies.
      for (const part of urlCredentials(settings.address)) sensitive.add(part);
    }
    // The common credentials and every key a provider type declares sensitive (any type's: a Secret may serve several).
    for (const key of sensitiveSecretKeys()) {
      const v = str(data, key);
      if (v) {
        sensitive.add(v);
        sensitive.add(v.trim());
      }
    }
    for (const [name, value] of Object.entries(settings.headers)) {
      if (!SENSITIVE_HEADER.test(name)) continue;
      sensitive.add(value);
      // `Bearer xyz` leaks as `xyz` just as easily.
      const m = /^\S+\s+(\S.*)$/.exec(value);
      if (m) sensitive.add(m[1]!);
    }
  }

  if (spec.proxySecretRef) {
    const name = spec.proxySecretRef.name;
    try {
      settings.proxy = proxyFromSecret(getSecretOrThrow(getSecret, ns, name), `${ns}/${name}`);
    } catch (err) {
      fail(`failed to get proxy URL: ${(err as Error).message}`);
    }
  }
  if (spec.proxy) addUrlCredentials(spec.proxy, sensitive);
  if (settings.proxy) addUrlCredentials(settings.proxy, sensitive);
  addUrlCredentials(settings.address, sensitive);

  if (spec.certSecretRef) {
    const name = spec.certSecretRef.name;
    try {
      const secret = getSecretOrThrow(getSecret, ns, name);
      settings.tls = tlsFromCertSecret(secret.data, `${ns}/${name}`);
    } catch (err) {
      fail(`failed to get TLS config: ${(err as Error).message}`);
    }
  } else if (providerSecret && COMMIT_STATUS_TYPES.has(spec.type)) {
    // Parse errors were already reported by parseCredentials; only complete material is used here.
    const tls = tlsMaterial(providerSecret.data);
    const out: TlsMaterial = {};
    if (tls.ca) out.ca = validCaBundle(tls.ca) ?? tls.ca;
    if (tls.cert && tls.key) {
      out.cert = tls.cert;
      out.key = tls.key;
    }
    if (out.ca || out.cert) settings.tls = out;
  }

  settings.sensitive = [...sensitive].filter((s) => s.length > 0);
  return settings;
}
