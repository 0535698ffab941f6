// The shared outbound HTTP client (upstream postMessage): pooled undici dispatchers, Go redirect rules, Flux's retry classification.
import { createHash } from 'node:crypto';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { Agent, EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from 'undici';
import { goQuote, goUnescape, parseGoUrl } from './go-url.js';
import { onProviderShutdown } from './lifecycle.js';
import { DeliveryError, type TlsMaterial } from './types.js';

export interface HttpRequestOptions {
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Proxy URL (http, https or socks5); without it HTTP_PROXY/HTTPS_PROXY/NO_PROXY apply. */
  proxy?: string;
  tls?: TlsMaterial;
  /** Aborts this attempt (provider timeout or shutdown). */
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
}

export interface PostMessageOptions {
  headers?: Record<string, string>;
  /** Default `application/json`. */
  contentType?: string;
  /** Adds `Authorization: Basic ...` as upstream does when a provider passes credentials (zulip). */
  basicAuth?: { username: string; password: string };
  proxy?: string;
  tls?: TlsMaterial;
  signal: AbortSignal;
  /** Default POST (matrix uses PUT). */
  method?: string;
}

const MAX_REDIRECTS = 10;
/** Responses are read whole (errors carry the body); this only guards memory against a runaway endpoint. */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const MAX_DISPATCHERS = 64;

// ---------------------------------------------------------------------------------------------------------------
// Headers

/** Go's textproto.CanonicalMIMEHeaderKey: `content-type` -> `Content-Type`; names with invalid bytes stay as they are. */
export function canonicalHeaderKey(name: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name;
  let out = '';
  let upper = true;
  for (const c of name) {
    out += upper ? c.toUpperCase() : c.toLowerCase();
    upper = c === '-';
  }
  return out;
}

/**
 * Merges header sets in order; a later value replaces an earlier one with the same name (case-insensitive)
 * in the earlier one's position. Names are canonicalised as Go sends them.
 */
export function mergeHeaders(...sets: (Record<string, string> | undefined)[]): Record<string, string> {
  const byLower = new Map<string, [string, string]>();
  for (const set of sets) {
    if (!set) continue;
    for (const [name, value] of Object.entries(set)) {
      const lower = name.toLowerCase();
      const prev = byLower.get(lower);
      byLower.set(lower, [prev ? prev[0] : canonicalHeaderKey(name), value]);
    }
  }
  return Object.fromEntries(byLower.values());
}

// ---------------------------------------------------------------------------------------------------------------
// URLs

/**
 * Go's url.ParseRequestURI (providers/README.md §4.4): undefined when the address is accepted, else the cause
 * text (`parse "": empty url`, `parse "x": invalid URI for request`, ...).
 */
export function requestUriCheck(address: string): string | undefined {
  try {
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(address)) throw new Error('net/url: invalid control character in URL');
    if (address === '') throw new Error('empty url');
    if (address === '*') return undefined;
    if (address.startsWith(':')) throw new Error('missing protocol scheme');
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(address)?.[0] ?? '';
    let rest = address.slice(scheme.length);
    const q = rest.indexOf('?');
    if (q >= 0) rest = rest.slice(0, q);
    if (!rest.startsWith('/')) {
      if (scheme !== '') return undefined; // opaque, e.g. host:port
      throw new Error('invalid URI for request');
    }
    if (scheme !== '' && rest.startsWith('//')) {
      const slash = rest.indexOf('/', 2);
      const authority = slash >= 0 ? rest.slice(2, slash) : rest.slice(2);
      rest = slash >= 0 ? rest.slice(slash) : '';
      // A request URI keeps '#' in place; url.Parse would cut there, so judge that character ourselves.
      const host = authority.slice(authority.lastIndexOf('@') + 1);
      if (host.includes('#')) throw new Error('invalid character "#" in host name');
      if (authority.includes('#')) throw new Error('net/url: invalid userinfo');
      try {
        parseGoUrl(`${scheme}//${authority}`);
      } catch (err) {
        throw new Error((err as { cause_?: string }).cause_ ?? (err as Error).message);
      }
    }
    goUnescape(rest, 'path');
    return undefined;
  } catch (err) {
    return `parse ${goQuote(address)}: ${(err as Error).message}`;
  }
}

