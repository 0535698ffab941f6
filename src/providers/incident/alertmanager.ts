// The `alertmanager` provider (spec providers/alertmanager.md): a one-alert list for Alertmanager's /api/v2/alerts,
// metadata as labels (the computed labels win), message and summary as annotations.
import { goJsonString, goJsonStringMap, type FluxEvent } from '../../api/event.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { renderedText } from '../rendered.js';
import type { Notification } from '../types.js';
import { basic, bearer, checkAddress, GO_ZERO_TIME, rfc3339Seconds } from './common.js';

export interface AlertmanagerConfig {
  url: string;
  /** The one Authorization header, or none. */
  auth?: Record<string, string>;
}

const words = new Intl.Segmenter('und', { granularity: 'word' });

/**
 * Go's `cases.Title(language.Und)`: words split on Unicode word boundaries, each with its first letter upper-cased
 * and every other letter lower-cased, so a CamelCase reason is one word (`HealthCheckFailed` -> `Healthcheckfailed`).
 */
export function titleCase(s: string): string {
  let out = '';
  for (const seg of words.segment(s)) {
    if (!seg.isWordLike) {
      out += seg.segment;
      continue;
    }
    const [first = '', ...rest] = [...seg.segment];
    out += first.toUpperCase() + rest.join('').toLowerCase();
  }
  return out;
}

/** The alert's labels: metadata without `summary`, then the computed labels, which replace metadata keys of their names. */
export function alertmanagerLabels(event: FluxEvent): Record<string, string> {
  const labels: Record<string, string> = { ...event.metadata };
  delete labels['summary'];
  const o = event.involvedObject;
  Object.assign(labels, {
    alertname: `Flux${o.kind}${titleCase(event.reason)}`,
    severity: event.severity,
    reason: event.reason,
    kind: o.kind,
    name: o.name,
    namespace: o.namespace,
    reportingcontroller: event.reportingController,
  });
  return labels;
}

/** `[{status, labels, annotations, startsAt, endsAt}]`, fields in Flux's order; `endsAt` is always Go's zero time. */
export function alertmanagerBody(event: FluxEvent, n: Pick<Notification, 'rendered'> = {}): string {
  const annotations: Record<string, string> = { message: event.message };
  // A template's text is the summary annotation, which Alertmanager receivers show as the alert's headline.
  const summary = n.rendered !== undefined ? renderedText(n, '') : event.metadata['summary'];
  if (summary !== undefined) annotations['summary'] = summary;
  return `[{"status":"firing","labels":${goJsonStringMap(alertmanagerLabels(event))},"annotations":${goJsonStringMap(annotations)},`
    + `"startsAt":${goJsonString(rfc3339Seconds(event.timestamp))},"endsAt":"${GO_ZERO_TIME}"}]`;
}

export const AlertmanagerProvider = defineHttpProvider<AlertmanagerConfig>({
  type: 'alertmanager',
  category: 'incident',
  secretKeys: [{ key: 'token', sensitive: true }, { key: 'password', sensitive: true }],
  transport: { proxy: true, tls: true },
  parse(settings) {
    const url = checkAddress(settings, (address, cause) => `invalid Alertmanager URL ${address}: '${cause}'`);
    const config: AlertmanagerConfig = { url };
    // Flux keeps one request hook: basic auth, registered last, replaces the bearer token when both are set.
    if (settings.username !== '' && settings.password !== '') config.auth = basic(settings.username, settings.password);
    else if (settings.token !== '') config.auth = bearer(settings.token);
    return config;
  },
  request(n, config) {
    return jsonPost(config.url, alertmanagerBody(n.event, n), config.auth);
  },
});
