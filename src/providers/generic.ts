// The webhook forwarders `generic` and `generic-hmac` (spec providers/generic.md, generic-hmac.md): the whole event as JSON.
import { createHmac } from 'node:crypto';
import { encodeEvent } from '../api/event.js';
import { mergeHeaders, postMessage, requestUriCheck } from './http.js';
import { ConfigError, DeliveryError, type Notification, type ProviderDefinition, type ProviderSettings, type SendContext, type TlsMaterial } from './types.js';

export interface ForwarderConfig {
  url: string;
  /** Secret headers, applied after the built-in ones. */
  headers: Record<string, string>;
  /** HMAC-SHA256 key (generic-hmac only): the Secret `token` bytes, untrimmed. */
  hmacKey?: Buffer;
  proxy?: string;
  tls?: TlsMaterial;
}

function parseForwarder(settings: ProviderSettings, signed: boolean): ForwarderConfig {
  const cause = requestUriCheck(settings.address);
  if (cause !== undefined) throw new ConfigError(`invalid hook URL ${settings.address}: ${cause}`);
  const config: ForwarderConfig = { url: settings.address, headers: settings.headers };
  if (signed) {
    if (settings.token === '') throw new ConfigError('HMAC key is empty');
    // Raw bytes: a Secret made from a file with a trailing newline signs with that newline, as in Flux.
    config.hmacKey = settings.secretData['token'] ?? Buffer.from(settings.token, 'utf8');
  }
  if (settings.proxy) config.proxy = settings.proxy;
  if (settings.tls) config.tls = settings.tls;
  return config;
}

/** `sha256=` + hex HMAC of the exact body bytes sent. */
export function hmacSignature(key: Buffer, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body, 'utf8').digest('hex')}`;
}

async function forward(n: Notification, config: ForwarderConfig, ctx: SendContext): Promise<void> {
  const body = encodeEvent(n.event);
  const headers = mergeHeaders(
    { 'Gotk-Component': n.event.reportingController },
    config.headers,
    config.hmacKey ? { 'X-Signature': hmacSignature(config.hmacKey, body) } : undefined,
  );
  try {
    await postMessage(config.url, body, {
      headers,
      signal: ctx.signal,
      ...(config.proxy ? { proxy: config.proxy } : {}),
      ...(config.tls ? { tls: config.tls } : {}),
    });
  } catch (err) {
    if (!(err instanceof DeliveryError)) throw err;
    throw new DeliveryError(`postMessage failed: ${err.message}`, {
      retryable: err.retryable,
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
      cause: err,
    });
  }
}

/** The one forwarder implementation; `generic-hmac` is the same with a signing key required. */
export function forwarder(type: 'generic' | 'generic-hmac'): ProviderDefinition<ForwarderConfig> {
  const signed = type === 'generic-hmac';
  return {
    type,
    parse: (settings) => parseForwarder(settings, signed),
    send: forward,
  };
}

export const GenericProvider = forwarder('generic');