/** The URL as Flux prints it in errors: a password in the user info becomes `xxxxx`. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/, '$1:xxxxx@');
}

// ---------------------------------------------------------------------------------------------------------------
// Dispatchers: one per (proxy, TLS) configuration, shared by every notification that uses it.

const dispatchers = new Map<string, Dispatcher>();

type TlsConnectOptions = ConnectionOptions & { timeout: number; keepAlive: boolean; keepAliveInitialDelay: number };

function connectOptions(tls: TlsMaterial | undefined): TlsConnectOptions {
  // Go's client: 30 s dial, 30 s TCP keep-alive; verification always on, a CA replaces the system roots.
  const opts: TlsConnectOptions = { timeout: 30_000, keepAlive: true, keepAliveInitialDelay: 30_000 };
  if (tls?.ca) opts.ca = tls.ca;
  if (tls?.cert && tls.key) {
    opts.cert = tls.cert;
    opts.key = tls.key;
  }
  return opts;
}

const AGENT_OPTIONS = {
  // Idle sockets are reused across notifications; no server hint means 30 s.
  keepAliveTimeout: 30_000,
  // The provider timeout (the attempt's signal) bounds the request, as the Go client has no deadline of its own.
  headersTimeout: 0,
  bodyTimeout: 0,
};

function proxyDispatcher(proxy: string, tls: TlsMaterial | undefined): Dispatcher {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch (err) {
    throw new DeliveryError(`unable to parse proxy URL: ${(err as Error).message}`, { retryable: false });
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'socks5') {
    throw new DeliveryError(`unsupported proxy scheme ${goQuote(scheme)} (supported: http, https, socks5)`, { retryable: false });
  }
  const requestTls = connectOptions(tls);
  if (scheme !== 'https') return new ProxyAgent({ ...AGENT_OPTIONS, uri: proxy, requestTls });
  // An https proxy presents its own certificate: trust the system roots plus the provider's CA. (undici would
  // speak TLS to a SOCKS proxy given any proxyTls, hence only here.)
  const proxyTls: ConnectionOptions = tls?.ca ? { ca: [...rootCertificates, tls.ca] } : {};
  return new ProxyAgent({ ...AGENT_OPTIONS, uri: proxy, requestTls, proxyTls });
}

function dispatcherFor(proxy: string | undefined, tls: TlsMaterial | undefined): Dispatcher {
  const env = proxy
    ? []
    : ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'].map((k) => process.env[k] ?? '');
  const key = createHash('sha256')
    .update(JSON.stringify([proxy ?? '', tls?.ca ?? '', tls?.cert ?? '', tls?.key ?? '', env]))
    .digest('hex');
  const cached = dispatchers.get(key);
  if (cached) {
    // Re-insert: the map's order is the LRU order.
    dispatchers.delete(key);
    dispatchers.set(key, cached);
    return cached;
  }
  const connect = connectOptions(tls);
  const dispatcher = proxy
    ? proxyDispatcher(proxy, tls)
    : new EnvHttpProxyAgent({ ...AGENT_OPTIONS, connect, requestTls: connect });
  dispatchers.set(key, dispatcher);
  while (dispatchers.size > MAX_DISPATCHERS) {
    const [oldest, d] = dispatchers.entries().next().value as [string, Dispatcher];
    dispatchers.delete(oldest);
    // close() lets in-flight requests finish.
    d.close().catch(() => undefined);
  }
  return dispatcher;
}

/** Number of live pooled dispatchers (for tests and metrics). */
export function httpDispatcherCount(): number {
  return dispatchers.size;
}

/** Closes every pooled connection; in-flight requests finish first. */
export async function closeHttpClients(): Promise<void> {
  const all = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.allSettled(all.map((d) => d.close()));
}

onProviderShutdown(closeHttpClients);

// ---------------------------------------------------------------------------------------------------------------
// Error classification (providers/README.md §5.2)

