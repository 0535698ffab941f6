// The chat family's webhook address: checked at parse time with errors that never print it, and kept out of
// delivery errors too, because a chat webhook URL is its credential (Slack, Teams, Discord, Google Chat, Rocket.Chat).
import { urlCredentials } from '../../logger.js';
import { goQuote, requestUriCheck } from '../../go/url.js';
import { addressSource, maskedDeliveryError } from '../errors.js';
import type { HttpProviderConfig } from '../http/provider.js';
import { ConfigError, DeliveryError, type ProviderDefinition, type ProviderSettings } from '../types.js';

/** `provider <ns>/<name>`, the prefix of every configuration error. */
export function providerRef(settings: ProviderSettings): string {
  const m = settings.provider.metadata;
  return `provider ${m.namespace}/${m.name}`;
}

export interface AddressCheck {
  /** How Flux names the URL in its error (`Slack hook URL`, `MS Teams webhook URL`). */
  what: string;
  /**
   * Whether the address may be printed: an API endpoint with a separate token (webex) may; a webhook that carries
   * its key in the URL may not, wherever it is configured.
   */
  public?: boolean;
}

/**
 * Flux's request-URI check of the address (providers/README.md §4.4) with an error that names the Provider, where
 * the address is configured (spec.address, or the Secret and its key) and why it is refused. A webhook address is
 * not printed: it carries the webhook's key even when it is in spec.address.
 */
export function checkAddress(settings: ProviderSettings, check: AddressCheck): string {
  const address = settings.address;
  if (address === '') {
    const hint = settings.secretName ? `spec.address or the key 'address' of secret ${settings.secretName}` : 'spec.address, or the key \'address\' of a Secret named by spec.secretRef';
    throw new ConfigError(`${providerRef(settings)}: no ${check.what}: set ${hint}`);
  }
  const cause = requestUriCheck(address);
  if (cause === undefined) return address;
  // `provider <ns>/<name>: spec.address` or `provider <ns>/<name>: secret <ns>/<name> key 'address'`.
  const where = addressSource(settings);
  if (check.public) throw new ConfigError(`${where}: invalid ${check.what} ${address}: '${cause}'`);
  const reason = cause.startsWith(`parse ${goQuote(address)}: `) ? cause.slice(`parse ${goQuote(address)}: `.length) : 'not a URL';
  throw new ConfigError(`${where}: invalid ${check.what}: ${reason} (the URL is not shown: it carries the webhook's key)`);
}

/**
 * The parts of a webhook URL that give its key away, for masking: the path with its query (servers echo it without
 * the host) and longer query values (`?key=...&token=...`). The scheme and host stay readable in errors.
 */
export function webhookSecrets(url: string): string[] {
  const out = new Set<string>();
  const pathAndQuery = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([/?][^#]*)/.exec(url)?.[1];
  if (pathAndQuery && pathAndQuery !== '/') out.add(pathAndQuery);
  for (const part of urlCredentials(url)) out.add(part);
  return [...out];
}

/** A chat config that names what its errors must not show. */
export interface MaskedConfig {
  /** Webhook URL parts masked out of every delivery error (empty for a public API endpoint). */
  readonly masked: readonly string[];
}

/**
 * The provider with delivery errors that hold no part of the webhook URL. The worker masks the Secret `address`
 * already; this covers a webhook written into spec.address, which Flux allows.
 */
export function withMaskedErrors<C extends MaskedConfig>(def: ProviderDefinition<HttpProviderConfig<C>>): ProviderDefinition<HttpProviderConfig<C>> {
  const send = def.send.bind(def);
  return {
    ...def,
    async send(n, config, ctx) {
      try {
        await send(n, config, ctx);
      } catch (err) {
        const masked = config.config.masked;
        if (!(err instanceof DeliveryError) || masked.length === 0) throw err;
        throw maskedDeliveryError(err, masked);
      }
    },
  };
}
