// The one shape of an HTTP provider: a pure request builder (and an optional answer check) turned into a provider.
import type { ProviderCategory, ProviderDefinition, ProviderSettings, SecretKey, Notification, ParseContext } from '../types.js';
import type { ProviderType } from '../../api/provider.js';
import { DeliveryError } from '../types.js';
import { httpRequest, type HttpResponse } from './client.js';
import { statusError } from './errors.js';
import { mergeHeaders } from './headers.js';
import type { Transport } from './pool.js';

/** One request, as a provider describes it: nothing is sent by the provider itself. */
export interface HttpExchange {
  method: string;
  url: string;
  /** In the order they go on the wire; names are canonicalised as Go sends them. */
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** Which of proxySecretRef / certSecretRef a type applies (spec, per type). Both by default, as Flux's shared client. */
export interface TransportSupport {
  proxy: boolean;
  tls: boolean;
}

export interface HttpProviderSpec<C> {
  type: ProviderType;
  category: ProviderCategory;
  secretKeys?: readonly SecretKey[];
  transport?: TransportSupport;
  /** Settings to the type's config; pure, throws ConfigError naming the Provider, Secret and key. */
  parse(settings: ProviderSettings): C;
  /** The request for one notification, or undefined when the type sends nothing for it (a skip). Pure. */
  request(n: Notification, config: C): HttpExchange | undefined;
  /**
   * A 2xx answer that still means failure (Slack's `ok: false`, Lark's non-zero code): throw a DeliveryError.
   * Without it the 2xx body is not read at all, as Flux's client does not read it.
   */
  checkResponse?(res: HttpResponse, config: C): void;
  /** Prefix of every failure, as Flux wraps it; default `postMessage failed: `. */
  errorPrefix?: string;
}

/** A parsed HTTP provider config: the type's own config and the transport resolved once for it. */
export interface HttpProviderConfig<C> {
  config: C;
  transport: Transport;
}

const DEFAULT_TRANSPORT: TransportSupport = { proxy: true, tls: true };

/** The transport a provider's settings ask for, limited to what its type applies; acquired from the instance's pool. */
export function resolveTransport(settings: ProviderSettings, ctx: ParseContext, support: TransportSupport = DEFAULT_TRANSPORT): Transport {
  return ctx.runtime.http.transport({
    proxy: support.proxy ? settings.proxy : undefined,
    tls: support.tls ? settings.tls : undefined,
  });
}

/** A JSON POST with `Content-Type` first, then each header set in order (a later one replaces an earlier name). */
export function jsonPost(url: string, body: string, ...headers: (Record<string, string> | undefined)[]): HttpExchange {
  return { method: 'POST', url, headers: mergeHeaders({ 'Content-Type': 'application/json' }, ...headers), body };
}

/**
 * Turns a request builder into a provider: the pooled transport (proxy, TLS) is resolved when the config is parsed,
 * each send is one exchange, statuses are classified as Flux's shared client does (providers/README.md §5.2) with
 * Retry-After honoured, and every failure is a DeliveryError with a reason.
 */
export function defineHttpProvider<C>(spec: HttpProviderSpec<C>): ProviderDefinition<HttpProviderConfig<C>> {
  const prefix = spec.errorPrefix ?? 'postMessage failed: ';
  const support = spec.transport ?? DEFAULT_TRANSPORT;
  const check = spec.checkResponse;
  return {
    type: spec.type,
    category: spec.category,
    secretKeys: spec.secretKeys ?? [],
    transport: support,
    parse(settings, ctx) {
      const config = spec.parse(settings);
      return { config, transport: resolveTransport(settings, ctx, support) };
    },
    preview(n, { config }) {
      const exchange = spec.request(n, config);
      return exchange ? { kind: 'http', ...exchange } : undefined;
    },
    async send(n, { config, transport }, ctx) {
      const exchange = spec.request(n, config);
      if (!exchange) return;
      try {
        const res = await httpRequest(exchange.url, {
          method: exchange.method,
          headers: exchange.headers,
          ...(exchange.body !== undefined ? { body: exchange.body } : {}),
          transport,
          signal: ctx.signal,
          ignoreSuccessBody: check === undefined,
        });
        if (res.status < 200 || res.status >= 300) throw statusError(res);
        check?.(res, config);
      } catch (err) {
        if (err instanceof DeliveryError) throw err.prefixed(prefix);
        throw err;
      }
    },
    async close({ transport }) {
      transport.release();
    },
  };
}
