// The `datadog` provider (spec providers/datadog.md): one Datadog event per Flux event on /api/v1/events of the
// address's site. Flux goes through the Datadog SDK; Herald sends the SDK's request as one plain HTTP exchange.
import { goJsonString, type FluxEvent } from '../../api/event.js';
import { goToLower } from '../../go/strings.js';
import { renderedText, renderedTitle } from '../rendered.js';
import { goStatusText } from '../../go/status-text.js';
import { goQuote, parseGoUrl, parseUrlError } from '../../go/url.js';
import { sortedMetadata } from '../labels.js';
import { bodyExcerpt } from '../http/errors.js';
import { jsonPost, resolveTransport, type HttpExchange } from '../http/provider.js';
import type { Transport } from '../http/pool.js';
import { defineProvider, DeliveryError, type Notification, type ParseContext, type ProviderSettings, type SendContext } from '../types.js';
import { addressError, configError, requireToken, sendExchange, unixSeconds } from './common.js';

export interface DatadogConfig {
  /** `<scheme>://<host>/api/v1/events`. */
  url: string;
  token: string;
  transport: Transport;
}

/** The SDK's defaults for what the address leaves out. */
const DEFAULT_SCHEME = 'https';
const DEFAULT_HOST = 'api.datadoghq.com';
const PREFIX = 'failed to post event to DataDog: ';

/** The events endpoint on the address's scheme and host; path and query are ignored, missing parts default. */
export function datadogEventsUrl(address: string): string {
  const u = address === '' ? undefined : parseGoUrl(address);
  return `${u?.scheme || DEFAULT_SCHEME}://${u?.host || DEFAULT_HOST}/api/v1/events`;
}

/** Flux fields first, then one `key:value` per metadata entry; every tag lower-cased whole. */
export function datadogTags(event: FluxEvent): string[] {
  const o = event.involvedObject;
  return [
    `flux_reporting_controller:${event.reportingController}`,
    `flux_reason:${event.reason}`,
    `kube_kind:${o.kind}`,
    `kube_name:${o.name}`,
    `kube_namespace:${o.namespace}`,
    ...sortedMetadata(event).map(([k, v]) => `${k}:${v}`),
  ].map(goToLower);
}

/** The SDK's event-create body: a map, so its keys go out in alphabetical order. */
export function datadogBody(event: FluxEvent, n: Pick<Notification, 'rendered'> = {}): string {
  const o = event.involvedObject;
  return `{"alert_type":${event.severity === 'error' ? '"error"' : '"info"'},"date_happened":${unixSeconds(event.timestamp)},`
    + `"source_type_name":"fluxcd","tags":[${datadogTags(event).map(goJsonString).join(',')}],"text":${goJsonString(renderedText(n, event.message))},`
    + `"title":${goJsonString(renderedTitle(n, `Events from the ${o.kind} ${o.name}/${o.namespace}`))}}`;
}

function parse(settings: ProviderSettings, ctx: ParseContext): DatadogConfig {
  const token = requireToken(settings, 'token cannot be empty', 'Datadog API key');
  if (settings.address !== '') {
    const cause = parseUrlError(settings.address);
    if (cause !== undefined) throw addressError(settings, `failed to parse address ${goQuote(settings.address)}: ${cause}`);
  }
  if (settings.proxy) {
    const cause = parseUrlError(settings.proxy);
    if (cause !== undefined) throw configError(settings, `failed to parse proxy URL ${goQuote(settings.proxy)}: ${cause}`);
  }
  return { url: datadogEventsUrl(settings.address), token, transport: resolveTransport(settings, ctx) };
}

function datadogRequest(n: Notification, config: DatadogConfig): HttpExchange {
  return jsonPost(config.url, datadogBody(n.event, n), { Accept: 'application/json', 'DD-API-KEY': config.token });
}

async function send(n: Notification, config: DatadogConfig, ctx: SendContext): Promise<void> {
  const exchange = datadogRequest(n, config);
  const res = await sendExchange(exchange, {
    transport: config.transport,
    signal: ctx.signal,
    prefix: PREFIX,
    // The SDK reports the status line; the body Datadog sends (`{"errors":["Forbidden"]}`) follows it.
    statusText: (r) => `${r.status} ${goStatusText(r.status)}${r.body.trim() !== '' ? `: ${bodyExcerpt(r.body)}` : ''}`,
    readBody: true,
  });
  if (res.body.trim() === '') return;
  try {
    JSON.parse(res.body);
  } catch (err) {
    // The SDK decodes the answer; one that is not JSON fails the call (the event may exist: not retried).
    throw new DeliveryError(`${PREFIX}${(err as Error).message}`, { retryable: false, reason: 'server' });
  }
}

export const DatadogProvider = defineProvider<DatadogConfig>({
  type: 'datadog',
  category: 'incident',
  secretKeys: [{ key: 'token', sensitive: true }],
  transport: { proxy: true, tls: true },
  parse,
  send,
  preview: (n, config) => ({ kind: 'http', ...datadogRequest(n, config) }),
  close: async (config) => config.transport.release(),
});
