// generic and generic-hmac against real local HTTP(S) servers and a real proxy: bytes, headers, errors, TLS, mTLS, proxies.
import { createHash } from 'node:crypto';
import { createServer, request as httpRequestRaw, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { decodeEvent, type FluxEvent } from '../../../src/api/event.js';
import type { Provider, ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { createLogger } from '../../../src/logger.js';
import { providerDefinition } from '../../../src/providers/registry.js';
import { maskError } from '../../../src/providers/masking.js';
import { resolveProviderSettings } from '../../../src/providers/settings/resolve.js';
import { DeliveryError, type Notification, type ProviderSettings } from '../../../src/providers/types.js';
import { parseManifests } from '../../../src/resources/manifests.js';
import { fixtureJson, fixtureText } from '../../helpers/fixtures.js';
import { startRecordingServer, type RecordingServer, type RecordingServerOptions } from '../../helpers/recording-server.js';
import { makeTestPki } from '../../helpers/tls.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startProxy } from '../../helpers/proxy.js';
import { CANONICAL_BODY, deliverOnce, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';

const log = createLogger({ level: 'error' });
const track = closeAfterEach();
const runtime = testRuntime();

async function server(opts?: RecordingServerOptions): Promise<RecordingServer> {
  return track(await startRecordingServer(opts));
}

const provider = (spec: Partial<ProviderSpec>, name = 'ops'): Provider => providerObject(spec.type ?? 'generic', spec, { name });
const secret = (name: string, data: Record<string, string>): Secret => secretObject(name, data);
const deliver = (p: Provider, secrets: Secret[], event: FluxEvent = decodeEvent(CANONICAL_BODY)): Promise<ProviderSettings> =>
  deliverOnce(runtime, p, secrets, event, { log });

async function deliveryError(p: Provider, secrets: Secret[], event?: FluxEvent): Promise<DeliveryError> {
  try {
    await deliver(p, secrets, event);
  } catch (err) {
    expect(err).toBeInstanceOf(DeliveryError);
    return err as DeliveryError;
  }
  throw new Error('expected the delivery to fail');
}

/** Header names as sent, without the ones undici adds itself (host, connection, content-length). */
const headerNames = (raw: [string, string][]): string[] =>
  raw.map(([k]) => k).filter((k) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k.toLowerCase()));

describe('generic: request bytes and headers', () => {
  it('posts the canonical provider input byte for byte with Content-Type then Gotk-Component', async () => {
    const srv = await server();
    await deliver(provider({ address: `${srv.url}/hooks/flux` }), []);
    const [req] = await srv.waitFor(1);
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/hooks/flux');
    expect(req!.text).toBe(CANONICAL_BODY);
    expect(req!.body.length).toBe(552);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['gotk-component']).toBe('kustomize-controller');
    expect(req!.headers['content-length']).toBe('552');
    expect(req!.headers['x-signature']).toBeUndefined();
    const names = headerNames(req!.rawHeaders);
    expect(names.indexOf('Content-Type')).toBeLessThan(names.indexOf('Gotk-Component'));
  });

  it('passes user headers through, including a user X-Signature (upstream generic vector 3)', async () => {
    const srv = await server();
    const event = decodeEvent('{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"message","reason":"reason","metadata":{"test":"metadata"},"reportingController":"source-controller","reportingInstance":"source-controller-xyz"}');
    await deliver(provider({ address: srv.url, secretRef: { name: 'h' } }), [secret('h', { headers: 'Authorization: token\nX-Signature: should be preserved' })], event);
    const [req] = await srv.waitFor(1);
    expect(req!.headers['authorization']).toBe('token');
    expect(req!.headers['x-signature']).toBe('should be preserved');
    expect(req!.headers['gotk-component']).toBe('source-controller');
    expect(JSON.parse(req!.text)).toMatchObject({ involvedObject: { name: 'webapp' }, metadata: { test: 'metadata' } });
  });

  it('lets Secret headers replace the built-ins case-insensitively, in place', async () => {
    const srv = await server();
    await deliver(provider({ address: srv.url, secretRef: { name: 'h' } }), [secret('h', { headers: 'content-type: text/plain\ngotk-component: custom\nX-Extra: 1' })]);
    const [req] = await srv.waitFor(1);
    expect(req!.headers['content-type']).toBe('text/plain');
    expect(req!.headers['gotk-component']).toBe('custom');
    expect(req!.headers['x-extra']).toBe('1');
    const names = headerNames(req!.rawHeaders);
    expect(names.filter((n) => n.toLowerCase() === 'content-type')).toEqual(['Content-Type']);
    expect(names.indexOf('Content-Type')).toBeLessThan(names.indexOf('Gotk-Component'));
    expect(names.indexOf('Gotk-Component')).toBeLessThan(names.indexOf('X-Extra'));
  });

  it('rejects an address that is not a request URI, with Flux\'s constructor text', () => {
    for (const [address, message] of [
      ['', 'invalid hook URL : parse "": empty url'],
      ['hooks.example.com/flux', 'invalid hook URL hooks.example.com/flux: parse "hooks.example.com/flux": invalid URI for request'],
    ] as const) {
      const settings = resolveProviderSettings(provider({ address }), () => undefined);
      expect(() => providerDefinition('generic')!.parse(settings, { runtime })).toThrow(message);
    }
  });
});

describe('generic-hmac: signature', () => {
  it('signs the canonical body (spec example, key flux-hmac-secret)', async () => {
    const srv = await server();
    await deliver(provider({ type: 'generic-hmac', address: `${srv.url}/hooks/flux`, secretRef: { name: 'k' } }), [secret('k', { token: 'flux-hmac-secret' })]);
    const [req] = await srv.waitFor(1);
    expect(req!.text).toBe(CANONICAL_BODY);
    expect(req!.headers['x-signature']).toBe('sha256=e710aa7cf43b732f71e2ed1dd35db20abed72e6f57cefc4cd0a93fdb0f4f3d6a');
    expect(headerNames(req!.rawHeaders)).toEqual(['Content-Type', 'Gotk-Component', 'X-Signature']);
  });

  it('reproduces the fixture vector generic-hmac-upgrade-succeeded exactly', async () => {
    const expected = fixtureJson<{ headers: Record<string, string>; bodySha256: string; url: string; hmacKey: string }>('expected/generic-hmac-upgrade-succeeded.request.json');
    const body = fixtureText('expected/generic-hmac-upgrade-succeeded.body.json');
    const { objects } = parseManifests(fixtureText('manifests/provider-generic-hmac.yaml'), 'provider-generic-hmac.yaml');
    const p = objects.find((o) => o.kind === 'Provider') as Provider;
    const original = objects.find((o) => o.kind === 'Secret') as Secret;
    expect(original.data['address']!.toString()).toBe(expected.url);
    expect(original.data['token']!.toString()).toBe(expected.hmacKey);

    const srv = await server();
    // Same Secret, but its address (which overrides spec.address) points at the recording server.
    const s: Secret = { ...original, data: { ...original.data, address: Buffer.from(`${srv.url}${new URL(expected.url).pathname}`) } };
    await deliver(p, [s], decodeEvent(body));
    const [req] = await srv.waitFor(1);
    expect(req!.url).toBe('/flux');
    expect(createHash('sha256').update(req!.body).digest('hex')).toBe(expected.bodySha256);
    expect(req!.text).toBe(body);
    for (const [name, value] of Object.entries(expected.headers)) expect(req!.headers[name.toLowerCase()], name).toBe(value);
    expect(headerNames(req!.rawHeaders).at(-1)).toBe('X-Signature');
  });

  it('overwrites a user X-Signature with the real one (upstream vector 3)', async () => {
    const srv = await server();
    const event = decodeEvent('{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"message","reason":"reason","metadata":{"test":"metadata"},"reportingController":"source-controller","reportingInstance":"source-controller-xyz"}');
    await deliver(provider({ type: 'generic-hmac', address: srv.url, secretRef: { name: 'k' } }), [
      secret('k', { token: '7152fed34dd6149a7c75a276c510da27cb6f82b0', headers: 'Authorization: token\nx-signature: should be overwritten with actual signature' }),
    ], event);
    const [req] = await srv.waitFor(1);
    expect(req!.headers['x-signature']).toBe('sha256=65b018549b1254e7226d1c08f9567ee45bc9de0fc4e7b1a40253f9a018b08be7');
    expect(req!.headers['authorization']).toBe('token');
    expect(req!.headers['gotk-component']).toBe('source-controller');
    expect(headerNames(req!.rawHeaders).filter((n) => n.toLowerCase() === 'x-signature')).toHaveLength(1);
  });

  it('signs with the untrimmed key and refuses an empty one', () => {
    const parse = (token: string | undefined) => providerDefinition('generic-hmac')!.parse(resolveProviderSettings(
      provider({ type: 'generic-hmac', address: 'https://h.example', secretRef: { name: 'k' } }),
      () => secret('k', token === undefined ? {} : { token })), { runtime });
    expect(() => parse(undefined)).toThrow('HMAC key is empty');
    expect(() => parse('')).toThrow('HMAC key is empty');
    expect((parse('key\n') as { config: { hmacKey: Buffer } }).config.hmacKey.toString()).toBe('key\n');
  });
});

describe('generic: responses and retry classification', () => {
  it('treats 500 as retryable and 501 as final', async () => {
    const srv = await server({ respond: (_r, n) => ({ status: n === 0 ? 500 : 501, body: n === 0 ? 'boom' : 'nope' }) });
    const p = provider({ address: srv.url });
    const e500 = await deliveryError(p, []);
    expect(e500.message).toBe('postMessage failed: request failed with status code 500: boom');
    expect(e500.retryable).toBe(true);
    expect(e500.retryAfterMs).toBeUndefined();
    const e501 = await deliveryError(p, []);
    expect(e501.retryable).toBe(false);
  });

  it('parses Retry-After on 429 (seconds) and 503 (HTTP-date)', async () => {
    const later = new Date(Date.now() + 30_000).toUTCString();
    const srv = await server({ respond: (_r, n) => (n === 0 ? { status: 429, headers: { 'Retry-After': '7' } } : { status: 503, headers: { 'Retry-After': later } }) });
    const p = provider({ address: srv.url });
    const e429 = await deliveryError(p, []);
    expect([e429.retryable, e429.retryAfterMs]).toEqual([true, 7000]);
    const e503 = await deliveryError(p, []);
    expect(e503.retryable).toBe(true);
    expect(e503.retryAfterMs).toBeGreaterThan(27_000);
    expect(e503.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('fails 404 without retry and carries the response body', async () => {
    const srv = await server({ respond: () => ({ status: 404, body: '{"error":"no such hook"}' }) });
    const err = await deliveryError(provider({ address: `${srv.url}/missing` }), []);
    expect(err.retryable).toBe(false);
    expect(err.message).toBe('postMessage failed: request failed with status code 404: {"error":"no such hook"}');
  });

  it('accepts any 2xx, including 204', async () => {
    const srv = await server({ respond: () => ({ status: 204 }) });
    await deliver(provider({ address: srv.url }), []);
    expect(srv.requests).toHaveLength(1);
  });

  it('reuses one pooled connection across notifications (Flux dials anew each time)', async () => {
    const srv = await server();
    const p = provider({ address: srv.url });
    for (let i = 0; i < 5; i++) {
      await deliver(p, []);
      // Let undici mark the socket idle, as the gap between two real deliveries does.
      await new Promise((r) => setImmediate(r));
    }
    const reqs = await srv.waitFor(5);
    expect(new Set(reqs.map((r) => r.remotePort)).size).toBe(1);
  });
});

describe('generic: secrets stay out of errors', () => {
  it('masks token, header credentials and the Secret address in an error echoing them', async () => {
    const srv = await server({ respond: (r) => ({ status: 403, body: `denied ${r.headers['authorization']} key=s3cr3t-hmac-key url=${r.url}` }) });
    const p = provider({ type: 'generic-hmac', secretRef: { name: 'k' } });
    const s = secret('k', { token: 's3cr3t-hmac-key', address: `${srv.url}/hook/sig-abcdef`, headers: 'Authorization: Bearer api-key-123' });
    const err = await deliveryError(p, [s]);
    // The raw text is Flux's (it carries the body); the worker publishes only the masked form.
    expect(err.message).toContain('api-key-123');
    const settings = resolveProviderSettings(p, () => s);
    const masked = maskError(err.message, settings);
    for (const v of ['s3cr3t-hmac-key', 'api-key-123', 'sig-abcdef']) expect(masked).not.toContain(v);
    expect(masked).toMatch(/^postMessage failed: request failed with status code 403: denied /);
  });

  it('shows a URL password as xxxxx in transport errors and classifies refused connections as retryable', async () => {
    const closed = await startRecordingServer();
    const port = closed.port;
    await closed.close();
    const err = await deliveryError(provider({ address: `http://user:pa55word@127.0.0.1:${port}/x` }), []);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`postMessage failed: Post "http://user:xxxxx@127.0.0.1:${port}/x": `);
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).not.toContain('pa55word');
  });
});

describe('generic: TLS', () => {
  it('trusts a private CA only through the certSecretRef ca.crt', async () => {
    const pki = makeTestPki();
    const srv = await server({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    await deliver(provider({ address: `${srv.url}/tls`, certSecretRef: { name: 'ca' } }), [secret('ca', { 'ca.crt': pki.ca })]);
    expect((await srv.waitFor(1))[0]!.text).toBe(CANONICAL_BODY);

    const untrusted = await deliveryError(provider({ address: `${srv.url}/tls` }), []);
    expect(untrusted.retryable).toBe(false);
    expect(untrusted.message).toBe(`postMessage failed: Post "${srv.url}/tls": tls: failed to verify certificate: x509: certificate signed by unknown authority (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`);
    const wrongCa = await deliveryError(provider({ address: `${srv.url}/tls`, certSecretRef: { name: 'ca' } }), [secret('ca', { 'ca.crt': pki.otherCa })]);
    expect(wrongCa.retryable).toBe(false);
    expect(srv.requests).toHaveLength(1);
  });

  it('presents the client certificate to a server that requires one (mTLS)', async () => {
    const pki = makeTestPki();
    const srv = await server({ tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true } });
    await deliver(provider({ address: srv.url, certSecretRef: { name: 'mtls' } }), [
      secret('mtls', { 'ca.crt': pki.ca, 'tls.crt': pki.clientCert, 'tls.key': pki.clientKey }),
    ]);
    const [req] = await srv.waitFor(1);
    expect(req!.clientCertSubject).toBe('herald-client');

    const noClientCert = await deliveryError(provider({ address: srv.url, certSecretRef: { name: 'ca' } }), [secret('ca', { 'ca.crt': pki.ca })]);
    // Go retries this too: the server's rejection arrives as a remote error after the handshake.
    expect(noClientCert.message).toMatch(/^postMessage failed: Post "https:\/\/127\.0\.0\.1:\d+": /);
    expect(srv.requests).toHaveLength(1);
  });
});

describe('generic: proxies', () => {
  const basic = `Basic ${Buffer.from('proxy-user:proxy-pass').toString('base64')}`;

  it('forwards a plain-HTTP notification through the proxySecretRef proxy with its credentials', async () => {
    const proxy = await startProxy(basic);
    track(proxy);
    const srv = await server();
    const p = provider({ address: `${srv.url}/via-proxy`, proxy: 'http://127.0.0.1:1', proxySecretRef: { name: 'px' } });
    await deliver(p, [secret('px', { address: proxy.url, username: 'proxy-user', password: 'proxy-pass' })]);
    const [req] = await srv.waitFor(1);
    expect(req!.text).toBe(CANONICAL_BODY);
    expect(req!.headers['proxy-authorization']).toBeUndefined();
    expect(proxy.used).toEqual([{ method: 'POST', target: `${srv.url}/via-proxy`, auth: basic }]);
  });

  it('tunnels HTTPS through CONNECT, still verifying the target with the provider CA', async () => {
    const pki = makeTestPki();
    const proxy = await startProxy(basic);
    track(proxy);
    const srv = await server({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const p = provider({ address: `${srv.url}/tunnel`, proxySecretRef: { name: 'px' }, certSecretRef: { name: 'ca' } });
    await deliver(p, [secret('px', { address: proxy.url, username: 'proxy-user', password: 'proxy-pass' }), secret('ca', { 'ca.crt': pki.ca })]);
    expect((await srv.waitFor(1))[0]!.url).toBe('/tunnel');
    expect(proxy.used).toEqual([{ method: 'CONNECT', target: `127.0.0.1:${srv.port}`, auth: basic }]);
  });

  it('fails when the proxy refuses the credentials, without leaking the proxy password', async () => {
    const pki = makeTestPki();
    const proxy = await startProxy(basic);
    track(proxy);
    const srv = await server({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const p = provider({ address: srv.url, proxySecretRef: { name: 'px' }, certSecretRef: { name: 'ca' } });
    const secrets = [secret('px', { address: proxy.url, username: 'proxy-user', password: 'wrong-pass' }), secret('ca', { 'ca.crt': pki.ca })];
    const err = await deliveryError(p, secrets);
    expect(err.message).toContain('407');
    const settings = resolveProviderSettings(p, (_ns, name) => secrets.find((s) => s.metadata.name === name));
    expect(maskError(err.message, settings)).not.toContain('wrong-pass');
    expect(srv.requests).toHaveLength(0);
  });
});
