// The `sentry` provider (spec providers/sentry.md): error events, and for info a transaction with one span, posted as
// one envelope to the DSN's project. Each Provider has its own DSN, so there is no process-wide SDK client: the
// envelope (header line, item header line, payload line) is built here per notification.
import { renderedText } from '../rendered.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { compareBytes, type FluxEvent } from '../../api/event.js';
import { goHostPort, goQuote, GoUrlError, parseGoUrl, redactUrl } from '../../go/url.js';
import { addressSource, maskedDeliveryError } from '../errors.js';
import { defineHttpProvider, type HttpExchange, type HttpProviderConfig } from '../http/provider.js';
import { summaryLabel, sortedMetadata } from '../labels.js';
import { ConfigError, DeliveryError, type Notification, type ProviderDefinition, type ProviderSettings } from '../types.js';

/** The client Herald reports to Sentry (the spec allows a re-implementation its own name and version). */
export const SENTRY_SDK = { name: 'herald.sentry', version: '1.0.0' } as const;
const SENTRY_CLIENT = `${SENTRY_SDK.name}/${SENTRY_SDK.version}`;

/** A DSN split as sentry-go's NewDsn does. */
export interface SentryDsn {
  /** The DSN as configured (the envelope header repeats it). */
  dsn: string;
  publicKey: string;
  /** Legacy DSNs carry a secret key after the public one; '' when absent. */
  secretKey: string;
  /** `<scheme>://<host>[:<port>]<path prefix>/api/<project>/envelope/`, the default port omitted. */
  endpoint: string;
  projectId: string;
}

export interface SentryConfig {
  dsn: SentryDsn;
  /** `spec.channel`, else the SENTRY_ENVIRONMENT variable Herald runs with, else '' (not sent). */
  environment: string;
  /** This host's name: sentry-go's `server_name` of a transaction. */
  serverName: string;
}

const dsnError = (cause: string): string => `[Sentry] DsnParseError: ${cause}`;

/**
 * sentry-go's DSN parser, with its error texts. Throws Error whose message never holds the DSN's secret key
 * (a URL parse error quotes the DSN with the secret key replaced).
 */
export function parseSentryDsn(raw: string): SentryDsn {
  if (raw === '') throw new Error('DSN cannot be empty');
  let u;
  try {
    u = parseGoUrl(raw);
  } catch (err) {
    const cause = err instanceof GoUrlError ? err.cause_ : (err as Error).message;
    throw new Error(dsnError(`invalid url: parse ${goQuote(redactUrl(raw))}: ${cause}`));
  }
  if (u.scheme !== 'http' && u.scheme !== 'https') throw new Error(dsnError('invalid scheme'));
  const userinfo = u.userinfo ?? '';
  const colon = userinfo.indexOf(':');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const publicKey = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const secretKey = colon < 0 ? '' : decode(userinfo.slice(colon + 1));
  if (publicKey === '') throw new Error(dsnError('empty username'));
  const { hostname: host, port } = goHostPort(u.host);
  if (host === '') throw new Error(dsnError('empty host'));
  const defaultPort = u.scheme === 'https' ? 443 : 80;
  let portNumber = defaultPort;
  if (port !== '') {
    if (!/^\d+$/.test(port)) throw new Error(dsnError('invalid port'));
    portNumber = Number(port);
  }
  const parts = u.path.split('/');
  const projectId = parts[parts.length - 1] ?? '';
  if (projectId === '') throw new Error(dsnError('empty project id'));
  const prefix = parts.slice(0, -1).join('/');
  const authority = `${host.includes(':') ? `[${host}]` : host}${portNumber === defaultPort ? '' : `:${portNumber}`}`;
  return {
    dsn: raw,
    publicKey,
    secretKey,
    projectId,
    endpoint: `${u.scheme}://${authority}${prefix}/api/${projectId}/envelope/`,
  };
}

/** The `X-Sentry-Auth` value: the public key, and the secret key of a legacy DSN. */
export function sentryAuth(dsn: Pick<SentryDsn, 'publicKey' | 'secretKey'>): string {
  const auth = `Sentry sentry_version=7, sentry_client=${SENTRY_CLIENT}, sentry_key=${dsn.publicKey}`;
  return dsn.secretKey === '' ? auth : `${auth}, sentry_secret=${dsn.secretKey}`;
}

function parse(settings: ProviderSettings): SentryConfig {
  let dsn: SentryDsn;
  try {
    dsn = parseSentryDsn(settings.address);
  } catch (err) {
    throw new ConfigError(`${addressSource(settings)}: ${(err as Error).message}`);
  }
  return { dsn, environment: settings.channel || (process.env['SENTRY_ENVIRONMENT'] ?? ''), serverName: hostname() };
}

