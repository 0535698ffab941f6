// Pure helpers of the shared HTTP client: Go's request-URI check, header canonicalisation, Retry-After, status classes.
import { describe, expect, it } from 'vitest';
import { redactUrl, requestUriCheck } from '../../../src/go/url.js';
import { isRetryableStatus, parseRetryAfter, statusError } from '../../../src/providers/http/errors.js';
import { canonicalHeaderKey, mergeHeaders } from '../../../src/providers/http/headers.js';

describe('requestUriCheck (Go url.ParseRequestURI)', () => {
  it('accepts absolute URLs, opaque URLs, absolute paths and keeps fragments', () => {
    for (const ok of ['https://x/y', 'http://127.0.0.1:8080/hook?a=b', 'http:opaque', 'localhost:8080/x', '/hooks/x', 'https://h/p#frag', '*', 'https://user:p%40ss@h/']) {
      expect(requestUriCheck(ok), ok).toBeUndefined();
    }
  });

  it('rejects what Go rejects, with Go\'s cause text', () => {
    expect(requestUriCheck('')).toBe('parse "": empty url');
    expect(requestUriCheck('not a url')).toBe('parse "not a url": invalid URI for request');
    expect(requestUriCheck('example.com/x')).toBe('parse "example.com/x": invalid URI for request');
    expect(requestUriCheck('https://x/\n')).toBe('parse "https://x/\\n": net/url: invalid control character in URL');
    expect(requestUriCheck(':foo')).toBe('parse ":foo": missing protocol scheme');
    expect(requestUriCheck('http://bad host/')).toBe('parse "http://bad host/": invalid character " " in host name');
    expect(requestUriCheck('http://h:abc/')).toBe('parse "http://h:abc/": invalid port ":abc" after host');
    expect(requestUriCheck('http://h/%zz')).toBe('parse "http://h/%zz": invalid URL escape "%zz"');
    expect(requestUriCheck('http://a#b/c')).toBe('parse "http://a#b/c": invalid character "#" in host name');
  });
});

describe('headers', () => {
  it('canonicalises names as Go does and leaves invalid names alone', () => {
    expect(canonicalHeaderKey('gotk-component')).toBe('Gotk-Component');
    expect(canonicalHeaderKey('X-SIGNATURE')).toBe('X-Signature');
    expect(canonicalHeaderKey('bad name')).toBe('bad name');
  });

  it('merges later sets over earlier ones case-insensitively, keeping the first position', () => {
    const merged = mergeHeaders({ 'Content-Type': 'application/json', 'Gotk-Component': 'a' }, { 'content-type': 'text/plain', 'x-b': '1' }, { 'X-Signature': 's' });
    expect(Object.entries(merged)).toEqual([['Content-Type', 'text/plain'], ['Gotk-Component', 'a'], ['X-B', '1'], ['X-Signature', 's']]);
  });
});

describe('retry classification', () => {
  it('retries 429, 5xx except 501, and status 0', () => {
    expect([0, 200, 301, 400, 404, 429, 500, 501, 502, 503, 599].filter(isRetryableStatus)).toEqual([0, 429, 500, 502, 503, 599]);
  });

  it('parses Retry-After as delta-seconds or any HTTP-date format; past dates mean 0', () => {
    const now = Date.parse('2026-07-20T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Mon, 20 Jul 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Monday, 20-Jul-26 10:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Mon Jul 20 10:01:00 2026', now)).toBe(60_000);
    expect(parseRetryAfter('Mon, 20 Jul 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('honours Retry-After only on 429 and 503', () => {
    const headers = { 'retry-after': '3' };
    expect(statusError({ status: 429, headers, body: '' }).retryAfterMs).toBe(3000);
    expect(statusError({ status: 503, headers, body: '' }).retryAfterMs).toBe(3000);
    expect(statusError({ status: 500, headers, body: '' }).retryAfterMs).toBeUndefined();
    expect(statusError({ status: 400, headers, body: 'bad' }).message).toBe('request failed with status code 400: bad');
  });
});

describe('redactUrl', () => {
  it('replaces only the user-info password with xxxxx', () => {
    expect(redactUrl('https://user:secret@h.example/p?q=1')).toBe('https://user:xxxxx@h.example/p?q=1');
    expect(redactUrl('https://user@h.example/p')).toBe('https://user@h.example/p');
    expect(redactUrl('https://h.example/p:x@y')).toBe('https://h.example/p:x@y');
  });
});
