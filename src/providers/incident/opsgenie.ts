// The `opsgenie` provider (spec providers/opsgenie.md): an Opsgenie alert per event, de-duplicated by a stable alias.
import { createHash } from 'node:crypto';
import { goJsonString, goJsonStringMap, type FluxEvent } from '../../api/event.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { renderedText, renderedTitle } from '../rendered.js';
import type { Notification } from '../types.js';
import { checkAddress, requireToken } from './common.js';

export interface OpsgenieConfig {
  url: string;
  token: string;
}

/**
 * Lower-case hex SHA-256 of `<provider UID>/<kind>/<namespace>/<name>/<reason>`: the message and severity are not part
 * of it, so repeated events for one object and reason update one Opsgenie alert.
 */
export function opsgenieAlias(providerUid: string, event: Pick<FluxEvent, 'involvedObject' | 'reason'>): string {
  const o = event.involvedObject;
  return createHash('sha256').update(`${providerUid}/${o.kind}/${o.namespace}/${o.name}/${event.reason}`, 'utf8').digest('hex');
}

/** The alert body with the Go struct's field order; `details` is the metadata plus `severity` (which wins). */
export function opsgenieBody(event: FluxEvent, alias: string, n: Pick<Notification, 'rendered'> = {}): string {
  const details = { ...event.metadata, severity: event.severity };
  const fields = [`"message":${goJsonString(renderedTitle(n, `${event.involvedObject.kind}/${event.involvedObject.name}`))}`];
  if (alias !== '') fields.push(`"alias":${goJsonString(alias)}`);
  fields.push(`"description":${goJsonString(renderedText(n, event.message))}`, `"details":${goJsonStringMap(details)}`);
  return `{${fields.join(',')}}`;
}

export const OpsgenieProvider = defineHttpProvider<OpsgenieConfig>({
  type: 'opsgenie',
  category: 'incident',
  secretKeys: [{ key: 'token', sensitive: true }],
  transport: { proxy: true, tls: true },
  parse(settings) {
    const url = checkAddress(settings, (address, cause) => `invalid Opsgenie hook URL ${address}: '${cause}'`);
    const token = requireToken(settings, 'empty Opsgenie apikey/token', 'Opsgenie API key');
    return { url, token };
  },
  request(n, config) {
    return jsonPost(config.url, opsgenieBody(n.event, opsgenieAlias(n.provider.uid, n.event), n), { Authorization: `GenieKey ${config.token}` });
  },
});