/** Sentry's ids: 32 (event, trace) or 16 (span) lower-case hex digits. */
const hexId = (bytes: number): string => randomBytes(bytes).toString('hex');

/** The event timestamp (RFC 3339), or now for an event without one. */
const eventTime = (e: FluxEvent): string => e.timestamp ?? new Date().toISOString();

/** The info tags: the event's fields, then every metadata entry (a metadata key overwrites a flux_ tag), sorted. */
export function transactionTags(e: FluxEvent): Record<string, string> {
  const tags: Record<string, string> = {
    flux_involved_object_kind: e.involvedObject.kind,
    flux_involved_object_namespace: e.involvedObject.namespace,
    flux_involved_object_name: e.involvedObject.name,
    flux_reporting_controller: e.reportingController,
    flux_reporting_instance: e.reportingInstance ?? '',
    flux_reason: e.reason,
  };
  for (const [k, v] of sortedMetadata(e)) tags[k] = v;
  return Object.fromEntries(Object.entries(tags).sort(([a], [b]) => compareBytes(a, b)));
}

/** The item of one notification: an error event, a transaction for info, nothing for any other severity. */
export function sentryItem(e: FluxEvent, config: SentryConfig, eventId: string): { type: 'event' | 'transaction'; payload: Record<string, unknown> } | undefined {
  const common = {
    event_id: eventId,
    platform: 'node',
    sdk: { ...SENTRY_SDK },
    ...(config.environment !== '' ? { environment: config.environment } : {}),
    message: e.message,
    transaction: summaryLabel(e),
    timestamp: eventTime(e),
  };
  if (e.severity === 'error') {
    return {
      type: 'event',
      payload: { ...common, level: 'error', server_name: e.reportingController, contexts: { metadata: Object.fromEntries(sortedMetadata(e)) } },
    };
  }
  if (e.severity !== 'info') return undefined;
  const trace = { trace_id: hexId(16), span_id: hexId(8), op: 'event' };
  const tags = transactionTags(e);
  return {
    type: 'transaction',
    payload: {
      ...common,
      type: 'transaction',
      level: 'info',
      server_name: config.serverName,
      start_timestamp: common.timestamp,
      contexts: { trace },
      tags,
      spans: [{ ...trace, tags, start_timestamp: common.timestamp, timestamp: common.timestamp, origin: 'manual' }],
    },
  };
}

/** The envelope: header line, item header line (with the payload's byte length), payload line, each `\n`-terminated. */
export function sentryEnvelope(e: FluxEvent, config: SentryConfig, now: Date = new Date()): string | undefined {
  const eventId = randomUUID().replaceAll('-', '');
  const item = sentryItem(e, config, eventId);
  if (!item) return undefined;
  const payload = JSON.stringify(item.payload);
  const header = { event_id: eventId, sent_at: now.toISOString(), dsn: config.dsn.dsn, sdk: { ...SENTRY_SDK } };
  return `${JSON.stringify(header)}\n${JSON.stringify({ type: item.type, length: Buffer.byteLength(payload) })}\n${payload}\n`;
}

function request(n: Pick<Notification, 'event' | 'rendered'>, config: SentryConfig): HttpExchange | undefined {
  // A template's text is the Sentry event's message.
  const body = sentryEnvelope(n.rendered !== undefined ? { ...n.event, message: renderedText(n, n.event.message) } : n.event, config);
  if (body === undefined) return undefined;
  return {
    method: 'POST',
    url: config.dsn.endpoint,
    headers: { 'Content-Type': 'application/x-sentry-envelope', 'User-Agent': SENTRY_CLIENT, 'X-Sentry-Auth': sentryAuth(config.dsn) },
    body,
  };
}

const http = defineHttpProvider<SentryConfig>({
  type: 'sentry',
  category: 'incident',
  // spec: certSecretRef applies, no proxy (the DSN is the only Secret key read).
  transport: { proxy: false, tls: true },
  errorPrefix: 'failed to send Sentry envelope: ',
  parse,
  request,
});

/**
 * The HTTP definition, with every failure's text cleared of the DSN and its secret key even before the worker masks
 * it (an endpoint that echoes the request would quote both).
 */
export const SentryProvider: ProviderDefinition<HttpProviderConfig<SentryConfig>> = {
  ...http,
  async send(n, c, ctx) {
    try {
      await http.send(n, c, ctx);
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      throw maskedDeliveryError(err, [c.config.dsn.dsn, c.config.dsn.secretKey]);
    }
  },
};
