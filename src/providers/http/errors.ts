// Flux's retry classification of HTTP outcomes (providers/README.md §5.2), with Go's error wording and Herald's failure reasons.
import { goQuote, redactUrl } from '../../go/url.js';
import { DeliveryError, type FailureReason } from '../types.js';
import type { HttpResponse } from './client.js';

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

export function describeCause(err: unknown): string {
  const chain = errorChain(err);
  const tls = chain.find((e) => TLS_VERIFY_CODES.has(codeOf(e)));
  if (tls) return `tls: failed to verify certificate: ${goTlsText(codeOf(tls), tls.message)} (${codeOf(tls)})`;
  const first = chain[0];
  if (!first) return String(err);
  if (first.message) return first.message;
  const inner = chain.slice(1).map((e) => e.message).filter(Boolean);
  return inner.length > 0 ? inner.join('; ') : codeOf(first) || first.name;
}

export function isRetryableTransportError(err: unknown): boolean {
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
export function urlErrorOp(method: string): string {
  return method.slice(0, 1) + method.slice(1).toLowerCase();
}

export function abortError(op: string, url: string, signal: AbortSignal): DeliveryError {
  const reason: unknown = signal.reason;
  const timeout = reason instanceof Error && reason.name === 'TimeoutError';
  return new DeliveryError(`${op} ${goQuote(redactUrl(url))}: ${timeout ? 'context deadline exceeded' : 'context canceled'}`, {
    retryable: false,
    reason: 'timeout',
    cause: reason,
  });
}

/** The error for a transport failure (nothing or no complete answer came back), classified as Flux's client does. */
export function transportError(op: string, url: string, err: unknown): DeliveryError {
  return new DeliveryError(`${op} ${goQuote(redactUrl(url))}: ${describeCause(err)}`, {
    retryable: isRetryableTransportError(err),
    reason: 'transport',
    cause: err,
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

/** The failure reason a status stands for (the label of herald_delivery_failures_total). */
export function statusReason(status: number): FailureReason {
  if (status === 401 || status === 403 || status === 407) return 'auth';
  if (status === 429) return 'rate-limited';
  if (status >= 500 || status === 0) return 'server';
  return 'client';
}

/** Response bodies in errors and logs are cut here: endpoints answer errors with whole HTML pages. */
export const MAX_BODY_EXCERPT = 2048;

/** The body as errors quote it: whole when short, else its first MAX_BODY_EXCERPT characters and its full length. */
export function bodyExcerpt(body: string): string {
  if (body.length <= MAX_BODY_EXCERPT) return body;
  return `${body.slice(0, MAX_BODY_EXCERPT)}... (${Buffer.byteLength(body)} bytes in all)`;
}

/**
 * A response's failure, classified for the retry policy (Retry-After honoured on 429/503). `text` replaces Flux's
 * default wording where a provider has its own.
 */
export function statusError(res: HttpResponse, text = `request failed with status code ${res.status}: ${bodyExcerpt(res.body)}`): DeliveryError {
  const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
  return new DeliveryError(text, {
    retryable: isRetryableStatus(res.status),
    reason: statusReason(res.status),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}
