// The `incident.io` provider (spec providers/incident.io.md): an alert event on an HTTP alert source, firing on error,
// resolved otherwise, with the object's UID as the one deduplication key.
import { goJsonString, goJsonStringMap, type FluxEvent } from '../../api/event.js';
import { dottedLabel } from '../labels.js';
import { renderedText, renderedTitle } from '../rendered.js';
import type { Notification } from '../types.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { bearer, checkAddress, requireToken } from './common.js';

export interface IncidentIoConfig {
  url: string;
  token: string;
}

/** The alert event with the Go struct's field order; `source_url` is never set, `description` is omitted when empty. */
export function incidentIoBody(event: FluxEvent, n: Pick<Notification, 'rendered'> = {}): string {
  const description = renderedText(n, event.message);
  const metadata: Record<string, string> = { ...event.metadata, severity: event.severity, reason: event.reason };
  if (event.reportingController !== '') metadata['reportingController'] = event.reportingController;
  const fields = [
    `"title":${goJsonString(renderedTitle(n, `${dottedLabel(event)}: ${event.reason}`))}`,
    `"status":${event.severity === 'error' ? '"firing"' : '"resolved"'}`,
    `"deduplication_key":${goJsonString(event.involvedObject.uid ?? '')}`,
  ];
  if (description !== '') fields.push(`"description":${goJsonString(description)}`);
  fields.push(`"metadata":${goJsonStringMap(metadata)}`);
  return `{${fields.join(',')}}`;
}

export const IncidentIoProvider = defineHttpProvider<IncidentIoConfig>({
  type: 'incident.io',
  category: 'incident',
  secretKeys: [{ key: 'token', sensitive: true }],
  transport: { proxy: true, tls: true },
  parse(settings) {
    const url = checkAddress(settings, (address, cause) => `invalid incident.io alert source URL ${address}: '${cause}'`);
    const token = requireToken(settings, 'empty incident.io API token', 'alert source API token');
    return { url, token };
  },
  request(n, config) {
    if (n.event.reason === 'Progressing') return undefined;
    return jsonPost(config.url, incidentIoBody(n.event, n), bearer(config.token));
  },
});
