// The `googlechat` provider (spec providers/googlechat.md): one Cards v1 message to a space webhook.
import type { FluxEvent } from '../../api/event.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { dottedLabel, sortedMetadata } from '../labels.js';
import { renderedText, renderedTitle } from '../rendered.js';
import type { Notification } from '../types.js';
import { checkAddress, webhookSecrets, withMaskedErrors } from './address.js';
import { goJson } from '../../go/json.js';

export interface GoogleChatConfig {
  /** The webhook verbatim: its `key` and `token` query parameters are the credentials. */
  url: string;
  masked: string[];
}

/** Every widget carries both keys, the unused one `null`, as Flux's struct serialises. */
function widget(textParagraph: unknown, keyValue: unknown): unknown {
  return { textParagraph, keyValue };
}

export function googleChatMessage(event: FluxEvent, n: Pick<Notification, 'rendered'> = {}): string {
  // A template's text is sent as rendered: it chooses its own markup.
  const text = n.rendered !== undefined ? renderedText(n, event.message) : event.severity === 'error' ? `<font color="#ff0000">${event.message}</font>` : event.message;
  const sections = [{ header: '', widgets: [widget({ text }, null)] }];
  const metadata = sortedMetadata(event);
  if (metadata.length > 0) {
    sections.push({
      header: '',
      widgets: metadata.map(([topLabel, content]) => widget(null, { topLabel, content, contentMultiline: false, bottomLabel: null, icon: null })),
    });
  }
  return goJson({
    cards: [{
      header: { title: renderedTitle(n, dottedLabel(event)), subtitle: event.reportingController, imageUrl: null, imageStyle: null },
      sections,
    }],
  });
}

export const GoogleChatProvider = withMaskedErrors(defineHttpProvider<GoogleChatConfig>({
  type: 'googlechat',
  category: 'chat',
  // Flux applies the proxy but never the certSecretRef TLS config to this type.
  transport: { proxy: true, tls: false },
  parse(settings) {
    const url = checkAddress(settings, { what: 'Google Chat hook URL' });
    return { url, masked: webhookSecrets(url) };
  },
  request(n, config) {
    return jsonPost(config.url, googleChatMessage(n.event, n));
  },
}));
