// The `grafana` provider (spec providers/grafana.md): an annotation named after the object, tagged with Flux fields.
import { goJsonString, type FluxEvent } from '../../api/event.js';
import { dottedLabel, sortedMetadata } from '../labels.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { renderedText } from '../rendered.js';
import type { Notification } from '../types.js';
import { basic, bearer, checkAddress, unixSeconds } from './common.js';

export interface GrafanaConfig {
  url: string;
  auth?: Record<string, string>;
}

/** `flux`, the controller, one `key: value` per metadata entry (`:` inside them as `|`), then kind, name, namespace. */
export function grafanaTags(event: FluxEvent): string[] {
  const bar = (s: string) => s.replaceAll(':', '|');
  const o = event.involvedObject;
  return [
    'flux',
    event.reportingController,
    ...sortedMetadata(event).map(([k, v]) => `${bar(k)}: ${bar(v)}`),
    `kind: ${o.kind}`,
    `name: ${o.name}`,
    `namespace: ${o.namespace}`,
  ];
}

/** `{when, text, tags}`: `when` in Unix seconds, as Flux sends it (Grafana's own field is `time`, in ms). */
export function grafanaBody(event: FluxEvent, n: Pick<Notification, 'rendered'> = {}): string {
  return `{"when":${unixSeconds(event.timestamp)},"text":${goJsonString(renderedText(n, dottedLabel(event)))},"tags":[${grafanaTags(event).map(goJsonString).join(',')}]}`;
}

export const GrafanaProvider = defineHttpProvider<GrafanaConfig>({
  type: 'grafana',
  category: 'incident',
  secretKeys: [{ key: 'token', sensitive: true }, { key: 'password', sensitive: true }],
  transport: { proxy: true, tls: true },
  parse(settings) {
    // Flux's text leaves Go's cause out.
    const url = checkAddress(settings, (address) => `invalid Grafana URL ${address}`);
    const config: GrafanaConfig = { url };
    if (settings.token !== '') config.auth = bearer(settings.token);
    else if (settings.username !== '' && settings.password !== '') config.auth = basic(settings.username, settings.password);
    return config;
  },
  request(n, config) {
    return jsonPost(config.url, grafanaBody(n.event, n), config.auth);
  },
});
