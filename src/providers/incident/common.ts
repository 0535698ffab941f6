// What the incident providers share (pagerduty, opsgenie, incident.io, alertmanager, grafana, datadog): configuration
// errors that name the Provider, Secret and key, the auth headers, Go's time formats and one exchange with a prefix.
import { maskSecrets } from '../../logger.js';
import { requestUriCheck } from '../../go/url.js';
import { basicAuth } from '../http/headers.js';
import { httpRequest, type HttpResponse } from '../http/client.js';
import { bodyExcerpt, statusError } from '../http/errors.js';
import type { HttpExchange } from '../http/provider.js';
import type { Transport } from '../http/pool.js';
import { addressSource, maskedDeliveryError } from '../errors.js';
import { ConfigError, DeliveryError, type ProviderSettings } from '../types.js';

/** `provider <ns>/<name>`, the start of every configuration error. */
export function providerWhere(settings: ProviderSettings): string {
  return `provider ${settings.provider.metadata.namespace}/${settings.provider.metadata.name}`;
}

function secretHas(settings: ProviderSettings, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(settings.secretData, key);
}

/**
 * A ConfigError with Flux's text, naming the Provider and where the bad value came from. A Secret `address` is a
 * credential (signed URLs), so it is masked here as well: configuration errors are logged before any masking.
 */
export function configError(settings: ProviderSettings, fluxText: string, source?: string): ConfigError {
  const text = `${providerWhere(settings)}: ${fluxText}${source ? ` (${source})` : ''}`;
  return new ConfigError(maskSecrets(text, settings.sensitive));
}

/** A ConfigError about the address: `provider <ns>/<name>: spec.address: <Flux's text>` (or the Secret key), masked. */
export function addressError(settings: ProviderSettings, fluxText: string): ConfigError {
  return new ConfigError(maskSecrets(`${addressSource(settings)}: ${fluxText}`, settings.sensitive));
}

/**
 * Go's url.ParseRequestURI check of the address (README §4.4); `fluxText` turns the address and Go's cause into
 * the type's constructor text.
 */
export function checkAddress(settings: ProviderSettings, fluxText: (address: string, cause: string) => string): string {
  const cause = requestUriCheck(settings.address);
  if (cause !== undefined) throw addressError(settings, fluxText(settings.address, cause));
  return settings.address;
}

/** The Secret `token`, or a ConfigError with Flux's text saying which Secret and key to fill in. */
export function requireToken(settings: ProviderSettings, fluxText: string, what: string): string {
  if (settings.token !== '') return settings.token;
  let source: string;
  if (!settings.secretName) source = `spec.secretRef is not set; put the ${what} in a Secret under the key 'token'`;
  else if (!secretHas(settings, 'token')) source = `secret ${settings.secretName} has no key 'token'`;
  else source = `secret ${settings.secretName} key 'token' is empty`;
  throw configError(settings, fluxText, source);
}

/** `Authorization: Bearer <token>`. */
export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** `Authorization: Basic base64(user:pass)`. */
export function basic(username: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${basicAuth(username, password)}` };
}

/** Go's zero time.Time formatted as RFC 3339: what an event without a timestamp carries. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** `time.Time.Format(time.RFC3339)` of the event time (events carry whole UTC seconds). */
export function rfc3339Seconds(timestamp: string | null): string {
  return timestamp ?? GO_ZERO_TIME;
}

/** `time.Time.Unix()` of the event time; Go's zero time for an event without one. */
export function unixSeconds(timestamp: string | null): number {
  return Math.floor(Date.parse(timestamp ?? GO_ZERO_TIME) / 1000);
}

export interface ExchangeOptions {
  transport: Transport;
  signal: AbortSignal;
  /** Flux's wrapping of every failure of this exchange (`failed sending event: `). */
  prefix: string;
  /** The text of a non-2xx answer; default Flux's shared client wording with the body. */
  statusText?: (res: HttpResponse) => string;
  /** Read a 2xx body (the caller checks it); default not. */
  readBody?: boolean;
  /** Values to cut out of every error text of this exchange (a routing key that is not a Secret value). */
  mask?: readonly string[];
}

/**
 * One exchange of a type that makes several, or words its errors itself: classified as the kit classifies
 * (providers/README.md §5.2), prefixed as Flux prefixes it.
 */
export async function sendExchange(exchange: HttpExchange, opts: ExchangeOptions): Promise<HttpResponse> {
  const fail = (err: DeliveryError): DeliveryError =>
    opts.mask && opts.mask.length > 0 ? maskedDeliveryError(err, opts.mask, opts.prefix) : err.prefixed(opts.prefix);
  let res: HttpResponse;
  try {
    res = await httpRequest(exchange.url, {
      method: exchange.method,
      headers: exchange.headers,
      ...(exchange.body !== undefined ? { body: exchange.body } : {}),
      transport: opts.transport,
      signal: opts.signal,
      ignoreSuccessBody: !opts.readBody,
    });
  } catch (err) {
    if (err instanceof DeliveryError) throw fail(err);
    throw err;
  }
  if (res.status < 200 || res.status >= 300) {
    // Masked before the excerpt is cut, so a value cut in two at the excerpt's end cannot leak its first part.
    const shown = opts.mask && opts.mask.length > 0 ? { ...res, body: maskSecrets(res.body, opts.mask) } : res;
    throw fail(statusError(res, opts.statusText ? opts.statusText(shown) : `request failed with status code ${res.status}: ${bodyExcerpt(shown.body)}`));
  }
  return res;
}
