// The webhook forwarders `generic` and `generic-hmac` (spec providers/generic.md, generic-hmac.md): the whole event as JSON.
import { createHmac } from 'node:crypto';
import { encodeEvent } from '../api/event.js';
import { requestUriCheck } from '../go/url.js';
import { defineHttpProvider, jsonPost } from './http/provider.js';
import { renderedBody } from './rendered.js';
import { ConfigError, type ProviderSettings } from './types.js';

export interface ForwarderConfig {
  url: string;
  /** Secret headers, applied after the built-in ones. */
  headers: Record<string, string>;
  /** HMAC-SHA256 key (generic-hmac only): the Secret `token` bytes, untrimmed. */
  hmacKey?: Buffer;
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
  return config;
}

/** `sha256=` + hex HMAC of the exact body bytes sent. */
export function hmacSignature(key: Buffer, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body, 'utf8').digest('hex')}`;
}

/** The one forwarder implementation; `generic-hmac` is the same with a signing key required. */
export function forwarder(type: 'generic' | 'generic-hmac') {
  const signed = type === 'generic-hmac';
  return defineHttpProvider<ForwarderConfig>({
    type,
    category: 'forwarding',
    parse: (settings) => parseForwarder(settings, signed),
    request(n, config) {
      // An Alert template (herald.dev/template) replaces the whole body and its content type; the HMAC signs what is sent.
      const rendered = renderedBody(n);
      const body = rendered?.body ?? encodeEvent(n.event);
      return jsonPost(
        config.url,
        body,
        rendered ? { 'Content-Type': rendered.contentType } : undefined,
        { 'Gotk-Component': n.event.reportingController },
        config.headers,
        config.hmacKey ? { 'X-Signature': hmacSignature(config.hmacKey, body) } : undefined,
      );
    },
  });
}

export const GenericProvider = forwarder('generic');
