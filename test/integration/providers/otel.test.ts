// otel against a real local OTLP/HTTP endpoint: the protobuf body is decoded with the OTLP definitions
// (test/fixtures/otlp/trace.proto) and every field the spec lists is checked; Authorization rules, endpoint rules,
// the trace id derivation, skips, failures and masking.
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { FluxEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { maskError } from '../../../src/providers/masking.js';
import { otelEndpoint, otelRevision, otelTraceId, parseOtlpEnvHeaders } from '../../../src/providers/otel.js';
import { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { docExample } from '../../helpers/doc-example.js';
import { fixtureJson, fixturesDir } from '../../helpers/fixtures.js';
import {
  canonicalEvent, CANONICAL, deliverOnce, deliveryFailure, parseProvider, providerObject, secretObject, settingsFor, testRuntime,
} from '../../helpers/providers.js';
import { startRecordingServer, type RecordedRequest, type ScriptedResponse } from '../../helpers/recording-server.js';
import { makeTestPki } from '../../helpers/tls.js';

const track = closeAfterEach();
const runtime = testRuntime();

const root = protobuf.loadSync(path.join(fixturesDir, 'otlp', 'trace.proto'));
const ExportTraceServiceRequest = root.lookupType('otlp.ExportTraceServiceRequest');

interface Decoded {
  resourceSpans: {
    resource: { attributes: unknown[]; droppedAttributesCount?: number };
    scopeSpans: { scope: Record<string, unknown>; spans: Record<string, unknown>[]; schemaUrl?: string }[];
    schemaUrl?: string;
  }[];
}

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
const kv = (list: { key: string; value: Record<string, unknown> }[] = []) => list.map(({ key, value }) => ({ key, value }));

/** A decoded message without the empty repeated fields toObject lists (the wire has nothing for them). */
const withoutEmpty = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([, v]) => !(Array.isArray(v) && v.length === 0)));

/** The decoded request in the spec's OTLP/JSON shape: ids in hex, 64-bit times as decimal strings, empty fields left out. */
function otlpJson(body: Buffer): { json: unknown; raw: Decoded } {
  const raw = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { longs: String, defaults: false, arrays: true }) as Decoded;
  const json = {
    resourceSpans: raw.resourceSpans.map((rs) => ({
      resource: { attributes: kv(rs.resource.attributes as never) },
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: withoutEmpty(ss.scope),
        spans: ss.spans.map((s) => ({
          traceId: hex(s['traceId'] as Uint8Array),
          spanId: hex(s['spanId'] as Uint8Array),
          ...(hex(s['parentSpanId'] as Uint8Array) !== '' ? { parentSpanId: hex(s['parentSpanId'] as Uint8Array) } : {}),
          ...(s['traceState'] ? { traceState: s['traceState'] } : {}),
          flags: s['flags'],
          name: s['name'],
          kind: s['kind'],
          startTimeUnixNano: s['startTimeUnixNano'],
          endTimeUnixNano: s['endTimeUnixNano'],
          attributes: kv(s['attributes'] as never),
          ...((s['events'] as unknown[] | undefined)?.length ? { events: s['events'] } : {}),
          ...((s['links'] as unknown[] | undefined)?.length ? { links: s['links'] } : {}),
          status: s['status'],
        })),
      })),
      schemaUrl: rs.schemaUrl,
    })),
  };
  return { json, raw };
}

interface OtelVectors {
  error: { otlp: { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] } }[];
  info: OtelVectors['error'];
}
const vectors = fixtureJson<OtelVectors>('providers/otel.json');

const provider = (spec: Partial<ProviderSpec>) => providerObject('otel', spec);
const CANONICAL_SECRET = { token: 'otlp-token', headers: 'X-Scope-OrgID: flux\n' };

async function endpoint(respond?: (r: RecordedRequest, n: number) => ScriptedResponse) {
  return track(await startRecordingServer(respond ? { respond } : {}));
}

async function sendTo(spec: Partial<ProviderSpec>, secret: Record<string, string> | undefined, event: FluxEvent = canonicalEvent()) {
  const secrets: Secret[] = secret ? [secretObject('otel-secret', secret)] : [];
  const p = provider(secret ? { ...spec, secretRef: { name: 'otel-secret' } } : spec);
  return deliverOnce(runtime, p, secrets, event);
}

