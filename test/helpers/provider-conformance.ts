// The provider conformance suite: what every provider type is held to, run first by each provider's test file.
//
//   describeProviderConformance({ type: 'slack', target: (url) => ({ spec: { address: `${url}/hook` } }), vectors: 'slack' });
//
// It checks, against real local HTTP(S) servers and a real proxy:
//   - the definition: category as Flux files the type, Secret keys, transport support, registered;
//   - the spec's canonical error and info notifications produce the spec's requests (test/fixtures/providers/<type>.json);
//   - Flux's status table: 2xx delivers, 429 and 5xx except 501 are retried (Retry-After honoured), others are final;
//   - an attempt past its deadline fails as a timeout;
//   - no Secret value survives masking in the error of a failed delivery, even when the endpoint echoes the request;
//   - proxySecretRef and certSecretRef (CA, mutual TLS) are honoured where the type declares them;
//   - every fixture event either sends or fails with a typed error.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEvent, type FluxEvent } from '../../src/api/event.js';
import { PROVIDER_CATEGORY, type ProviderSpec, type ProviderType } from '../../src/api/provider.js';
import type { Secret } from '../../src/api/secret.js';
import { maskError } from '../../src/providers/masking.js';
import { providerDefinition, sensitiveSecretKeys } from '../../src/providers/registry.js';
import { ConfigError, DeliveryError } from '../../src/providers/types.js';
import { cleanMetadata, mergeMetadata, removeInternalMetadata } from '../../src/routing/metadata.js';
import { closeAfterEach } from './cleanup.js';
import { fixtureJson, fixturesDir, fixtureText } from './fixtures.js';
import {
  canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, settingsFor, testRuntime,
} from './providers.js';
import { startProxy } from './proxy.js';
import { startRecordingServer, type RecordedRequest, type RecordingServer, type ScriptedResponse } from './recording-server.js';
import { makeTestPki } from './tls.js';

