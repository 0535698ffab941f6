// The `pagerduty` provider (spec providers/pagerduty.md): Events API v2. An error triggers an incident keyed by the
// object's UID; any other severity resolves it, and an info event then records a change event.
import { goJsonString, goJsonStringMap, type FluxEvent } from '../../api/event.js';
import { goQuote, parseGoRequestUri } from '../../go/url.js';
import { formatNameAndDescription } from '../labels.js';
import { renderedText } from '../rendered.js';
import { jsonPost, resolveTransport, type HttpExchange } from '../http/provider.js';
import type { Transport } from '../http/pool.js';
import { defineProvider, type Notification, type ParseContext, type ProviderSettings, type SendContext } from '../types.js';
import { addressError, checkAddress, configError, rfc3339Seconds, sendExchange } from './common.js';

export interface PagerDutyConfig {
  /** `<scheme>://<host[:port]>` of the address. */
  base: string;
  /** spec.channel: the integration's routing key. Not a Secret value, so this provider keeps it out of its errors. */
  routingKey: string;
  transport: Transport;
}

/** The address's scheme and host; path, query and user info are dropped. Undefined when it has no host. */
export function pagerDutyBase(address: string): string | undefined {
  const u = parseGoRequestUri(address);
  return u.scheme !== '' && u.host !== '' ? `${u.scheme}://${u.host}` : undefined;
}

/** `{"message": ..., "metadata": ...}` as Go serialises a map[string]interface{}: metadata null when there is none. */
function customDetails(event: FluxEvent): string {
  const metadata = Object.keys(event.metadata).length > 0 ? goJsonStringMap(event.metadata) : 'null';
  return `{"message":${goJsonString(event.message)},"metadata":${metadata}}`;
}

function summary(event: FluxEvent, n: Pick<Notification, 'rendered'>): string {
  const { name, description } = formatNameAndDescription(event);
  return renderedText(n, `${description}: ${name}`);
}

/** The alert event (go-pagerduty V2Event): trigger with a payload for errors, a bare resolve otherwise. */
export function pagerDutyAlertBody(event: FluxEvent, routingKey: string, n: Pick<Notification, 'rendered'> = {}): string {
  const trigger = event.severity === 'error';
  const fields = [`"routing_key":${goJsonString(routingKey)}`, `"event_action":${trigger ? '"trigger"' : '"resolve"'}`];
  const uid = event.involvedObject.uid ?? '';
  if (uid !== '') fields.push(`"dedup_key":${goJsonString(uid)}`);
  if (trigger) {
    const o = event.involvedObject;
    const payload = [
      `"summary":${goJsonString(summary(event, n))}`,
      `"source":${goJsonString(`Flux ${event.reportingController}`)}`,
      '"severity":"error"',
      `"timestamp":${goJsonString(rfc3339Seconds(event.timestamp))}`,
    ];
    if (o.name !== '') payload.push(`"component":${goJsonString(o.name)}`);
    if (o.kind !== '') payload.push(`"group":${goJsonString(o.kind)}`);
    payload.push(`"custom_details":${customDetails(event)}`);
    fields.push(`"payload":{${payload.join(',')}}`);
  }
  return `{${fields.join(',')}}`;
}

/** The change event (go-pagerduty ChangeEvent) that follows the resolve of an info event. */
export function pagerDutyChangeBody(event: FluxEvent, routingKey: string, n: Pick<Notification, 'rendered'> = {}): string {
  return `{"routing_key":${goJsonString(routingKey)},"payload":{"summary":${goJsonString(summary(event, n))},`
    + `"source":${goJsonString(`Flux ${event.reportingController}`)},"timestamp":${goJsonString(rfc3339Seconds(event.timestamp))},`
    + `"custom_details":${customDetails(event)}}}`;
}

function parse(settings: ProviderSettings, ctx: ParseContext): PagerDutyConfig {
  const address = checkAddress(settings, (a, cause) => `invalid PagerDuty endpoint URL ${goQuote(a)}: '${cause}'`);
  // Flux would post to `://` + path for `/v2/enqueue` and fail on every event; Herald refuses the address up front.
  const base = pagerDutyBase(address);
  if (base === undefined) {
    throw addressError(settings, `invalid PagerDuty endpoint URL ${goQuote(address)}: it needs a scheme and a host (https://events.pagerduty.com)`);
  }
  // Flux sends an empty routing key, which PagerDuty always rejects: say so when the Provider loads.
  if (settings.channel === '') throw configError(settings, 'spec.channel (the PagerDuty integration routing key) is empty');
  return { base, routingKey: settings.channel, transport: resolveTransport(settings, ctx) };
}

/** The first exchange (the alert event); an info event is followed by a change event. */
function pagerDutyAlertRequest(n: Notification, config: PagerDutyConfig): HttpExchange {
  return jsonPost(`${config.base}/v2/enqueue`, pagerDutyAlertBody(n.event, config.routingKey, n));
}

async function send(n: Notification, config: PagerDutyConfig, ctx: SendContext): Promise<void> {
  const event = n.event;
  if (event.reason === 'Progressing') return;
  const base = { transport: config.transport, signal: ctx.signal, mask: [config.routingKey] };
  const alert: HttpExchange = pagerDutyAlertRequest(n, config);
  await sendExchange(alert, { ...base, prefix: 'failed sending event: ' });
  if (event.severity !== 'info') return;
  const change = jsonPost(`${config.base}/v2/change/enqueue`, pagerDutyChangeBody(event, config.routingKey, n));
  await sendExchange(change, { ...base, prefix: 'failed sending change event: ' });
}

export const PagerDutyProvider = defineProvider<PagerDutyConfig>({
  type: 'pagerduty',
  category: 'incident',
  secretKeys: [],
  transport: { proxy: true, tls: true },
  parse,
  send,
  preview: (n, config) => (n.event.reason === 'Progressing' ? undefined : { kind: 'http', ...pagerDutyAlertRequest(n, config) }),
  close: async (config) => config.transport.release(),
});