function parseError(spec: Partial<ProviderSpec>, secrets: Secret[] = []): ConfigError {
  try {
    parseProvider(runtime, provider(spec), secrets);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const ENV_KEYS = ['OTEL_RESOURCE_ATTRIBUTES', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_COMPRESSION'];
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

describe('otel: the span on the wire (spec Span model, canonical example)', () => {
  for (const severity of ['error', 'info'] as const) {
    it(`decodes to the spec's ExportTraceServiceRequest for the ${severity} event`, async () => {
      const srv = await endpoint();
      const before = BigInt(Date.now()) * 1_000_000n;
      await sendTo({ address: srv.url }, CANONICAL_SECRET, canonicalEvent(severity));
      const after = BigInt(Date.now()) * 1_000_000n;
      const [req] = await srv.waitFor(1);
      expect(req!.headers['content-type']).toBe('application/x-protobuf');
      expect(req!.headers['content-encoding']).toBeUndefined();
      const { json, raw } = otlpJson(req!.body);
      const span = (json as typeof vectors.error[0]['otlp']).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
      expect(span['spanId']).toMatch(/^[0-9a-f]{16}$/);
      expect(span['spanId']).not.toBe('0000000000000000');
      const end = BigInt(span['endTimeUnixNano'] as string);
      expect(end >= before && end <= after).toBe(true);
      const want = structuredClone(vectors[severity][0]!.otlp);
      const wantSpan = want.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
      wantSpan['spanId'] = span['spanId'];
      wantSpan['endTimeUnixNano'] = span['endTimeUnixNano'];
      expect(json).toEqual(want);
      // Nothing the spec leaves empty is sent: one resource, one scope, one span; no events, links, parent or drops.
      expect(raw.resourceSpans).toHaveLength(1);
      const s = raw.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
      expect(withoutEmpty(raw.resourceSpans[0]!.scopeSpans[0]!.scope)).toEqual({ name: 'flux:notification-controller' });
      expect([s['droppedAttributesCount'] ?? 0, s['droppedEventsCount'] ?? 0, s['droppedLinksCount'] ?? 0]).toEqual([0, 0, 0]);
      expect(s['parentSpanId'] === undefined || hex(s['parentSpanId'] as Uint8Array) === '').toBe(true);
    });
  }

  it('gives each span a new span id and every event of one Alert and revision the same trace id', async () => {
    const srv = await endpoint();
    await sendTo({ address: srv.url }, undefined, canonicalEvent('error'));
    await sendTo({ address: srv.url }, undefined, canonicalEvent('info'));
    const spans = (await srv.waitFor(2)).map((r) => (otlpJson(r.body).json as typeof vectors.error[0]['otlp']).resourceSpans[0]!.scopeSpans[0]!.spans[0]!);
    expect(spans[0]!['traceId']).toBe('516343973ca613b485c0aea6f4432ed1');
    expect(spans[1]!['traceId']).toBe(spans[0]!['traceId']);
    expect(spans[1]!['spanId']).not.toBe(spans[0]!['spanId']);
  });

  it('derives the trace id from the Alert UID and app-version@oci-digest for OCI Helm charts, revision otherwise, else unknown', () => {
    expect(otelTraceId(CANONICAL.alert.uid, 'main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567')).toBe('516343973ca613b485c0aea6f4432ed1');
    expect(otelRevision({ 'app-version': '1.2.3', 'oci-digest': 'sha256:abc', revision: '4.5.6' })).toBe('1.2.3@sha256:abc');
    expect(otelRevision({ 'app-version': '1.2.3', revision: '4.5.6' })).toBe('4.5.6');
    expect(otelRevision({ 'oci-digest': 'sha256:abc' })).toBe('unknown');
    expect(otelRevision({})).toBe('unknown');
    expect(otelRevision({ 'app-version': '', 'oci-digest': '' })).toBe('@');
  });

  it('puts the OCI digest into the trace id of a Helm release event on the wire', async () => {
    const srv = await endpoint();
    const e = canonicalEvent('info');
    e.involvedObject = { kind: 'HelmRelease', namespace: 'apps', name: 'podinfo' };
    e.metadata = { 'app-version': '6.7.0', 'oci-digest': 'sha256:0123', revision: '6.7.0+0123' };
    await sendTo({ address: srv.url }, undefined, e);
    const [req] = await srv.waitFor(1);
    const span = (otlpJson(req!.body).json as typeof vectors.error[0]['otlp']).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span['traceId']).toBe(otelTraceId(CANONICAL.alert.uid, '6.7.0@sha256:0123'));
    expect(span['name']).toBe('HelmRelease: apps/podinfo');
    expect(span['attributes']).toEqual([
      { key: 'object.uid', value: { stringValue: '' } },
      { key: 'object.kind', value: { stringValue: 'HelmRelease' } },
      { key: 'object.name', value: { stringValue: 'podinfo' } },
      { key: 'object.namespace', value: { stringValue: 'apps' } },
      { key: 'app-version', value: { stringValue: '6.7.0' } },
      { key: 'oci-digest', value: { stringValue: 'sha256:0123' } },
      { key: 'revision', value: { stringValue: '6.7.0+0123' } },
    ]);
  });

  it('lets a metadata key named like an object attribute overwrite it', async () => {
    const srv = await endpoint();
    const e = canonicalEvent('info');
    e.metadata = { 'object.kind': 'Other' };
    await sendTo({ address: srv.url }, undefined, e);
    const [req] = await srv.waitFor(1);
    const span = (otlpJson(req!.body).json as typeof vectors.error[0]['otlp']).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    const attrs = span['attributes'] as { key: string; value: { stringValue: string } }[];
    expect(attrs.filter((a) => a.key === 'object.kind')).toEqual([{ key: 'object.kind', value: { stringValue: 'Other' } }]);
  });

  it('starts the span at the time of sending when the event has no timestamp', async () => {
    const srv = await endpoint();
    const e = canonicalEvent('info');
    e.timestamp = null;
    const before = BigInt(Date.now()) * 1_000_000n;
    await sendTo({ address: srv.url }, undefined, e);
    const [req] = await srv.waitFor(1);
    const span = (otlpJson(req!.body).json as typeof vectors.error[0]['otlp']).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(BigInt(span['startTimeUnixNano'] as string) >= before).toBe(true);
    expect(span['startTimeUnixNano']).toBe(span['endTimeUnixNano']);
  });

  it('adds OTEL_RESOURCE_ATTRIBUTES of the Herald process to the resource, sorted, under the three Alert attributes', async () => {
    process.env['OTEL_RESOURCE_ATTRIBUTES'] = 'k8s.cluster.name=prod-eu,service.name=ignored,deployment.environment=prod';
    const srv = await endpoint();
    await sendTo({ address: srv.url }, undefined);
    const [req] = await srv.waitFor(1);
    const json = otlpJson(req!.body).json as { resourceSpans: { resource: { attributes: unknown[] } }[] };
    expect(json.resourceSpans[0]!.resource.attributes).toEqual([
      { key: 'deployment.environment', value: { stringValue: 'prod' } },
      { key: 'k8s.cluster.name', value: { stringValue: 'prod-eu' } },
      { key: 'service.instance.id', value: { stringValue: CANONICAL.alert.uid } },
      { key: 'service.name', value: { stringValue: 'apps/webapp-alerts' } },
      { key: 'service.namespace', value: { stringValue: 'apps' } },
    ]);
  });

  it('sends nothing for HelmRepository events', async () => {
    const srv = await endpoint();
    const e = canonicalEvent('error');
    e.involvedObject = { kind: 'HelmRepository', namespace: 'flux-system', name: 'podinfo' };
    await sendTo({ address: srv.url }, CANONICAL_SECRET, e);
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.requests).toHaveLength(0);
  });

  it('carries the strings of Flux\'s upstream vector (GitRepository gitops-system/webapp, no auth, no path)', async () => {
    const srv = await endpoint();
    const e = canonicalEvent('info');
    e.involvedObject = { kind: 'GitRepository', namespace: 'gitops-system', name: 'webapp' };
    e.metadata = { test: 'metadata', cluster: 'my-cluster', region: 'us-east-2', env: 'prod' };
    const p = providerObject('otel', { address: srv.url }, { name: 'test-provider' });
    await deliverOnce(runtime, p, [], e);
    const reqs = await srv.waitFor(1);
    expect(reqs).toHaveLength(1);
    expect(reqs[0]!.method).toBe('POST');
    expect(reqs[0]!.headers['content-type']).toContain('application/x-protobuf');
    expect(reqs[0]!.headers['authorization']).toBeUndefined();
    const text = reqs[0]!.body.toString('latin1');
    for (const s of ['webapp', 'GitRepository', 'gitops-system', 'my-cluster', 'us-east-2', 'prod']) expect(text).toContain(s);
  });
});

describe('otel: Authorization (spec Authentication)', () => {
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  const cases: [string, Partial<ProviderSpec>, Record<string, string> | undefined, string | undefined][] = [
    ['no Secret', {}, undefined, undefined],
    ['a token but no headers key', {}, { token: 'tok' }, undefined],
    ['headers and a token', {}, { token: 'tok', headers: 'X-A: 1' }, 'Bearer tok'],
    ['headers, token wins over password', {}, { token: 'tok', username: '', password: 'pw', headers: 'X-A: 1' }, 'Bearer tok'],
    ['headers and nothing else: an empty Bearer', {}, { headers: 'X-A: 1' }, 'Bearer'],
    ['headers, username and password', {}, { username: 'u', password: 'pw', headers: 'X-A: 1' }, basic('u', 'pw')],
    ['headers, spec.username and a token', { username: 'u' }, { token: 'tok', headers: 'X-A: 1' }, basic('u', 'tok')],
    ['headers, a username and no password or token', {}, { username: 'u', password: '', headers: 'X-A: 1' }, undefined],
    ['headers with their own Authorization', {}, { token: 'tok', headers: 'Authorization: Custom abc' }, 'Custom abc'],
    ['headers with authorization in another case', {}, { token: 'tok', headers: 'authorization: Custom abc' }, 'Custom abc'],
  ];
  it.each(cases)('%s', async (_name, spec, secret, want) => {
    const srv = await endpoint();
    await sendTo({ address: srv.url, ...spec }, secret);
    const [req] = await srv.waitFor(1);
    // undici sends `Bearer` with its trailing space trimmed, as Go's client does.
    expect(req!.headers['authorization']?.trim()).toBe(want);
    expect(req!.headers['content-type']).toBe('application/x-protobuf');
  });

  it('sends the Secret headers, but Content-Type stays application/x-protobuf', async () => {
    const srv = await endpoint();
    await sendTo({ address: srv.url }, { headers: 'Content-Type: text/plain\nX-Scope-OrgID: flux' });
    const [req] = await srv.waitFor(1);
    expect(req!.headers['content-type']).toBe('application/x-protobuf');
    expect(req!.headers['x-scope-orgid']).toBe('flux');
  });

  it('uses OTEL_EXPORTER_OTLP_(TRACES_)HEADERS and gzip compression from the environment when the Secret has no headers', async () => {
    process.env['OTEL_EXPORTER_OTLP_HEADERS'] = 'x-all=1';
    process.env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'] = 'x-tenant=team%20a, x-key = v=1';
    process.env['OTEL_EXPORTER_OTLP_COMPRESSION'] = 'gzip';
    const srv = await endpoint();
    await sendTo({ address: srv.url }, undefined);
    await sendTo({ address: srv.url }, { headers: 'X-Secret: s' });
    const [fromEnv, fromSecret] = await srv.waitFor(2);
    expect(fromEnv!.headers['x-tenant']).toBe('team a');
    expect(fromEnv!.headers['x-key']).toBe('v=1');
    expect(fromEnv!.headers['x-all']).toBeUndefined();
    expect(fromEnv!.headers['content-encoding']).toBe('gzip');
    const json = otlpJson(gunzipSync(fromEnv!.body)).json as typeof vectors.error[0]['otlp'];
    expect(json.resourceSpans[0]!.scopeSpans[0]!.spans[0]!['name']).toBe('Kustomization: apps/webapp');
    expect(fromSecret!.headers['x-tenant']).toBeUndefined();
    expect(fromSecret!.headers['x-secret']).toBe('s');
    expect(parseOtlpEnvHeaders('a=1,bad,=x,b=%zz,c = 3 ')).toEqual({ a: '1', c: '3' });
  });
});

describe('otel: endpoint and configuration (spec Target, Validation)', () => {
  it.each([
    ['https://collector.example.com', 'https://collector.example.com/v1/traces'],
    ['http://collector:4318/custom', 'http://collector:4318/custom'],
    ['http://collector:4318/', 'http://collector:4318/'],
    ['grpc://collector:4317', 'http://collector:4317/v1/traces'],
    ['https://collector/v1/traces?x=1#frag', 'https://collector/v1/traces'],
    ['https://user:pw@collector/otlp', 'https://collector/otlp'],
  ])('%s -> %s', (address, want) => {
    expect(otelEndpoint(address)).toBe(want);
  });

  it('posts to the address path verbatim, dropping its query', async () => {
    const srv = await endpoint();
    await sendTo({ address: `${srv.url}/otlp/v1/traces?tenant=a` }, undefined);
    const [req] = await srv.waitFor(1);
    expect(req!.url).toBe('/otlp/v1/traces');
  });

  it('refuses certSecretRef with a non-https address, naming the Provider', () => {
    const pki = makeTestPki();
    const err = parseError({ address: 'http://collector:4318', certSecretRef: { name: 'otel-ca' } }, [secretObject('otel-ca', { 'ca.crt': pki.ca })]);
    expect(err.message).toBe('provider apps/ops: insecure HTTP endpoint cannot use TLS client configuration (spec.certSecretRef needs an https address)');
  });

  it('refuses an empty address and one that does not parse, naming where it came from and hiding a password', () => {
    expect(parseError({}).message).toBe('provider apps/ops: spec.address: the OTLP/HTTP traces endpoint cannot be empty');
    const err = parseError({ address: 'ignored', secretRef: { name: 'otel-secret' } }, [secretObject('otel-secret', { address: 'https://u:hunter22@col lector/v1' })]);
    expect(err.message).toMatch(/^provider apps\/ops: secret apps\/otel-secret key 'address': invalid OTLP\/HTTP traces endpoint: parse /);
    expect(err.message).not.toContain('hunter22');
    expect(parseError({ address: '/v1/traces' }).message).toBe('provider apps/ops: spec.address: invalid OTLP/HTTP traces endpoint: has no host');
  });
});

describe('otel: failures are failed deliveries', () => {
  it('classifies the answer as Flux does and keeps a Basic credential out of the error even when echoed', async () => {
    const srv = await endpoint((r) => ({ status: 400, body: `echo ${JSON.stringify(r.headers)}` }));
    const secret = { username: 'otel-user', password: 'otel-password-1', headers: 'X-A: 1' };
    const p = provider({ address: srv.url, secretRef: { name: 'otel-secret' } });
    const secrets = [secretObject('otel-secret', secret)];
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets));
    expect(err.retryable).toBe(false);
    expect(err.reason).toBe('client');
    expect(err.message).toMatch(/^traces export: request failed with status code 400: echo /);
    const basicValue = Buffer.from('otel-user:otel-password-1').toString('base64');
    expect(err.message).not.toContain(basicValue);
    const masked = maskError(err.message, settingsFor(p, secrets));
    expect(masked).not.toContain('otel-password-1');
  });

  it('fails retryably when the collector is unreachable', async () => {
    const srv = await endpoint();
    const url = srv.url;
    await srv.close();
    const err = await deliveryFailure(sendTo({ address: url }, undefined));
    expect(err.retryable).toBe(true);
    expect(err.reason).toBe('transport');
    expect(err.message).toMatch(/^traces export: Post "http:\/\/127\.0\.0\.1:\d+\/v1\/traces": /);
  });
});

describe('otel: docs/providers/otel.md', () => {
  it('has a working example: the Provider and Secret parse and give the endpoint and Authorization', async () => {
    const { provider: p, secrets, problems } = docExample('otel');
    expect(problems).toEqual([]);
    const { config } = parseProvider(runtime, p, secrets) as { config: { url: string; headers: Record<string, string> } };
    expect(config.url).toBe('https://otel-collector.observability:4318/v1/traces');
    expect(config.headers['Authorization']).toBe('Bearer otlp-token');
    expect(config.headers['X-Scope-Orgid']).toBe('flux');
    const srv = await endpoint();
    await deliverOnce(runtime, { ...p, spec: { ...p.spec, address: srv.url } }, secrets, canonicalEvent('error'));
    const [req] = await srv.waitFor(1);
    expect(req!.headers['authorization']).toBe('Bearer otlp-token');
  });
});