const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED', 'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD', 'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The error and its causes (Error.cause, AggregateError.errors), depth-first. */
function errorChain(err: unknown, out: Error[] = [], depth = 0): Error[] {
  if (!(err instanceof Error) || depth > 5) return out;
  out.push(err);
  if (err instanceof AggregateError) for (const e of err.errors) errorChain(e, out, depth + 1);
  if (err.cause) errorChain(err.cause, out, depth + 1);
  return out;
}

const codeOf = (e: Error): string => String((e as { code?: unknown }).code ?? '');

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED',
]);

/** Go's x509 wording for the common verification failures; Node's own text otherwise (without its CLI hint). */
function goTlsText(code: string, message: string): string {
  if (UNKNOWN_AUTHORITY.has(code)) return 'x509: certificate signed by unknown authority';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return 'x509: certificate has expired or is not yet valid';
  return message.replace(/; if the root CA is installed locally.*$/s, '');
}

function describeCause(err: unknown): string {
  const chain = errorChain(err);
  const tls = chain.find((e) => TLS_VERIFY_CODES.has(codeOf(e)));
  if (tls) return `tls: failed to verify certificate: ${goTlsText(codeOf(tls), tls.message)} (${codeOf(tls)})`;
  const first = chain[0];
  if (!first) return String(err);
  if (first.message) return first.message;
  const inner = chain.slice(1).map((e) => e.message).filter(Boolean);
  return inner.length > 0 ? inner.join('; ') : codeOf(first) || first.name;
}

function isRetryableTransportError(err: unknown): boolean {
  for (const e of errorChain(err)) {
    const code = codeOf(e);
    if (TLS_VERIFY_CODES.has(code)) return false;
    // undici rejects invalid header names/values before sending (Go: "invalid header field").
    if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_HTTP_TOKEN' || code === 'ERR_INVALID_CHAR') return false;
    if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return false;
  }
  return true;
}

/** Go's url.Error op: `Post`, `Get`, `Put`. */
function urlErrorOp(method: string): string {
  return method.slice(0, 1) + method.slice(1).toLowerCase();
}

function abortError(op: string, url: string, signal: AbortSignal): DeliveryError {
  const reason: unknown = signal.reason;
  const timeout = reason instanceof Error && reason.name === 'TimeoutError';
  return new DeliveryError(`${op} ${goQuote(redactUrl(url))}: ${timeout ? 'context deadline exceeded' : 'context canceled'}`, {
    retryable: false,
    cause: reason,
  });
}

export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850 = /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/** A Retry-After value (delta-seconds or HTTP-date) in ms; a date in the past gives 0; undefined when invalid. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  let t = Number.NaN;
  if (IMF_FIXDATE.test(v) || RFC850.test(v)) t = Date.parse(v);
  else if (ASCTIME.test(v)) t = Date.parse(`${v} GMT`);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** The error for a response outside 2xx, classified for the retry policy. */
