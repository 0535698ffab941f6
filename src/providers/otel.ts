// The `otel` provider (spec providers/otel.md): one span per event, exported as an OTLP/HTTP protobuf
// ExportTraceServiceRequest. A forwarding type (api/provider.ts files it with generic), hence here and not in incident/.
// The span is a ReadableSpan built by hand, so its trace id (Alert UID + revision) and flags are the spec's, and the
// OpenTelemetry JS serializer encodes it; the packages are loaded on the first send, not at startup.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FluxEvent } from '../api/event.js';
import { goQuote, GoUrlError, parseGoUrl, redactUrl } from '../go/url.js';
import { httpRequest } from './http/client.js';
import { statusError } from './http/errors.js';
import { basicAuth, mergeHeaders } from './http/headers.js';
import type { Transport } from './http/pool.js';
import { resolveTransport } from './http/provider.js';
import { sortedMetadata, summaryLabel } from './labels.js';
import { addressSource, maskedDeliveryError } from './errors.js';
import { ConfigError, defineProvider, DeliveryError, type Notification, type ParseContext, type ProviderSettings } from './types.js';
import type { Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** The instrumentation scope and resource schema Flux's notifier reports. */
export const OTEL_SCOPE = 'flux:notification-controller';
export const OTEL_SCHEMA_URL = 'https://opentelemetry.io/schemas/1.34.0';
const USER_AGENT = 'Herald OTLP Exporter/1.0.0';
/** Go's flags of a span under a remote parent: sampled (0x01), "has is-remote" (0x100), "parent is remote" (0x200). */
export const OTEL_SPAN_FLAGS = 0x301;

export interface OtelConfig {
  /** `<http|https>://<host>/<path>`: the address's query and fragment dropped, `/v1/traces` when it has no path. */
  url: string;
  /** Secret (or OTEL_EXPORTER_OTLP_*HEADERS) headers and the generated Authorization, Content-Type last. */
  headers: Record<string, string>;
  gzip: boolean;
  transport: Transport;
  /** Derived credentials (the Basic value, headers from the environment) masked out of every error. */
  sensitive: string[];
}

/** The exporter endpoint as Flux derives it from the address (spec Target). Throws Error with Go's parse text. */
export function otelEndpoint(address: string): string {
  const u = parseGoUrl(address);
  if (u.host === '') throw new Error('has no host');
  const scheme = u.scheme === 'https' ? 'https' : 'http';
  let path = u.path;
  if (path === '' || path === '.') path = '/v1/traces';
  else if (!path.startsWith('/')) path = `/${path}`;
  return `${scheme}://${u.host}${path}`;
}

/** `k1=v1,k2=v2` with percent-encoded keys and values, as the OTLP exporters read OTEL_EXPORTER_OTLP_HEADERS. */
export function parseOtlpEnvHeaders(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of (value ?? '').split(',')) {
    const eq = entry.indexOf('=');
    if (eq < 0) continue;
    try {
      const key = decodeURIComponent(entry.slice(0, eq).trim());
      if (key !== '') out[key] = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      // an entry that does not decode is skipped, as the Go exporter does
    }
  }
  return out;
}

const env = (traces: string, all: string): string | undefined => process.env[traces] ?? process.env[all];

/**
 * The Authorization header Flux adds: only when the Secret has headers and none of them is Authorization (compared
 * case-insensitively, where Flux compares exactly). Bearer with the token (or password) without a username; Basic
 * with a username and a non-empty token or password.
 */
export function otelAuthorization(settings: Pick<ProviderSettings, 'headers' | 'token' | 'password' | 'username'>): string | undefined {
  const names = Object.keys(settings.headers);
  if (names.length === 0 || names.some((k) => k.toLowerCase() === 'authorization')) return undefined;
  const p = settings.token !== '' ? settings.token : settings.password;
  if (settings.username === '') return `Bearer ${p}`;
  return p === '' ? undefined : `Basic ${basicAuth(settings.username, p)}`;
}

function parse(settings: ProviderSettings, ctx: ParseContext): OtelConfig {
  const provider = `provider ${settings.provider.metadata.namespace}/${settings.provider.metadata.name}`;
  const where = addressSource(settings);
  if (settings.address.trim() === '') throw new ConfigError(`${where}: the OTLP/HTTP traces endpoint cannot be empty`);
  let url: string;
  try {
    url = otelEndpoint(settings.address);
  } catch (err) {
    const cause = err instanceof GoUrlError ? `parse ${goQuote(redactUrl(settings.address))}: ${err.cause_}` : (err as Error).message;
    throw new ConfigError(`${where}: invalid OTLP/HTTP traces endpoint: ${cause}`);
  }
  if (settings.tls && !url.startsWith('https://')) {
    throw new ConfigError(`${provider}: insecure HTTP endpoint cannot use TLS client configuration (spec.certSecretRef needs an https address)`);
  }
  const sensitive: string[] = [];
  let headers = settings.headers;
  if (Object.keys(headers).length === 0) {
    headers = parseOtlpEnvHeaders(env('OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS'));
    sensitive.push(...Object.values(headers));
  }
  const authorization = otelAuthorization(settings);
  if (authorization !== undefined) sensitive.push(authorization, authorization.slice(authorization.indexOf(' ') + 1));
  const gzip = (env('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION') ?? '').trim().toLowerCase() === 'gzip';
  return {
    url,
    headers: mergeHeaders(
      { 'User-Agent': USER_AGENT },
      headers,
      authorization !== undefined ? { Authorization: authorization } : undefined,
      gzip ? { 'Content-Encoding': 'gzip' } : undefined,
      { 'Content-Type': 'application/x-protobuf' },
    ),
    gzip,
    transport: resolveTransport(settings, ctx),
    sensitive: sensitive.filter((s) => s.length > 0),
  };
}