/** How a type is pointed at a test endpoint. */
export interface ConformanceSetup {
  /** Provider spec fields (type is added); a `secretRef` is added when `secret` is given. */
  spec: Partial<ProviderSpec>;
  /** Data of the Provider's secretRef Secret. */
  secret?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The Secret values that are credentials: every sensitive key's, and a Secret `address` (webhook URLs carry keys). */
export function credentialValues(secret: Record<string, string> | undefined): string[] {
  const keys = new Set([...sensitiveSecretKeys(), 'address']);
  return Object.entries(secret ?? {}).filter(([k, v]) => keys.has(k) && v.trim().length >= 4).map(([, v]) => v.trim());
}

/** One expected request of a vector file. Header names lower-case; only the listed headers are compared. */
export interface ExpectedRequest {
  method: string;
  /** Path and query as sent on the request line. */
  path: string;
  headers?: Record<string, string>;
  /** Exact body bytes (UTF-8). */
  body?: string;
  /** Or a body compared as parsed JSON, where the spec gives the payload but not its bytes. */
  json?: unknown;
  /** Or a form body compared as key/value pairs. */
  form?: Record<string, string>;
}

/** test/fixtures/providers/<type>.json: the requests the canonical error and info notifications produce, in order. */
export interface ProviderVectors {
  /** Where the vectors come from (the spec file and section). */
  source: string;
  error: ExpectedRequest[];
  info: ExpectedRequest[];
}

export interface ConformanceOptions {
  type: ProviderType;
  /** Points the type at `url` (a recording server, `http://127.0.0.1:port` or `https://localhost:port`). */
  target(url: string): ConformanceSetup;
  /** The vector file under test/fixtures/providers/ (without .json), or false where the spec gives none. */
  vectors: string | false;
  /** A healthy endpoint's answer to the n-th request of one notification (default 200 with `{}`). */
  ok?: (req: RecordedRequest, n: number) => ScriptedResponse;
  /** For commit-status types: the notification's commit-status id. */
  commitStatusId?: string;
  /** The events of the canonical vectors (default: the spec's canonical provider input, error and info). */
  events?: { error: FluxEvent; info: FluxEvent };
  /** Which requests of one notification answer with the status under test (default all). */
  statusAppliesTo?: (req: RecordedRequest, n: number) => boolean;
  /**
   * For a type whose endpoint is a fixed public HTTPS host (telegram's api.telegram.org), reached in tests through a
   * CONNECT proxy that routes the host to loopback: the recording servers speak TLS with this certificate (valid for
   * that host and trusted by the test), `target(url)` gets their URL to route to, and the suite's proxySecretRef proxy
   * routes every CONNECT to the recording server.
   */
  fixedHost?: { tls: { key: string; cert: string } };
}

/** Every fixture event as a provider receives it: cleaned, internal keys removed, metadata merged for the canonical Alert. */
export function fixtureProviderInputs(): { file: string; event: FluxEvent }[] {
  const dir = path.join(fixturesDir, 'events');
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((file) => {
    const event = removeInternalMetadata(cleanMetadata(decodeEvent(fixtureText(`events/${file}`))));
    event.metadata = mergeMetadata(event, { eventMetadata: { cluster: 'prod-eu', summary: 'Production cluster' } }).metadata;
    return { file, event };
  });
}

/** `${URL}` in a vector stands for the test endpoint's base URL (addresses echoed in bodies, such as a status `url`). */
function withUrl<T>(value: T, url: string): T {
  return JSON.parse(JSON.stringify(value).replaceAll('${URL}', url)) as T;
}

function checkRequest(got: RecordedRequest | undefined, want: ExpectedRequest, label: string): void {
  expect(got, `${label}: request missing`).toBeDefined();
  const r = got!;
  expect(`${r.method} ${r.url}`, `${label}: request line`).toBe(`${want.method} ${want.path}`);
  for (const [name, value] of Object.entries(want.headers ?? {})) {
    expect(r.headers[name.toLowerCase()], `${label}: header ${name}`).toBe(value);
  }
  if (want.body !== undefined) expect(r.text, `${label}: body bytes`).toBe(want.body);
  if (want.json !== undefined) expect(JSON.parse(r.text), `${label}: JSON body`).toEqual(want.json);
  if (want.form !== undefined) expect(Object.fromEntries(new URLSearchParams(r.text)), `${label}: form body`).toEqual(want.form);
}

const ERROR_STATUSES: [number, boolean][] = [
  [400, false], [401, false], [403, false], [404, false], [422, false], [501, false],
  [429, true], [500, true], [502, true], [503, true], [504, true],
];

function itIsRegistered(type: ProviderType): void {
  it('is registered with the category Flux gives it, and declares its Secret keys and transport', () => {
    const def = providerDefinition(type);
    expect(def, `${type} has a definition in registry.ts`).toBeDefined();
    expect(def!.type).toBe(type);
    expect(def!.category).toBe(PROVIDER_CATEGORY[type]);
    for (const k of def!.secretKeys) expect(typeof k.sensitive).toBe('boolean');
    expect(Object.keys(def!.transport).sort()).toEqual(['proxy', 'tls']);
  });
}

/** A non-HTTP endpoint (a message bus) for the parts of the suite that do not depend on HTTP. */
export interface BusEndpoint {
  setup: ConformanceSetup;
  /** Messages the endpoint has received so far. */
  received(): number;
  close(): Promise<void>;
}

/**
 * The conformance checks for a type that does not speak HTTP (nats, googlepubsub, azureeventhub): registration,
 * every fixture event delivered or failed with a typed error, and an unreachable endpoint failing with a typed,
 * retryable error whose text holds no Secret value once masked.
 */
export function describeBusConformance(opts: { type: ProviderType; endpoint(): Promise<BusEndpoint>; unreachable: ConformanceSetup }): void {
  const runtime = testRuntime();
  const objectsFor = (setup: ConformanceSetup) => {
    const secrets: Secret[] = [];
    const spec: Partial<ProviderSpec> = { ...setup.spec };
    if (setup.secret) {
      spec.secretRef = { name: `${opts.type}-secret` };
      secrets.push(secretObject(spec.secretRef.name, setup.secret));
    }
    return { provider: providerObject(opts.type, spec, setup.annotations ? { annotations: setup.annotations } : {}), secrets };
  };

  describe(`${opts.type}: provider conformance`, () => {
    itIsRegistered(opts.type);

    it('delivers every fixture event or fails it with a typed error', async () => {
      const endpoint = await opts.endpoint();
      try {
        const { provider, secrets } = objectsFor(endpoint.setup);
        let sent = 0;
        for (const { file, event } of fixtureProviderInputs()) {
          try {
            await deliverOnce(runtime, provider, secrets, event);
            sent++;
          } catch (err) {
            expect(err instanceof DeliveryError || err instanceof ConfigError, `${file}: ${String(err)}`).toBe(true);
          }
        }
        expect(sent).toBeGreaterThan(0);
        for (let i = 0; i < 50 && endpoint.received() < sent; i++) await new Promise((r) => setTimeout(r, 20));
        expect(endpoint.received()).toBe(sent);
      } finally {
        await endpoint.close();
      }
    });

    it('fails against an unreachable endpoint with a typed, retryable error that holds no Secret value', async () => {
      const { provider, secrets } = objectsFor(opts.unreachable);
      const err = await deliveryFailure(deliverOnce(runtime, provider, secrets, canonicalEvent(), { timeoutMs: 1500 }));
      const message = maskError(err.message, settingsFor(provider, secrets));
      for (const value of credentialValues(opts.unreachable.secret)) expect(message).not.toContain(value);
      expect(err.reason === 'timeout' || err.retryable).toBe(true);
    });
  });
}

/** Registers the conformance tests for one provider type in the calling test file. */
export function describeProviderConformance(opts: ConformanceOptions): void {
  const track = closeAfterEach();
  const runtime = testRuntime();
  const def = providerDefinition(opts.type);
  const events = opts.events ?? { error: canonicalEvent('error'), info: canonicalEvent('info') };
  const ok = opts.ok ?? (() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' }));
  const applies = opts.statusAppliesTo ?? (() => true);
  const serverTls = opts.fixedHost ? { tls: opts.fixedHost.tls } : {};

  function objects(url: string, extra: Partial<ProviderSpec> = {}, extraSecrets: Secret[] = []) {
    const setup = opts.target(url);
    const secrets = [...extraSecrets];
    const spec: Partial<ProviderSpec> = { ...setup.spec, ...extra };
    if (setup.secret) {
      spec.secretRef = { name: `${opts.type.replace(/\./g, '-')}-secret` };
      secrets.push(secretObject(spec.secretRef.name, setup.secret));
    }
    const provider = providerObject(opts.type, spec, setup.annotations ? { annotations: setup.annotations } : {});
    return { provider, secrets, secretValues: credentialValues(setup.secret) };
  }

  const send = (url: string, event: FluxEvent, more: { spec?: Partial<ProviderSpec>; secrets?: Secret[]; timeoutMs?: number } = {}) => {
    const { provider, secrets } = objects(url, more.spec, more.secrets);
    return deliverOnce(runtime, provider, secrets, event, {
      ...(more.timeoutMs !== undefined ? { timeoutMs: more.timeoutMs } : {}),
      ...(opts.commitStatusId !== undefined ? { commitStatusId: opts.commitStatusId } : {}),
    });
  };

  describe(`${opts.type}: provider conformance`, () => {
    itIsRegistered(opts.type);

    if (opts.vectors !== false) {
      const vectors = fixtureJson<ProviderVectors>(`providers/${opts.vectors}.json`);
      for (const severity of ['error', 'info'] as const) {
        it(`sends the spec's canonical ${severity} request (${vectors.source})`, async () => {
          const srv = track(await startRecordingServer({ ...serverTls, respond: ok }));
          await send(srv.url, events[severity]);
          const expected = withUrl(vectors[severity], srv.url);
          expect(srv.requests.map((r) => `${r.method} ${r.url}`)).toEqual(expected.map((w) => `${w.method} ${w.path}`));
          expected.forEach((want, i) => checkRequest(srv.requests[i], want, `${severity} request ${i + 1}`));
        });
      }
    }

    it.each(ERROR_STATUSES)('classifies status %i as Flux does (retryable: %s)', async (status, retryable) => {
      const srv = track(await startRecordingServer({
        ...serverTls,
        respond: (r, n) => (applies(r, n) ? { status, body: `status ${status}` } : ok(r, n)),
      }));
      const err = await deliveryFailure(send(srv.url, events.error));
      expect(err.retryable).toBe(retryable);
      expect(err.reason).toBe(status === 401 || status === 403 ? 'auth' : status === 429 ? 'rate-limited' : status >= 500 ? 'server' : 'client');
    });

    it('honours Retry-After on 429 and 503', async () => {
      for (const status of [429, 503]) {
        const srv = track(await startRecordingServer({
          ...serverTls,
          respond: (r, n) => (applies(r, n) ? { status, headers: { 'Retry-After': '7' }, body: 'slow down' } : ok(r, n)),
        }));
        const err = await deliveryFailure(send(srv.url, events.error));
        expect([err.retryable, err.retryAfterMs]).toEqual([true, 7000]);
      }
    });

    it('delivers on 200, 201, 202 and 204', async () => {
      for (const status of [200, 201, 202, 204]) {
        const srv = track(await startRecordingServer({
          ...serverTls,
          respond: (r, n) => {
            const base = ok(r, n);
            return applies(r, n) && base.status >= 200 && base.status < 300 ? { ...base, status, ...(status === 204 ? { body: '' } : {}) } : base;
          },
        }));
        await send(srv.url, events.error);
        expect(srv.requests.length).toBeGreaterThan(0);
      }
    });

    it('reports an attempt that runs past its deadline as a timeout', async () => {
      const srv = track(await startRecordingServer({ ...serverTls, respond: () => new Promise<ScriptedResponse>(() => undefined) }));
      const started = Date.now();
      const err = await deliveryFailure(send(srv.url, events.error, { timeoutMs: 300 }));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(err.reason).toBe('timeout');
      expect(err.message).toContain('context deadline exceeded');
    });

    it('keeps every Secret value out of the error, even when the endpoint echoes the request back', async () => {
      const srv = track(await startRecordingServer({
        ...serverTls,
        respond: (r) => ({ status: 400, body: `echo ${r.url} ${JSON.stringify(r.headers)} ${r.text}` }),
      }));
      const { provider, secrets, secretValues } = objects(srv.url);
      let message = '';
      try {
        await deliverOnce(runtime, provider, secrets, events.error, opts.commitStatusId !== undefined ? { commitStatusId: opts.commitStatusId } : {});
        throw new Error('expected the delivery to fail');
      } catch (err) {
        expect(err).toBeInstanceOf(DeliveryError);
        const settings = settingsFor(provider, secrets);
        message = maskError((err as Error).message, settings);
      }
      expect(secretValues.length > 0 || !opts.target('http://x').secret).toBe(true);
      for (const value of secretValues) expect(message).not.toContain(value);
    });

    if (def?.transport.proxy) {
      it('goes through the proxySecretRef proxy with its credentials', async () => {
        const basic = `Basic ${Buffer.from('px-user:px-pass').toString('base64')}`;
        const srv = track(await startRecordingServer({ ...serverTls, respond: ok }));
        const proxy = track(await startProxy(basic, opts.fixedHost ? { route: () => ({ host: '127.0.0.1', port: srv.port }) } : {}));
        const px = secretObject('conformance-proxy', { address: proxy.url, username: 'px-user', password: 'px-pass' });
        await send(srv.url, events.error, { spec: { proxySecretRef: { name: 'conformance-proxy' } }, secrets: [px] });
        expect(proxy.used.length).toBeGreaterThan(0);
        expect(proxy.used.every((u) => u.auth === basic)).toBe(true);
        expect(srv.requests.length).toBeGreaterThan(0);
      });
    }

    if (def?.transport.tls) {
      it('verifies HTTPS with the certSecretRef CA only, and presents its client certificate (mutual TLS)', async () => {
        const pki = makeTestPki();
        const srv = track(await startRecordingServer({ tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true }, respond: ok }));
        const url = srv.url.replace('127.0.0.1', 'localhost');
        const mtls = secretObject('conformance-tls', { 'ca.crt': pki.ca, 'tls.crt': pki.clientCert, 'tls.key': pki.clientKey });
        await send(url, events.error, { spec: { certSecretRef: { name: 'conformance-tls' } }, secrets: [mtls] });
        expect(srv.requests[0]?.clientCertSubject).toBe('herald-client');

        const other = secretObject('conformance-other-ca', { 'ca.crt': pki.otherCa });
        const untrusted = await deliveryFailure(send(url, events.error, { spec: { certSecretRef: { name: 'conformance-other-ca' } }, secrets: [other] }));
        expect(untrusted.retryable).toBe(false);
        expect(untrusted.message).toContain('tls: failed to verify certificate');
      });
    }

    it('sends every fixture event or fails it with a typed error', async () => {
      const srv = track(await startRecordingServer({ ...serverTls, respond: ok }));
      for (const { file, event } of fixtureProviderInputs()) {
        try {
          await send(srv.url, event);
        } catch (err) {
          expect(err instanceof DeliveryError || err instanceof ConfigError, `${file}: ${String(err)}`).toBe(true);
        }
      }
    });
  });
}
