// The `webex` provider (spec providers/webex.md): a markdown message in a room through the Messages API, bot token.
import type { FluxEvent } from '../../api/event.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { dottedLabel, sortedMetadata } from '../labels.js';
import { renderedText } from '../rendered.js';
import { checkAddress } from './address.js';
import { goJson } from '../../go/json.js';

export interface WebexConfig {
  url: string;
  /** spec.channel: the room ID; omitted from the payload when empty (Webex then refuses the message). */
  roomId: string;
  token: string;
}

/** `💣 **label**` (✅ unless error), the message, then `>**key**: value` per metadata entry; every line ends in `\n`. */
export function webexMarkdown(event: FluxEvent): string {
  const emoji = event.severity === 'error' ? '\u{1F4A3}' : '\u2705';
  let text = `${emoji} **${dottedLabel(event)}**\n${event.message}\n`;
  for (const [k, v] of sortedMetadata(event)) text += `>**${k}**: ${v}\n`;
  return text;
}

export const WebexProvider = defineHttpProvider<WebexConfig>({
  type: 'webex',
  category: 'chat',
  transport: { proxy: true, tls: true },
  parse(settings) {
    // The Messages API URL is public (the credential is the token), so errors may show it.
    const url = checkAddress(settings, { what: 'Webex hook URL', public: true });
    return { url, roomId: settings.channel, token: settings.token };
  },
  request(n, config) {
    const markdown = renderedText(n, webexMarkdown(n.event));
    const body = goJson({ ...(config.roomId !== '' ? { roomId: config.roomId } : {}), markdown });
    // Always sent, even with no token: Flux sends `Bearer` (Go trims the trailing space on the wire).
    return jsonPost(config.url, body, { Authorization: `Bearer ${config.token}`.trimEnd() });
  },
});
