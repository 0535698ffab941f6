// Turns a Provider and its Secrets into ProviderSettings as Flux does (event-server.md §11), and masks secrets in errors.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';
import { COMMIT_STATUS_TYPES, providerTimeoutMs, type Provider } from '../api/provider.js';
import type { Secret } from '../api/secret.js';
import { maskSecrets, urlCredentials } from '../logger.js';
import { goEscape, parseGoUrl, type GoUrl } from './go-url.js';
import { ConfigError, type ProviderSettings, type TlsMaterial } from './types.js';

export type GetSecret = (namespace: string, name: string) => Secret | undefined;

const MAX_ADDRESS = 2048;

/** Header names whose values are credentials: their values join `sensitive`. */
const SENSITIVE_HEADER = /authorization|token|secret|password|passwd|api[-_]?key|signature|cookie|auth/i;

function has(data: Record<string, Buffer>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(data, key);
}

function str(data: Record<string, Buffer>, key: string): string | undefined {
  return has(data, key) ? data[key]!.toString('utf8') : undefined;
}

/** Flux's text for a Secret that is not there (the API server's NotFound message). */
function secretNotFound(namespace: string, name: string): string {
  return `failed to get secret '${namespace}/${name}': secrets "${name}" not found`;
}

function getSecretOrThrow(getSecret: GetSecret, namespace: string, name: string): Secret {
  const s = getSecret(namespace, name);
  if (!s) throw new Error(secretNotFound(namespace, name));
  return s;
}

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
    for (const key of ['token', 'password', 'bearerToken', 'creds', 'nkey', 'githubAppPrivateKey', 'tls.key', 'keyFile']) {
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

// ---------------------------------------------------------------------------------------------------------------
// Credential keys (fluxcd/pkg runtime/secrets AuthMethodsFromSecret), all or nothing.

interface Credentials {
  basic?: { username: string; password: string };
  token?: string;
}

/** Flux drops every credential of the Secret when one is malformed; Herald refuses the Secret and says why. */
function parseCredentials(data: Record<string, Buffer>, context: string): Credentials {
  const out: Credentials = {};
  const hasUser = has(data, 'username');
  const hasPass = has(data, 'password');
  if (hasUser !== hasPass) {
    throw new ConfigError(hasUser
      ? `${context} has 'username' but no 'password' (both keys are needed for basic auth)`
      : `${context} has 'password' but no 'username' (both keys are needed for basic auth; spec.username is not combined with a Secret password)`);
  }
  if (hasUser) out.basic = { username: str(data, 'username')!, password: str(data, 'password')! };

  if (has(data, 'githubAppID') && has(data, 'githubAppPrivateKey')) {
    const owner = has(data, 'githubAppInstallationOwner');
    const id = has(data, 'githubAppInstallationID');
    if (owner === id) {
      throw new ConfigError(`${context} has 'githubAppID' and 'githubAppPrivateKey' but needs exactly one of 'githubAppInstallationOwner' or 'githubAppInstallationID'`);
    }
  }

  const tls = tlsMaterial(data);
  if (tls.cert && tls.key) {
    const err = keyPairError(tls.cert, tls.key);
    if (err) throw new ConfigError(`${context}: '${tls.certKey}' and '${tls.keyKey}' are not a valid certificate and key pair: ${err}`);
  }
  if (tls.ca && validCaBundle(tls.ca) === undefined) {
    throw new ConfigError(`${context}: '${tls.caKey}' holds no valid PEM certificate`);
  }

  const token = str(data, 'token');
  if (token) out.token = token;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// TLS (event-server.md §11.3)

interface RawTls {
  ca?: string;
  cert?: string;
  key?: string;
  caKey: string;
  certKey: string;
  keyKey: string;
}

/** Standard keys win over the legacy ones; an empty value counts as absent. */
function tlsMaterial(data: Record<string, Buffer>): RawTls {
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

function tlsFromCertSecret(data: Record<string, Buffer>, secretName: string): TlsMaterial {
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
function validCaBundle(pem: string): string | undefined {
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
function keyPairError(certPem: string, keyPem: string): string | undefined {
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

// ---------------------------------------------------------------------------------------------------------------
// Proxy (event-server.md §11.2)

function proxyFromSecret(secret: Secret, secretName: string): string {
  const data = secret.data;
  const prefix = `secret '${secretName}'`;
  if (!has(data, 'address')) throw new Error(`${prefix}: key 'address' not found`);
  const address = data['address']!.toString('utf8');
  if (address.length === 0) throw new Error(`${prefix}: proxy address is empty`);
  if (address.length > MAX_ADDRESS) throw new Error(`${prefix}: proxy URL exceeds maximum length of 2048 characters`);
  const parsed = tryParseGoUrl(address);
  if (parsed.error !== undefined) throw new Error(`${prefix}: failed to parse proxy address '${address}': ${parsed.error}`);
  const scheme = parsed.url!.scheme;
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'socks5') {
    throw new Error(`${prefix}: proxy URL must use one of the supported schemes (http, https, socks5), got '${scheme}'`);
  }
  const username = str(data, 'username');
  if (username === undefined) return address;
  const password = str(data, 'password');
  const userinfo = goEscape(username, 'userPassword') + (password === undefined ? '' : `:${goEscape(password, 'userPassword')}`);
  return withUserinfo(address, userinfo);
}

function tryParseGoUrl(raw: string): { url?: GoUrl; error?: string } {
  try {
    return { url: parseGoUrl(raw) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Replaces (or adds) the user info of a `scheme://authority...` URL, leaving the rest as written. */
function withUserinfo(url: string, userinfo: string): string {
  const m = /^([^:]+:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m) return url;
  const authority = m[2]!;
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? authority.slice(at + 1) : authority;
  return `${m[1]}${userinfo}@${host}${m[3]}`;
}

function addUrlCredentials(url: string, sensitive: Set<string>): void {
  const m = /^[^:]+:\/\/([^/?#]*)@/s.exec(url);
  if (!m) return;
  const userinfo = m[1]!;
  const colon = userinfo.indexOf(':');
  if (colon < 0) return;
  const password = userinfo.slice(colon + 1);
  sensitive.add(password);
  try {
    sensitive.add(decodeURIComponent(password));
  } catch {
    // not percent-encoded
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Secret `headers`: sigs.k8s.io/yaml into map[string]string (YAML 1.1 scalars stringified, nested values rejected).

/** Parses the `headers` key; throws with an error text modelled on sigs.k8s.io/yaml's. */
export function parseHeadersYaml(text: string): Record<string, string> {
  const docs = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: false, merge: false, prettyErrors: false });
  const doc = (Array.isArray(docs) ? docs[0] : undefined) as Document | undefined;
  if (!doc) return {};
  if (doc.errors.length > 0) throw new Error(`error converting YAML to JSON: yaml: ${doc.errors[0]!.message}`);
  const root = deref(doc, doc.contents as YamlNode | null);
  if (root === null || (isScalar(root) && isYamlNull(root))) return {};
  if (!isMap(root)) {
    throw new Error(`error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(doc, root)} into Go value of type map[string]string`);
  }
  const out: Record<string, string> = {};
  for (const pair of root.items) {
    const key = deref(doc, pair.key as YamlNode | null);
    const value = deref(doc, pair.value as YamlNode | null);
    let name: string;
    if (key === null) name = 'null';
    else if (isScalar(key)) name = scalarToString(key) ?? 'null';
    else throw new Error('error converting YAML to JSON: yaml: invalid map key: a header name must be a scalar');
    if (value === null) {
      out[name] = '';
      continue;
    }
    if (!isScalar(value)) {
      throw new Error(`error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(doc, value)} into Go value of type string`);
    }
    out[name] = scalarToString(value) ?? '';
  }
  return out;
}

function deref(doc: Document, node: YamlNode | null | undefined): YamlNode | null {
  let n = node ?? null;
  for (let i = 0; n !== null && isAlias(n) && i < 100; i++) n = (n.resolve(doc) as YamlNode | undefined) ?? null;
  return n;
}

function jsonKind(doc: Document, node: YamlNode): string {
  if (isMap(node)) return 'object';
  if (isSeq(node)) return 'array';
  if (isScalar(node)) {
    const v = resolvePlain(node);
    if (typeof v === 'number' || typeof v === 'bigint') return 'number';
    if (typeof v === 'boolean') return 'bool';
    return 'string';
  }
  void doc;
  return 'value';
}

type Resolved = string | number | bigint | boolean | null;

function isYamlNull(node: YamlNode): boolean {
  return isScalar(node) && resolvePlain(node) === null;
}

/** go-yaml v2's resolve() for plain scalars; quoted scalars and explicit `!!str` stay strings. */
function resolvePlain(node: YamlNode): Resolved {
  if (!isScalar(node)) return null;
  const raw = String(node.value ?? '');
  const quoted = node.type !== undefined && node.type !== 'PLAIN';
  if (quoted || node.tag === 'tag:yaml.org,2002:str' || node.tag === 'tag:yaml.org,2002:binary') return raw;
  if (raw === '' || raw === '~' || raw === 'null' || raw === 'Null' || raw === 'NULL') return null;
  if (['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].includes(raw)) return true;
  if (['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].includes(raw)) return false;
  if (['.nan', '.NaN', '.NAN'].includes(raw)) return NaN;
  if (['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].includes(raw)) return Infinity;
  if (['-.inf', '-.Inf', '-.INF'].includes(raw)) return -Infinity;
  const first = raw[0]!;
  if (first === '.') {
    const f = goParseFloat(raw);
    return f === undefined ? raw : f;
  }
  if (first === '+' || first === '-' || (first >= '0' && first <= '9')) {
    const plain = raw.replaceAll('_', '');
    const i = goParseInt(plain);
    if (i !== undefined) return i;
    if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)) {
      const f = goParseFloat(plain);
      if (f !== undefined) return f;
    }
    const bin = /^(-?)0b([01]+)$/.exec(plain);
    if (bin) return BigInt(`${bin[1]}0b${bin[2]}`) as bigint;
  }
  return raw;
}

/** strconv.ParseInt(s, 0, 64), then ParseUint(s, 0, 64): 0x/0o/0b prefixes and leading-zero octal. */
function goParseInt(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  let magnitude: bigint;
  if (/^0[oO]/.test(body)) magnitude = BigInt(`0o${body.slice(2)}`);
  else if (/^0[xXbB]/.test(body)) magnitude = BigInt(body.toLowerCase());
  else if (body.length > 1 && body[0] === '0') magnitude = BigInt(`0o${body.slice(1)}`);
  else magnitude = BigInt(body);
  if (m[1] === '-') return magnitude <= 2n ** 63n ? -magnitude : undefined;
  // ParseUint takes no sign, so a '+' keeps the value within int64.
  const max = m[1] === '+' ? 2n ** 63n - 1n : 2n ** 64n - 1n;
  return magnitude <= max ? magnitude : undefined;
}

function goParseFloat(s: string): number | undefined {
  if (!/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return undefined;
  const f = Number(s);
  return Number.isNaN(f) ? undefined : f;
}

/** The string sigs.k8s.io/yaml produces for a scalar bound to a Go string; undefined for null. */
function scalarToString(node: YamlNode): string | undefined {
  const v = resolvePlain(node);
  if (v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  return formatFloat32(v);
}

/** strconv.FormatFloat(f, 'g', -1, 32): the shortest digits that round-trip as float32. */
export function formatFloat32(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  const x = Math.fround(f);
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  let digits = '';
  let exp = 0;
  for (let p = 1; p <= 9; p++) {
    const s = Math.abs(x).toExponential(p - 1);
    if (Math.fround(Number(s)) === Math.abs(x)) {
      const [mant, e] = s.split('e');
      digits = mant!.replace('.', '');
      exp = Number(e);
      break;
    }
  }
  digits = digits.replace(/0+$/, '') || '0';
  const sign = x < 0 ? '-' : '';
  // Go's shortest %g switches to exponent form when exp < -4 || exp >= 6.
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const es = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${es}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Masking (event-server.md §12.2)

/**
 * Flux's redaction: the RE2 pattern `QuoteMeta(token) + "*"` replaced by `*****` with Go's ReplaceAllString
 * semantics (so the token minus its last character, and runs of that character, are masked too).
 */
export function maskToken(text: string, token: string): string {
  if (token === '') return text;
  const pattern = new RegExp(token.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&') + '*', 'gu');
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= text.length) {
    pattern.lastIndex = searchPos;
    const m = pattern.exec(text);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    out += text.slice(lastMatchEnd, start);
    // Go skips an empty match right after a previous match.
    if (end > lastMatchEnd || start === 0) out += '*****';
    lastMatchEnd = end;
    const cp = text.codePointAt(searchPos);
    const width = cp !== undefined && cp > 0xffff ? 2 : 1;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + text.slice(lastMatchEnd);
}

/** Flux's token masking plus Herald's: every sensitive value of the settings is masked as well. */
export function maskError(text: string, settings: Pick<ProviderSettings, 'token' | 'sensitive'>): string {
  return maskToken(maskSecrets(text, settings.sensitive), settings.token.trim());
}