export function statusError(res: HttpResponse): DeliveryError {
  const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
  return new DeliveryError(`request failed with status code ${res.status}: ${res.body}`, {
    retryable: isRetryableStatus(res.status),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

const SENSITIVE_ON_REDIRECT = new Set(['authorization', 'www-authenticate', 'cookie', 'cookie2']);

/** Go's isDomainOrSubdomain, for whether credentials may follow a redirect. */
function sameOrSubdomain(dest: string, initial: string): boolean {
  return dest === initial || dest.endsWith(`.${initial}`);
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Go's client turns URL user info into basic auth unless the request already has an Authorization header. */
function withUrlCredentials(headers: Record<string, string>, url: URL): Record<string, string> {
  if (url.username === '' && url.password === '') return headers;
  if (Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) return headers;
  const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { ...headers, Authorization: `Basic ${Buffer.from(user).toString('base64')}` };
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw Object.assign(new Error(`response body exceeds ${MAX_RESPONSE_BYTES} bytes`), { code: 'UND_ERR_RES_EXCEEDED_MAX_SIZE' });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One HTTP exchange with Go's redirect policy. Any status is returned; transport problems throw a DeliveryError
 * classified as Flux's retry policy does (TLS verification, bad scheme, invalid header and aborts are final).
 */
export async function httpRequest(url: string, opts: HttpRequestOptions): Promise<HttpResponse> {
  let method = (opts.method ?? 'GET').toUpperCase();
  const op = urlErrorOp(method);
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1] ?? '';
    const cause = scheme === '' || url.startsWith('/') ? 'unsupported protocol scheme ""' : `invalid URL`;
    throw new DeliveryError(`${op} ${goQuote(redactUrl(url))}: ${cause}`, { retryable: false });
  }
  const initial = current;
  let headers = { ...(opts.headers ?? {}) };
  let body: string | Buffer | undefined = opts.body;
  let stripSensitive = false;
  let shownUrl = url;

  for (let requests = 1; ; requests++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') {
      throw new DeliveryError(`${op} ${goQuote(redactUrl(shownUrl))}: unsupported protocol scheme ${goQuote(current.protocol.slice(0, -1))}`, {
        retryable: false,
      });
    }
    if (opts.signal.aborted) throw abortError(op, shownUrl, opts.signal);
    const dispatcher = dispatcherFor(opts.proxy, opts.tls);
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatcher.request({
        origin: current.origin,
        path: `${current.pathname}${current.search}`,
        method,
        headers: withUrlCredentials(headers, current),
        body: body ?? null,
        signal: opts.signal,
      });
    } catch (err) {
      if (opts.signal.aborted) throw abortError(op, shownUrl, opts.signal);
      throw new DeliveryError(`${op} ${goQuote(redactUrl(shownUrl))}: ${describeCause(err)}`, {
        retryable: isRetryableTransportError(err),
        cause: err,
      });
    }

    const location = res.headers['location'];
    const loc = Array.isArray(location) ? location[0] : location;
    const status = res.statusCode;
    const bodyless = status === 301 || status === 302 || status === 303;
    if ((bodyless || status === 307 || status === 308) && loc) {
      await res.body.dump().catch(() => undefined);
      if (requests >= MAX_REDIRECTS) {
        throw new DeliveryError(`${op} ${goQuote(redactUrl(loc))}: stopped after ${MAX_REDIRECTS} redirects`, { retryable: false });
      }
      let next: URL;
      try {
        next = new URL(loc, current);
      } catch (err) {
        throw new DeliveryError(`${op} ${goQuote(redactUrl(shownUrl))}: failed to parse Location header ${goQuote(loc)}: ${(err as Error).message}`, {
          retryable: false,
        });
      }
      if (bodyless && method !== 'GET' && method !== 'HEAD') {
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'content-length'));
      }
      if (!stripSensitive && next.host !== initial.host && !sameOrSubdomain(next.hostname, initial.hostname)) stripSensitive = true;
      if (stripSensitive) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !SENSITIVE_ON_REDIRECT.has(k.toLowerCase())));
      current = next;
      shownUrl = next.href;
      continue;
    }

    let text: string;
    try {
      text = await readBody(res.body);
    } catch (err) {
      if (opts.signal.aborted) throw abortError(op, shownUrl, opts.signal);
      throw new DeliveryError(`${op} ${goQuote(redactUrl(shownUrl))}: ${describeCause(err)}`, {
        retryable: isRetryableTransportError(err),
        cause: err,
      });
    }
    return { status, headers: flattenHeaders(res.headers), body: text };
  }
}

/**
 * Flux's postMessage for one attempt: `Content-Type` first, then basic auth, then the provider's headers
 * (which may replace both). A response outside 2xx throws statusError's DeliveryError.
 */
export async function postMessage(url: string, body: string | Buffer, opts: PostMessageOptions): Promise<HttpResponse> {
  const auth = opts.basicAuth && (opts.basicAuth.username !== '' || opts.basicAuth.password !== '')
    ? { Authorization: `Basic ${Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString('base64')}` }
    : undefined;
  const headers = mergeHeaders({ 'Content-Type': opts.contentType ?? 'application/json' }, auth, opts.headers);
  const req: HttpRequestOptions = { method: opts.method ?? 'POST', headers, body, signal: opts.signal };
  if (opts.proxy) req.proxy = opts.proxy;
  if (opts.tls) req.tls = opts.tls;
  const res = await httpRequest(url, req);
  if (res.status < 200 || res.status >= 300) throw statusError(res);
  return res;
}