/** `app-version@oci-digest` for an OCI Helm chart, else the `revision` metadata, else `unknown`. */
export function otelRevision(metadata: Record<string, string>): string {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(metadata, k);
  if (has('app-version') && has('oci-digest')) return `${metadata['app-version']}@${metadata['oci-digest']}`;
  return has('revision') ? metadata['revision']! : 'unknown';
}

/** The first 16 bytes of SHA-256(`<alert uid>:<revision>`), hex: every event of one Alert and revision shares it. */
export function otelTraceId(alertUid: string, revision: string): string {
  return createHash('sha256').update(`${alertUid}:${revision}`, 'utf8').digest('hex').slice(0, 32);
}

const hrTime = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/** The span attributes in the spec's order: the object's uid, kind, name, namespace, then the metadata (sorted). */
export function otelAttributes(e: FluxEvent): Attributes {
  const attrs: Attributes = {
    'object.uid': e.involvedObject.uid ?? '',
    'object.kind': e.involvedObject.kind,
    'object.name': e.involvedObject.name,
    'object.namespace': e.involvedObject.namespace,
  };
  for (const [k, v] of sortedMetadata(e)) attrs[k] = v;
  return attrs;
}

/** The ExportTraceServiceRequest of one notification, serialised with the OpenTelemetry JS protobuf serializer. */
export async function otelRequestBody(n: Notification, endMs: number = Date.now()): Promise<Uint8Array> {
  const [{ ProtobufTraceSerializer }, { detectResources, resourceAttributesEnvDetector, resourceFromAttributes }, api] = await Promise.all([
    import('@opentelemetry/otlp-transformer'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/api'),
  ]);
  const e = n.event;
  const traceId = otelTraceId(n.alert.uid, otelRevision(e.metadata));
  const spanContext: SpanContext = { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: api.TraceFlags.SAMPLED };
  // The remote parent of Flux's span has the trace id but no span id: no parent_span_id goes on the wire.
  const parentSpanContext: SpanContext = { traceId, spanId: '', traceFlags: api.TraceFlags.SAMPLED, isRemote: true };
  // OTEL_RESOURCE_ATTRIBUTES of the Herald process, under the three attributes that identify the Alert.
  const attributes: Attributes = {
    ...detectResources({ detectors: [resourceAttributesEnvDetector] }).attributes,
    'service.instance.id': n.alert.uid,
    'service.name': `${n.alert.namespace}/${n.alert.name}`,
    'service.namespace': n.alert.namespace,
  };
  const sorted = Object.fromEntries(Object.keys(attributes).sort().map((k) => [k, attributes[k]]));
  const startMs = e.timestamp !== null ? Date.parse(e.timestamp) : endMs;
  const startTime = hrTime(startMs);
  const endTime = hrTime(endMs);
  const span: ReadableSpan = {
    name: summaryLabel(e),
    kind: api.SpanKind.INTERNAL,
    spanContext: () => spanContext,
    parentSpanContext,
    startTime,
    endTime,
    duration: hrTime(Math.max(0, endMs - startMs)),
    ended: true,
    status: e.severity === 'error' ? { code: api.SpanStatusCode.ERROR, message: e.message } : { code: api.SpanStatusCode.OK },
    attributes: otelAttributes(e),
    links: [],
    events: [],
    resource: resourceFromAttributes(sorted, { schemaUrl: OTEL_SCHEMA_URL }),
    instrumentationScope: { name: OTEL_SCOPE },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
  const body = ProtobufTraceSerializer.serializeRequest([span]);
  if (body === undefined) throw new DeliveryError('traces export: the span could not be serialised', { retryable: false });
  return body;
}

export const OtelProvider = defineProvider<OtelConfig>({
  type: 'otel',
  category: 'forwarding',
  secretKeys: [],
  transport: { proxy: true, tls: true },
  parse,
  async send(n, config, ctx) {
    // Flux sends nothing for HelmRepository events.
    if (n.event.involvedObject.kind === 'HelmRepository') return;
    const raw = Buffer.from(await otelRequestBody(n));
    try {
      const res = await httpRequest(config.url, {
        method: 'POST',
        headers: config.headers,
        body: config.gzip ? gzipSync(raw) : raw,
        transport: config.transport,
        signal: ctx.signal,
        ignoreSuccessBody: true,
      });
      if (res.status < 200 || res.status >= 300) throw statusError(res);
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      throw maskedDeliveryError(err, config.sensitive, 'traces export: ');
    }
  },
  async close(config) {
    config.transport.release();
  },
});
