// The `zoom` provider (spec providers/zoom.md): a full-format Zoom Team Chat message to an incoming-webhook chatbot.
import type { FluxEvent } from '../../api/event.js';
import { goJson } from '../../go/json.js';
import { goEncodeQuery, goParseQuery } from '../../go/query.js';
import { parseGoUrl } from '../../go/url.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { dottedLabel, sortedMetadata } from '../labels.js';
import { renderedText, renderedTitle } from '../rendered.js';
import type { Notification } from '../types.js';
import { addressSource } from '../errors.js';
import { ConfigError } from '../types.js';
import { checkAddress, providerRef } from './address.js';
import { hasLineBreak, missingSecretKey, secretKeyLabel } from './config-context.js';

export interface ZoomConfig {
  /** The address with `format=full` unless it names a format. */
  url: string;
  token: string;
}

/** Adds `format=full` (re-encoding the whole query as Go's Values.Encode) unless the address has a non-empty `format`. */
export function zoomWebhookUrl(address: string): string {
  const u = parseGoUrl(address);
  const query = goParseQuery(u.rawQuery);
  if ((query.get('format')?.[0] ?? '') !== '') return address;
  query.set('format', ['full']);
  const cut = address.search(/[?#]/);
  const base = cut < 0 ? address : address.slice(0, cut);
  return `${base}?${goEncodeQuery(query)}`;
}

/** Head (object, severity), the message, and a fields block with the metadata (sorted) when there is any. */
export function zoomBody(event: FluxEvent, n: Pick<Notification, 'rendered'> = {}): string {
  const metadata = sortedMetadata(event);
  const text = renderedText(n, event.message);
  const body: object[] = [{ type: 'message', ...(text !== '' ? { text } : {}) }];
  if (metadata.length > 0) body.push({ type: 'fields', items: metadata.map(([key, value]) => ({ key, value })) });
  return goJson({ content: { head: { text: renderedTitle(n, dottedLabel(event)), sub_head: { text: event.severity } }, body } });
}

export const ZoomProvider = defineHttpProvider<ZoomConfig>({
  type: 'zoom',
  category: 'chat',
  secretKeys: [{ key: 'token', sensitive: true }],
  parse(settings) {
    const where = providerRef(settings);
    // Printed in errors as Flux does: posting also needs the verification token.
    const address = checkAddress(settings, { what: 'Zoom incoming webhook URL', public: true });
    let url: string;
    try {
      url = zoomWebhookUrl(address);
    } catch (err) {
      throw new ConfigError(`${addressSource(settings)}: invalid Zoom incoming webhook URL: ${(err as Error).message}`);
    }
    if (settings.token === '') throw new ConfigError(`${where}: empty Zoom verification token (${missingSecretKey(settings, 'token')})`);
    if (hasLineBreak(settings.token)) {
      throw new ConfigError(`${where}: ${secretKeyLabel(settings, 'token')} contains a line break, which cannot be sent in the Authorization header`);
    }
    return { url, token: settings.token };
  },
  request(n, config) {
    // The raw verification token, no scheme.
    return jsonPost(config.url, zoomBody(n.event, n), { Authorization: config.token });
  },
});
