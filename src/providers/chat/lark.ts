// The `lark` provider (spec providers/lark.md): an interactive card to a Lark / Feishu custom-bot webhook.
import type { FluxEvent } from '../../api/event.js';
import { goJson } from '../../go/json.js';
import { bodyExcerpt } from '../http/errors.js';
import type { HttpResponse } from '../http/client.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { dottedLabel, sortedMetadata } from '../labels.js';
import { renderedText, renderedTitle } from '../rendered.js';
import type { Notification } from '../types.js';
import { DeliveryError } from '../types.js';
import { checkAddress, webhookSecrets, withMaskedErrors } from './address.js';
import { alertEmoji } from './alert-emoji.js';

export interface LarkConfig {
  url: string;
  /** The webhook URL's key parts, masked out of every delivery error. */
  masked: string[];
}

/** `**message**`, a blank line, then one `key: value` line per metadata entry (sorted); no escaping, as in Flux. */
export function larkContent(event: Pick<FluxEvent, 'message' | 'metadata'>): string {
  let content = `**${event.message}**\n\n`;
  for (const [key, value] of sortedMetadata(event)) content += `${key}: ${value}\n`;
  return content;
}

/** The card in Go's field order. */
export function larkBody(event: FluxEvent, n: Pick<Notification, 'rendered'> = {}): string {
  return goJson({
    msg_type: 'interactive',
    card: {
      config: { wide_screen_mode: true },
      header: {
        title: { tag: 'plain_text', content: renderedTitle(n, `${alertEmoji(event)} ${dottedLabel(event)}`) },
        template: event.severity === 'error' ? 'red' : 'turquoise',
      },
      elements: [{ tag: 'div', text: { tag: 'lark_md', content: renderedText(n, larkContent(event)) } }],
    },
  });
}

/** Lark's "request frequency limited" code for custom bots: worth retrying later. */
const LARK_RATE_LIMITED = 11232;

/**
 * Lark answers most failures with HTTP 200 and a non-zero `code` (`{"code":19001,"msg":"param invalid"}`; older
 * endpoints `StatusCode`/`StatusMessage`). Flux counts those as delivered; Herald reports them as failed deliveries.
 */
export function checkLarkResponse(res: HttpResponse): void {
  let reply: unknown;
  try {
    reply = JSON.parse(res.body);
  } catch {
    return; // not Lark's JSON envelope: the 2xx status is all there is
  }
  if (reply === null || typeof reply !== 'object') return;
  const r = reply as Record<string, unknown>;
  const code = typeof r['code'] === 'number' ? r['code'] : r['StatusCode'];
  if (typeof code !== 'number' || code === 0) return;
  const rateLimited = code === LARK_RATE_LIMITED;
  throw new DeliveryError(`request failed with status code ${res.status} and Lark error code ${code}: ${bodyExcerpt(res.body)}`, {
    retryable: rateLimited,
    reason: rateLimited ? 'rate-limited' : 'client',
  });
}

export const LarkProvider = withMaskedErrors(defineHttpProvider<LarkConfig>({
  type: 'lark',
  category: 'chat',
  // Flux applies neither the Provider's proxy nor certSecretRef (environment proxy variables still apply).
  transport: { proxy: false, tls: false },
  parse(settings) {
    // Flux's wording (it reuses Slack's); the webhook URL, which carries the bot's key, is never printed.
    const url = checkAddress(settings, { what: 'Slack hook URL' });
    return { url, masked: webhookSecrets(url) };
  },
  request(n, config) {
    return jsonPost(config.url, larkBody(n.event, n));
  },
  checkResponse: (res) => checkLarkResponse(res),
}));
