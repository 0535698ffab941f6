// Provider settings resolution (event-server.md §11, providers/README.md §4) and Flux/Herald error masking (§12.2).
import { describe, expect, it } from 'vitest';
import type { Provider, ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { formatFloat32, parseHeadersYaml } from '../../../src/go/yaml-headers.js';
import { maskError, maskToken } from '../../../src/providers/masking.js';
import { resolveProviderSettings } from '../../../src/providers/settings/resolve.js';
import { ConfigError, type ProviderSettings } from '../../../src/providers/types.js';
import { parseManifests } from '../../../src/resources/manifests.js';
import { fixtureJson, fixtureText } from '../../helpers/fixtures.js';
import { makeTestPki } from '../../helpers/tls.js';
import { providerObject, secretObject, settingsFor } from '../../helpers/providers.js';

const NS = 'apps';

const provider = (spec: Partial<ProviderSpec>, name = 'webhook'): Provider => providerObject(spec.type ?? 'generic', spec, { name, namespace: NS });
const secret = (name: string, data: Record<string, string | Buffer>): Secret => secretObject(name, data, NS);
const resolve = (p: Provider, ...secrets: Secret[]): ProviderSettings => settingsFor(p, secrets);

function resolveError(p: Provider, ...secrets: Secret[]): Error {
  try {
    resolve(p, ...secrets);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected resolveProviderSettings to throw');
}

/** Loads a fixture manifest file into a Provider lookup and a Secret lookup. */
function fixtureObjects(file: string): { provider: (name: string) => Provider; getSecret: (ns: string, name: string) => Secret | undefined } {
  const { objects, problems } = parseManifests(fixtureText(file), file);
  expect(problems).toEqual([]);
  return {
    provider: (name) => objects.find((o) => o.kind === 'Provider' && o.metadata.name === name) as Provider,
    getSecret: (ns, name) => objects.find((o) => o.kind === 'Secret' && o.metadata.namespace === ns && o.metadata.name === name) as Secret | undefined,
  };
}

describe('resolveProviderSettings: spec fields', () => {
  it('copies address, channel and username verbatim and defaults the timeout to 15s', () => {
    const s = resolve(provider({ address: ' https://x.example/hook ', channel: 'ops', username: 'bot' }));
    expect(s).toMatchObject({ type: 'generic', address: ' https://x.example/hook ', channel: 'ops', username: 'bot', password: '', token: '', headers: {}, timeoutMs: 15_000 });
    expect(s.proxy).toBeUndefined();
    expect(s.tls).toBeUndefined();
    expect(s.sensitive).toEqual([]);
  });

  it('parses spec.timeout as a Go duration', () => {
    expect(resolve(provider({ timeout: '1m30s' })).timeoutMs).toBe(90_000);
    expect(resolve(provider({ timeout: '250ms' })).timeoutMs).toBe(250);
  });

  it('uses the deprecated spec.proxy when nothing overrides it', () => {
    expect(resolve(provider({ proxy: 'http://spec-proxy:8080' })).proxy).toBe('http://spec-proxy:8080');
  });
});

describe('resolveProviderSettings: secretRef', () => {
  it('fails with Flux\'s text when the Secret does not exist', () => {
    const err = resolveError(provider({ secretRef: { name: 'gone' } }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`failed to get secret 'apps/gone': secrets "gone" not found`);
  });

  it('takes the trimmed Secret address over spec.address and treats it as sensitive', () => {
    const s = resolve(provider({ address: 'https://spec.example', secretRef: { name: 's' } }), secret('s', { address: '  https://hooks.example/T0/B0/xyz\n' }));
    expect(s.address).toBe('https://hooks.example/T0/B0/xyz');
    expect(s.sensitive).toContain('https://hooks.example/T0/B0/xyz');
    expect(s.secretName).toBe('apps/s');
  });

  it('lets an empty Secret address wipe spec.address', () => {
    expect(resolve(provider({ address: 'https://spec.example', secretRef: { name: 's' } }), secret('s', { address: ' ' })).address).toBe('');
  });

  it('rejects a Secret address longer than 2048 bytes (bytes, not characters)', () => {
    const ok = resolve(provider({ secretRef: { name: 's' } }), secret('s', { address: 'a'.repeat(2048) }));
    expect(ok.address).toHaveLength(2048);
    // 1025 two-byte characters: 1025 characters but 2050 bytes.
    const err = resolveError(provider({ secretRef: { name: 's' } }), secret('s', { address: 'é'.repeat(1025) }));
    expect(err.message).toBe('invalid address in secret: address exceeds maximum length of 2048 bytes');
  });

  it('hands the whole Secret data to the provider as raw bytes', () => {
    const creds = Buffer.from([0xff, 0x00, 0x41]);
    const s = resolve(provider({ type: 'nats', secretRef: { name: 's' } }), secret('s', { creds, nkey: 'SUAB' }));
    expect(s.secretData['creds']!.equals(creds)).toBe(true);
    expect(s.secretData['nkey']!.toString()).toBe('SUAB');
    expect(s.sensitive).toContain('SUAB');
  });

  it('uses the Secret proxy key trimmed over spec.proxy, and rejects one Go cannot parse', () => {
    const p = provider({ proxy: 'http://spec-proxy:8080', secretRef: { name: 's' } });
    expect(resolve(p, secret('s', { proxy: ' http://secret-proxy:3128\n' })).proxy).toBe('http://secret-proxy:3128');
    expect(resolveError(p, secret('s', { proxy: 'http://bad|host:3128' })).message).toBe("invalid 'proxy' in secret 'apps/s'");
    expect(resolveError(p, secret('s', { proxy: 'http://host:port' })).message).toBe("invalid 'proxy' in secret 'apps/s'");
  });
});

describe('resolveProviderSettings: credentials (all or nothing, Herald reports what Flux drops)', () => {
  it('takes username and password together, overriding spec.username; empty values count', () => {
    const s = resolve(provider({ username: 'spec-user', secretRef: { name: 's' } }), secret('s', { username: '', password: 'pw' }));
    expect(s.username).toBe('');
    expect(s.password).toBe('pw');
    expect(s.sensitive).toContain('pw');
  });

  it('keeps the token raw (untrimmed) and ignores an empty one', () => {
    expect(resolve(provider({ secretRef: { name: 's' } }), secret('s', { token: ' tok\n' })).token).toBe(' tok\n');
    expect(resolve(provider({ secretRef: { name: 's' } }), secret('s', { token: '' })).token).toBe('');
  });

  it('refuses a lone username, naming the Provider, the Secret and the missing key', () => {
    const err = resolveError(provider({ secretRef: { name: 'creds' } }), secret('creds', { username: 'u', token: 't' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('provider apps/webhook');
    expect(err.message).toContain('secret apps/creds');
    expect(err.message).toContain("has 'username' but no 'password'");
  });

  it('refuses a lone password even when spec.username is set (Flux would send unauthenticated)', () => {
    const err = resolveError(provider({ username: 'u', secretRef: { name: 'creds' } }), secret('creds', { password: 'p' }));
    expect(err.message).toMatch(/^provider apps\/webhook: secret apps\/creds has 'password' but no 'username'/);
  });

  it('refuses an incomplete GitHub App key set but not a partial one without the private key', () => {
    const p = provider({ type: 'github', secretRef: { name: 'app' } });
    const err = resolveError(p, secret('app', { githubAppID: '1', githubAppPrivateKey: 'k' }));
    expect(err.message).toContain("provider apps/webhook: secret apps/app has 'githubAppID' and 'githubAppPrivateKey' but needs exactly one of 'githubAppInstallationOwner' or 'githubAppInstallationID'");
    expect(resolveError(p, secret('app', { githubAppID: '1', githubAppPrivateKey: 'k', githubAppInstallationOwner: 'o', githubAppInstallationID: '2' })))
      .toBeInstanceOf(ConfigError);
    expect(resolve(p, secret('app', { githubAppID: '1', githubAppPrivateKey: 'k', githubAppInstallationID: '2', token: 't' })).token).toBe('t');
    expect(resolve(p, secret('app', { githubAppID: '1', token: 't' })).token).toBe('t');
  });

  it('refuses an unparseable ca.crt or certificate pair in the secretRef Secret, naming the key', () => {
    const pki = makeTestPki();
    const p = provider({ secretRef: { name: 's' } });
    expect(resolveError(p, secret('s', { token: 't', 'ca.crt': 'not a certificate' })).message)
      .toBe("provider apps/webhook: secret apps/s: 'ca.crt' holds no valid PEM certificate");
    expect(resolveError(p, secret('s', { token: 't', caFile: 'garbage' })).message).toContain("'caFile'");
    const mismatch = resolveError(p, secret('s', { 'tls.crt': pki.clientCert, 'tls.key': pki.serverKey }));
    expect(mismatch.message).toBe("provider apps/webhook: secret apps/s: 'tls.crt' and 'tls.key' are not a valid certificate and key pair: tls: private key does not match public key");
    // A missing key is not an error: Flux only rejects what it can parse and cannot.
    expect(resolve(p, secret('s', { token: 't', 'tls.crt': 'whatever' })).token).toBe('t');
  });
});

describe('resolveProviderSettings: headers', () => {
  it('stringifies YAML 1.1 scalars as sigs.k8s.io/yaml does for a string target', () => {
    const s = resolve(provider({ secretRef: { name: 's' } }), secret('s', {
      headers: [
        'X-Count: 1', 'X-Yes: yes', 'X-Off: Off', 'X-Quoted: "yes"', 'X-Float: 1.0', 'X-Pi: 3.14159265', 'X-Hex: 0x1F',
        'X-Octal: 017', 'X-Big: 1e7', 'X-Null: ~', 'X-Empty:', 'X-Date: 2001-12-14', 'X-Under: 1_000', 'X-Text: Bearer abc',
      ].join('\n'),
    }));
    expect(s.headers).toEqual({
      'X-Count': '1', 'X-Yes': 'true', 'X-Off': 'false', 'X-Quoted': 'yes', 'X-Float': '1', 'X-Pi': '3.1415927', 'X-Hex': '31',
      'X-Octal': '15', 'X-Big': '1e+07', 'X-Null': '', 'X-Empty': '', 'X-Date': '2001-12-14', 'X-Under': '1000', 'X-Text': 'Bearer abc',
    });
  });

  it('gives no headers for an empty document and fails for a non-mapping or nested value', () => {
    expect(resolve(provider({ secretRef: { name: 's' } }), secret('s', { headers: '' })).headers).toEqual({});
    expect(resolve(provider({ secretRef: { name: 's' } }), secret('s', { headers: '# nothing\n' })).headers).toEqual({});
    expect(resolveError(provider({ secretRef: { name: 's' } }), secret('s', { headers: 'foo' })).message)
      .toBe('failed to read headers from secret: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]string');
    expect(resolveError(provider({ secretRef: { name: 's' } }), secret('s', { headers: 'X-A:\n  nested: 1' })).message)
      .toBe('failed to read headers from secret: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type string');
    expect(resolveError(provider({ secretRef: { name: 's' } }), secret('s', { headers: 'X-A: [1, 2]' })).message)
      .toContain('cannot unmarshal array into Go value of type string');
    expect(resolveError(provider({ secretRef: { name: 's' } }), secret('s', { headers: 'X-A: [' })).message)
      .toMatch(/^failed to read headers from secret: error converting YAML to JSON: yaml: /);
  });

  it('resolves aliases and lets a later duplicate key win', () => {
    expect(parseHeadersYaml('A: &v one\nB: *v\nA: two')).toEqual({ A: 'two', B: 'one' });
  });

  it('marks Authorization-like header values sensitive, including the credential after the scheme', () => {
    const s = resolve(provider({ secretRef: { name: 's' } }), secret('s', { headers: 'Authorization: Bearer webhook-api-key\nX-Api-Key: k-123\nX-Cluster: prod' }));
    expect(s.sensitive).toEqual(expect.arrayContaining(['Bearer webhook-api-key', 'webhook-api-key', 'k-123']));
    expect(s.sensitive).not.toContain('prod');
  });

  it('formats float32 values as Go strconv.FormatFloat(f, g, -1, 32)', () => {
    expect([0.1, 1.5, 100000, 1e6, 123456789, 0.0001, 0.00001, -2.5, 1e21].map(formatFloat32))
      .toEqual(['0.1', '1.5', '100000', '1e+06', '1.2345679e+08', '0.0001', '1e-05', '-2.5', '1e+21']);
  });
});

describe('resolveProviderSettings: proxySecretRef', () => {
  it('follows the fixture\'s precedence: proxySecretRef over the Secret proxy key over spec.proxy', () => {
    const fx = fixtureObjects('manifests/provider-generic-proxy.yaml');
    const p = fx.provider('webhook-via-proxy');
    const s = resolveProviderSettings(p, fx.getSecret);
    expect(s.proxy).toBe('http://proxy-user:proxy-pass@proxy.internal:3128');
    expect(s.headers).toEqual({ Authorization: 'Bearer webhook-api-key', 'X-Cluster': 'prod-eu-1' });
    expect(s.sensitive).toContain('proxy-pass');
    const withoutRef = { ...p, spec: { ...p.spec, proxySecretRef: undefined } } as Provider;
    expect(resolveProviderSettings(withoutRef, fx.getSecret).proxy).toBe('http://legacy-secret-proxy.internal:8080');
    const specOnly = { ...p, spec: { ...p.spec, proxySecretRef: undefined, secretRef: undefined } } as Provider;
    expect(resolveProviderSettings(specOnly, fx.getSecret).proxy).toBe('http://legacy-spec-proxy.internal:8080');
  });

  it('adds a lone username as user info and escapes special characters as Go does', () => {
    const p = provider({ proxySecretRef: { name: 'px' } });
    expect(resolve(p, secret('px', { address: 'http://proxy:3128', username: 'me' })).proxy).toBe('http://me@proxy:3128');
    expect(resolve(p, secret('px', { address: 'socks5://proxy:1080', username: 'a@b', password: 'p:w/d' })).proxy)
      .toBe('socks5://a%40b:p%3Aw%2Fd@proxy:1080');
  });

  it('reports every Flux error with the Secret name', () => {
    const p = provider({ proxySecretRef: { name: 'px' } });
    const cases: [Record<string, string> | undefined, string][] = [
      [undefined, `failed to get proxy URL: failed to get secret 'apps/px': secrets "px" not found`],
      [{ username: 'u' }, "failed to get proxy URL: secret 'apps/px': key 'address' not found"],
      [{ address: '' }, "failed to get proxy URL: secret 'apps/px': proxy address is empty"],
      [{ address: `http://${'a'.repeat(2048)}` }, "failed to get proxy URL: secret 'apps/px': proxy URL exceeds maximum length of 2048 characters"],
      [{ address: 'http://bad host:1' }, `failed to get proxy URL: secret 'apps/px': failed to parse proxy address 'http://bad host:1': parse "http://bad host:1": invalid character " " in host name`],
      [{ address: 'ftp://proxy:21' }, "failed to get proxy URL: secret 'apps/px': proxy URL must use one of the supported schemes (http, https, socks5), got 'ftp'"],
    ];
    for (const [data, message] of cases) {
      const err = data ? resolveError(p, secret('px', data)) : resolveError(p);
      expect(err, message).toBeInstanceOf(ConfigError);
      expect(err.message).toBe(message);
    }
  });
});

describe('resolveProviderSettings: TLS', () => {
  it('builds TLS from certSecretRef: CA only, pair only, both, legacy keys', () => {
    const pki = makeTestPki();
    const p = provider({ certSecretRef: { name: 'tls' } });
    expect(resolve(p, secret('tls', { 'ca.crt': pki.ca })).tls).toEqual({ ca: pki.ca.trim() + '\n' });
    expect(resolve(p, secret('tls', { 'tls.crt': pki.clientCert, 'tls.key': pki.clientKey })).tls).toEqual({ cert: pki.clientCert, key: pki.clientKey });
    const both = resolve(p, secret('tls', { 'ca.crt': pki.ca, 'tls.crt': pki.clientCert, 'tls.key': pki.clientKey })).tls!;
    expect([both.ca !== undefined, both.cert, both.key]).toEqual([true, pki.clientCert, pki.clientKey]);
    const legacy = resolve(p, secret('tls', { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey })).tls!;
    expect([legacy.ca !== undefined, legacy.cert, legacy.key]).toEqual([true, pki.clientCert, pki.clientKey]);
  });

  it('keeps only the certificates of a CA bundle that parse, as Go\'s AppendCertsFromPEM', () => {
    const pki = makeTestPki();
    const junk = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    const tls = resolve(provider({ certSecretRef: { name: 'tls' } }), secret('tls', { 'ca.crt': junk + pki.ca + pki.otherCa })).tls!;
    expect(tls.ca).not.toContain('AAAA');
    expect(tls.ca).toContain(pki.ca.trim());
    expect(tls.ca).toContain(pki.otherCa.trim());
  });

  it('reports Flux\'s errors for incomplete or broken certSecretRef Secrets', () => {
    const pki = makeTestPki();
    const p = provider({ certSecretRef: { name: 'tls' } });
    const cases: [Record<string, string> | undefined, string][] = [
      [undefined, `failed to get TLS config: failed to get secret 'apps/tls': secrets "tls" not found`],
      [{ 'tls.crt': pki.clientCert }, "failed to get TLS config: secret 'apps/tls' contains 'tls.crt' but missing 'tls.key'"],
      [{ 'tls.key': pki.clientKey }, "failed to get TLS config: secret 'apps/tls' contains 'tls.key' but missing 'tls.crt'"],
      [{ other: 'x' }, "failed to get TLS config: secret 'apps/tls' must contain either 'ca.crt' or both 'tls.crt' and 'tls.key'"],
    ];
    for (const [data, message] of cases) {
      const err = data ? resolveError(p, secret('tls', data)) : resolveError(p);
      expect(err.message).toBe(message);
    }
    expect(resolveError(p, secret('tls', { 'ca.crt': 'nope' })).message).toMatch(/^failed to get TLS config: failed to parse CA certificate \(secret 'apps\/tls' key 'ca.crt'/);
    expect(resolveError(p, secret('tls', { 'tls.crt': pki.clientCert, 'tls.key': 'nope' })).message)
      .toMatch(/^failed to get TLS config: failed to parse TLS certificate and key: tls: failed to find any PEM data in key input/);
  });

  it('takes TLS from the secretRef Secret for commit-status types only', () => {
    const pki = makeTestPki();
    const data = { token: 't', 'ca.crt': pki.ca };
    expect(resolve(provider({ type: 'github', secretRef: { name: 's' } }), secret('s', data)).tls?.ca).toContain(pki.ca.trim());
    expect(resolve(provider({ type: 'generic', secretRef: { name: 's' } }), secret('s', data)).tls).toBeUndefined();
    // An incomplete pair is simply not used.
    expect(resolve(provider({ type: 'gitlab', secretRef: { name: 's' } }), secret('s', { token: 't', 'tls.crt': pki.clientCert })).tls).toBeUndefined();
  });
});

describe('masking', () => {
  it('reproduces Flux\'s token masking vectors', () => {
    const { tokenMasking } = fixtureJson<{ tokenMasking: { token: string; input: string; output: string }[] }>('expected/commit-status-and-masking.json');
    expect(tokenMasking.length).toBeGreaterThan(0);
    for (const v of tokenMasking) expect(maskToken(v.input, v.token), v.input).toBe(v.output);
  });

  it('follows Go ReplaceAllString for empty matches and treats the last code point as the repeated atom', () => {
    // Single-character token: the pattern `x*` also matches the empty string, but not right after a match.
    expect(maskToken('axb', 'x')).toBe('*****a*****b*****');
    expect(maskToken('xa', 'x')).toBe('*****a*****');
    // Metacharacters are literal; the star applies to the escaped last character.
    expect(maskToken('a.b.. a.bX', 'a.b.')).toBe('***** *****X');
    expect(maskToken('key😀😀😀 key', 'key😀')).toBe('***** *****');
  });

  it('masks every sensitive value, then the token as Flux does', () => {
    const s = resolve(provider({ secretRef: { name: 's' }, proxySecretRef: { name: 'px' } }),
      secret('s', { address: 'https://hooks.example/services/T0/B0/sig', username: 'u', password: 'hunter22', token: 'tok-123\n' }),
      secret('px', { address: 'http://proxy:3128', username: 'pu', password: 'proxy-secret' }));
    const text = 'Post "https://hooks.example/services/T0/B0/sig": auth hunter22 via proxy-secret with tok-12 and tok-123';
    const masked = maskError(text, s);
    for (const secretValue of ['hunter22', 'proxy-secret', 'tok-12', 'services/T0']) expect(masked).not.toContain(secretValue);
    expect(masked).toBe('Post "*****": auth ***** via ***** with ***** and *****');
  });
});
