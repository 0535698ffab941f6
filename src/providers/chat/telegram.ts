// The `telegram` provider (spec providers/telegram.md): a MarkdownV2 message through the Bot API's sendMessage.
import type { FluxEvent } from '../../api/event.js';
import { goJson } from '../../go/json.js';
import { goEscape, goJoinEscapedPath, GoUrlError, parseGoUrl } from '../../go/url.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { slashedLabel, sortedMetadata } from '../labels.js';
import { renderedText } from '../rendered.js';
import { ConfigError } from '../types.js';
import { providerRef, withMaskedErrors } from './address.js';
import { alertEmoji } from './alert-emoji.js';
import { missingSecretKey, secretKeyLabel } from './config-context.js';

/** The fixed API base: `spec.address` and a Secret `address` are ignored, as in Flux. */
export const TELEGRAM_API = 'https://api.telegram.org';

/** The URL as errors may show it: the bot token never appears in an error. */
const REDACTED_URL = `${TELEGRAM_API}/bot*****/sendMessage`;

export interface TelegramConfig {
  /** `https://api.telegram.org/bot<token>/sendMessage`. */
  url: string;
  chatId: string;
  /** Forum topic; absent when the channel has no `:` or nothing after it. */
  threadId?: string;
  /** Forms of the token masked out of every delivery error (raw, as escaped in the URL path). */
  masked: string[];
}

/** MarkdownV2's reserved characters, each escaped once with a backslash (spec: 19 characters). */
export function escapeMarkdownV2(s: string): string {
  return s.replace(/[\\.\-_[\]()~>`#+=|{}!*]/g, (c) => `\\${c}`);
}

/** `*<emoji> <kind>/<name>/<namespace>*`, the message, one `\- *key*: value` line per metadata entry (sorted). */
export function telegramText(event: Pick<FluxEvent, 'involvedObject' | 'severity' | 'message' | 'metadata'>): string {
  let text = `*${escapeMarkdownV2(`${alertEmoji(event)} ${slashedLabel(event)}`)}*\n${escapeMarkdownV2(event.message)}\n`;
  for (const [key, value] of sortedMetadata(event)) text += `\\- *${escapeMarkdownV2(key)}*: ${escapeMarkdownV2(value)}\n`;
  return text;
}

/** `<chat_id>[:<message_thread_id>]`, split at the first `:`. */
export function splitTelegramChannel(channel: string): { chatId: string; threadId?: string } {
  const colon = channel.indexOf(':');
  if (colon < 0) return { chatId: channel };
  const threadId = channel.slice(colon + 1);
  return threadId === '' ? { chatId: channel.slice(0, colon) } : { chatId: channel.slice(0, colon), threadId };
}

/** Go's `url.JoinPath(TELEGRAM_API + "/bot" + token, "sendMessage")`; throws the Go parse error. */
function sendMessageUrl(token: string): string {
  const u = parseGoUrl(`${TELEGRAM_API}/bot${token}`);
  const query = u.rawQuery !== '' || u.forceQuery ? `?${u.rawQuery}` : '';
  return `${u.scheme}://${u.host}${goJoinEscapedPath(u, 'sendMessage')}${query}`;
}

// The bot token is in the URL path: every error is cleared of it (raw, and percent-encoded as in the URL, which then
// reads .../bot*****/sendMessage) before it leaves the provider.
export const TelegramProvider = withMaskedErrors(defineHttpProvider<TelegramConfig>({
  type: 'telegram',
  category: 'chat',
  secretKeys: [{ key: 'token', sensitive: true }],
  // Flux applies the Provider's proxy but no certSecretRef: the API is a public host verified with the system roots.
  transport: { proxy: true, tls: false },
  // Flux returns telegram's errors without the `postMessage failed: ` prefix.
  errorPrefix: '',
  parse(settings) {
    const where = providerRef(settings);
    if (settings.channel === '') {
      throw new ConfigError(`${where}: empty Telegram channel (set spec.channel to <chat_id> or <chat_id>:<message_thread_id>)`);
    }
    const token = settings.token;
    if (token === '') throw new ConfigError(`${where}: empty Telegram token (${missingSecretKey(settings, 'token')})`);
    let url: string;
    try {
      url = sendMessageUrl(token);
    } catch (err) {
      // Flux fails every Post with `failed to construct API URL: parse "...<token>...": ...`; Herald says it once,
      // here, without quoting the URL (a Secret made from a file with a trailing newline is the usual cause).
      const cause = err instanceof GoUrlError ? err.cause_ : 'not a valid URL';
      throw new ConfigError(`${where}: ${secretKeyLabel(settings, 'token')} cannot be used in the Telegram API URL ${REDACTED_URL}: ${cause}`);
    }
    const masked = [...new Set([token, goEscape(token, 'path'), encodeURI(token)])];
    return { url, ...splitTelegramChannel(settings.channel), masked };
  },
  request(n, config) {
    const body = {
      chat_id: config.chatId,
      ...(config.threadId !== undefined ? { message_thread_id: config.threadId } : {}),
      // A template's text goes as rendered: it escapes MarkdownV2 itself (the telegram_escape filter).
      text: renderedText(n, telegramText(n.event)),
      parse_mode: 'MarkdownV2',
    };
    return jsonPost(config.url, goJson(body));
  },
}));
