// One HTTP exchange as Go's client makes it (redirect rules, URL credentials) over a parse-time Transport, and Flux's postMessage.
import type { Dispatcher } from 'undici';
import { goQuote, redactUrl } from '../../go/url.js';
import { DeliveryError } from '../types.js';
import { abortError, statusError, transportError, urlErrorOp } from './errors.js';
import { basicAuth, mergeHeaders } from './headers.js';
import type { Transport } from './pool.js';

export interface HttpRequestOptions {
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The pooled dispatcher (proxy, TLS) the provider config resolved at parse time. */
  transport: Transport;
  /** Aborts this attempt (provider timeout or shutdown). */
  signal: AbortSignal;
  /** Do not read a 2xx body (the caller does not look at it). */
  ignoreSuccessBody?: boolean;
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
  transport: Transport;
  signal: AbortSignal;
  /** Default POST (matrix uses PUT). */
  method?: string;
  ignoreSuccessBody?: boolean;
}

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Responses are read whole (errors carry an excerpt of the body); this only guards memory against a runaway endpoint. */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

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

/**
 * Parsed request URLs by their text: a provider sends to the same few URLs over and over, and parsing one is a
 * measurable part of a send. Read-only once parsed (a redirect parses a new one); bounded by clearing when full.
 */
const parsedUrls = new Map<string, URL>();
const MAX_PARSED_URLS = 1024;

function parseUrl(url: string): URL {
  let parsed = parsedUrls.get(url);
  if (parsed === undefined) {
    parsed = new URL(url);
    if (parsedUrls.size >= MAX_PARSED_URLS) parsedUrls.clear();
    parsedUrls.set(url, parsed);
  }
  return parsed;
}

/** A 2xx body nobody reads is discarded up to this much; beyond it the connection is closed instead. */
const MAX_DISCARDED_BYTES = 64 * 1024;

/** Response headers as undici hands them over: lower-case names, repeated ones as arrays. */
type RawHeaders = Record<string, string | string[] | undefined>;

interface Exchanged {
  statusCode: number;
  headers: RawHeaders;
  /** The body as text, or '' when it was discarded. */
  body: string;
}

/**
 * One request and its answer through undici's handler interface. This is the send path of every HTTP provider, and
 * `Dispatcher.request` wraps each answer in a Readable stream and a promise chain: about a fifth of the client's CPU
 * per request in a loop against a local server (21.6 -> 17.2 us). Here the body is collected, or discarded, as it
 * arrives.
 * `discard(status)` says whether the body is read: a discarded one settles as soon as the status is known when
 * `early` also says so (Flux does not wait for a 2xx body it does not read), else once the body has been skipped.
 */
function exchange(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal,
  discard: (status: number, headers: RawHeaders) => { discard: boolean; early: boolean }): Promise<Exchanged> {
  return new Promise((resolve, reject) => {
    let controller: { abort(reason: Error): void } | undefined;
    let settled = false;
    const onAbort = () => controller?.abort(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    const done = () => signal.removeEventListener('abort', onAbort);
    const fail = (err: Error) => {
      done();
      if (!settled) {
        settled = true;
        reject(err);
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let status = 0;
    let headers: RawHeaders = {};
    let mode = { discard: false, early: false };
    const chunks: Buffer[] = [];
    let size = 0;
    dispatcher.dispatch(options, {
      onRequestStart(ctl) {
        controller = ctl;
        if (signal.aborted) onAbort();
      },
      onResponseStart(_ctl, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders as RawHeaders;
        mode = discard(statusCode, headers);
        if (mode.discard && mode.early) {
          // Settled now; the rest of the body is skipped without the attempt's signal.
          done();
          settled = true;
          resolve({ statusCode: status, headers, body: '' });
        }
      },
      onResponseData(ctl, chunk) {
        size += chunk.length;
        if (mode.discard) {
          if (size > MAX_DISCARDED_BYTES) ctl.abort(new Error('discarded body too large'));
          return;
        }
        if (size > MAX_RESPONSE_BYTES) {
          ctl.abort(Object.assign(new Error(`response body exceeds ${MAX_RESPONSE_BYTES} bytes`), { code: 'UND_ERR_RES_EXCEEDED_MAX_SIZE' }));
          return;
        }
        chunks.push(chunk);
      },
      onResponseEnd() {
        done();
        if (settled) return;
        settled = true;
        resolve({ statusCode: status, headers, body: mode.discard ? '' : Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_ctl, err) {
        fail(err);
      },
    });
  });
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
    current = parseUrl(url);
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
    let res: Exchanged;
    try {
      res = await exchange(opts.transport.dispatcher, {
        origin: current.origin,
        path: `${current.pathname}${current.search}`,
        method,
        headers: withUrlCredentials(headers, current),
        body: body ?? null,
      }, opts.signal, (status, answer) => {
        // A followed redirect's body is skipped before the next request; an ignored 2xx body is not waited for.
        if (REDIRECTS.has(status) && answer['location']) return { discard: true, early: false };
        if (opts.ignoreSuccessBody && status >= 200 && status < 300) return { discard: true, early: true };
        return { discard: false, early: false };
      });
    } catch (err) {
      if (opts.signal.aborted) throw abortError(op, shownUrl, opts.signal);
      throw transportError(op, shownUrl, err);
    }

    const location = res.headers['location'];
    const loc = Array.isArray(location) ? location[0] : location;
    const status = res.statusCode;
    if (REDIRECTS.has(status) && loc) {
      // 301/302/303 turn a POST into a bodyless GET; 307/308 repeat the request as it was.
      const bodyless = status === 301 || status === 302 || status === 303;
      let next: URL;
      try {
        next = new URL(loc, current);
      } catch (err) {
        throw new DeliveryError(`${op} ${goQuote(redactUrl(shownUrl))}: failed to parse Location header ${goQuote(loc)}: ${(err as Error).message}`, {
          retryable: false,
        });
      }
      // Go names the absolute URL of the request it refused to make, not the Location as written.
      if (requests >= MAX_REDIRECTS) {
        throw new DeliveryError(`${op} ${goQuote(redactUrl(next.href))}: stopped after ${MAX_REDIRECTS} redirects`, { retryable: false });
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

    if (opts.ignoreSuccessBody && status >= 200 && status < 300) {
      // Flux never reads a 2xx body it does not need: a huge or trickling one must not turn success into failure.
      // Nobody reads the headers of an answer whose body is ignored, as a rule: flatten them only if asked.
      const raw = res.headers;
      return { status, get headers() { return flattenHeaders(raw); }, body: '' };
    }
    return { status, headers: flattenHeaders(res.headers), body: res.body };
  }
}

/**
 * Flux's postMessage for one attempt: `Content-Type` first, then basic auth, then the provider's headers
 * (which may replace both). A response outside 2xx throws statusError's DeliveryError.
 */
export async function postMessage(url: string, body: string | Buffer, opts: PostMessageOptions): Promise<HttpResponse> {
  const auth = opts.basicAuth && (opts.basicAuth.username !== '' || opts.basicAuth.password !== '')
    ? { Authorization: `Basic ${basicAuth(opts.basicAuth.username, opts.basicAuth.password)}` }
    : undefined;
  const headers = mergeHeaders({ 'Content-Type': opts.contentType ?? 'application/json' }, auth, opts.headers);
  const res = await httpRequest(url, {
    method: opts.method ?? 'POST', headers, body, signal: opts.signal, transport: opts.transport, ignoreSuccessBody: opts.ignoreSuccessBody ?? false,
  });
  if (res.status < 200 || res.status >= 300) throw statusError(res);
  return res;
}
