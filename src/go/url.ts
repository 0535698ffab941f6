// Go net/url semantics (Parse, ParseRequestURI, path escaping, JoinPath, path.Clean, %q) for Flux-exact URLs and error texts.

/** A URL as Go's url.Parse splits it. `path` is percent-decoded; `rawPath` is the original encoding when it differs from the default. */
export interface GoUrl {
  scheme: string;
  opaque: string;
  /** Raw `user[:password]` before the last `@` of the authority, undefined when absent. */
  userinfo?: string;
  host: string;
  path: string;
  rawPath: string;
  rawQuery: string;
  forceQuery: boolean;
  fragment: string;
}

/** The error Go's url.Parse returns: `parse "<url>": <cause>`. */
export class GoUrlError extends Error {
  override readonly name = 'GoUrlError';
  constructor(readonly url: string, readonly cause_: string) {
    super(`parse ${goQuote(url)}: ${cause_}`);
  }
}

type Encoding = 'path' | 'host' | 'userPassword' | 'fragment' | 'query';

const HEX = '0123456789ABCDEF';

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function unhex(c: number): number {
  if (c <= 0x39) return c - 0x30;
  if (c <= 0x46) return c - 0x41 + 10;
  return c - 0x61 + 10;
}

/** Go's shouldEscape for one byte. */
function shouldEscape(c: number, mode: Encoding): boolean {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return false;
  const ch = String.fromCharCode(c);
  if (mode === 'host' && `!$&'()*+,;=:[]<>"`.includes(ch)) return false;
  if ('-_.~'.includes(ch)) return false;
  if ('$&+,/:;=?@'.includes(ch)) {
    switch (mode) {
      case 'path': return ch === '?';
      case 'userPassword': return ch === '@' || ch === '/' || ch === '?' || ch === ':';
      case 'query': return true;
      case 'fragment': return false;
      default: break;
    }
  }
  if (mode === 'fragment' && '!()*'.includes(ch)) return false;
  return true;
}

/** Go's url.unescape; throws the Go error text (`invalid URL escape "%zz"`, `invalid character " " in host name`). */
export function goUnescape(s: string, mode: Encoding = 'path'): string {
  const bytes = Buffer.from(s, 'utf8');
  let hasEscape = false;
  for (let i = 0; i < bytes.length;) {
    const c = bytes[i]!;
    if (c === 0x25) {
      if (i + 2 >= bytes.length || !isHex(bytes[i + 1]!) || !isHex(bytes[i + 2]!)) {
        throw new Error(`invalid URL escape ${goQuote(bytes.subarray(i, Math.min(i + 3, bytes.length)).toString('utf8'))}`);
      }
      if (mode === 'host' && unhex(bytes[i + 1]!) < 8 && bytes.subarray(i, i + 3).toString('latin1') !== '%25') {
        throw new Error(`invalid URL escape ${goQuote(bytes.subarray(i, i + 3).toString('utf8'))}`);
      }
      hasEscape = true;
      i += 3;
    } else {
      if (mode === 'host' && c < 0x80 && shouldEscape(c, mode)) {
        throw new Error(`invalid character ${goQuote(String.fromCharCode(c))} in host name`);
      }
      i++;
    }
  }
  if (!hasEscape && mode !== 'query') return s;
  const out: number[] = [];
  for (let i = 0; i < bytes.length;) {
    const c = bytes[i]!;
    if (c === 0x25) {
      out.push(unhex(bytes[i + 1]!) * 16 + unhex(bytes[i + 2]!));
      i += 3;
    } else {
      out.push(mode === 'query' && c === 0x2b ? 0x20 : c);
      i++;
    }
  }
  return Buffer.from(out).toString('utf8');
}

/** Go's url.escape: percent-encodes (upper-case hex) every UTF-8 byte the mode does not allow. */
export function goEscape(s: string, mode: Encoding = 'path'): string {
  let out = '';
  for (const c of Buffer.from(s, 'utf8')) {
    if (shouldEscape(c, mode)) out += `%${HEX[c >> 4]}${HEX[c & 15]}`;
    else out += String.fromCharCode(c);
  }
  return out;
}

/** Go's validEncoded: would this raw path survive as-is as the URL's RawPath? */
function validEncoded(s: string, mode: Encoding): boolean {
  for (const c of Buffer.from(s, 'utf8')) {
    if (`!$&'()*+,;=:@[]%`.includes(String.fromCharCode(c))) continue;
    if (shouldEscape(c, mode)) return false;
  }
  return true;
}

/** Go's URL.EscapedPath. */
export function goEscapedPath(u: Pick<GoUrl, 'path' | 'rawPath'>): string {
  if (u.rawPath !== '' && validEncoded(u.rawPath, 'path')) {
    try {
      if (goUnescape(u.rawPath, 'path') === u.path) return u.rawPath;
    } catch {
      // fall through to the default encoding, as Go does
    }
  }
  if (u.path === '*') return '*';
  return goEscape(u.path, 'path');
}

/** Go's URL.setPath: decoded path plus the raw form when the default encoding would differ. */
function setPath(p: string): { path: string; rawPath: string } {
  const path = goUnescape(p, 'path');
  return { path, rawPath: goEscape(path, 'path') === p ? '' : p };
}

function hasCtlByte(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function getScheme(raw: string): { scheme: string; rest: string } {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) continue;
    if ((c >= '0' && c <= '9') || c === '+' || c === '-' || c === '.') {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new Error('missing protocol scheme');
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

function validOptionalPort(port: string): boolean {
  if (port === '') return true;
  if (port[0] !== ':') return false;
  for (const c of port.slice(1)) if (c < '0' || c > '9') return false;
  return true;
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) throw new Error("missing ']' in host");
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) throw new Error(`invalid port ${goQuote(colonPort)} after host`);
  } else {
    const i = host.lastIndexOf(':');
    if (i !== -1) {
      const colonPort = host.slice(i);
      if (!validOptionalPort(colonPort)) throw new Error(`invalid port ${goQuote(colonPort)} after host`);
    }
  }
  return goUnescape(host, 'host');
}

const USERINFO_OK = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/;

/** Go's url.Parse (not ParseRequestURI). Throws GoUrlError with Go's message. */
export function parseGoUrl(rawUrl: string): GoUrl {
  const hashAt = rawUrl.indexOf('#');
  const u = hashAt < 0 ? rawUrl : rawUrl.slice(0, hashAt);
  const frag = hashAt < 0 ? '' : rawUrl.slice(hashAt + 1);
  let url: GoUrl;
  try {
    url = parseWithoutFragment(u, false);
  } catch (err) {
    throw new GoUrlError(u, (err as Error).message);
  }
  if (frag !== '') {
    try {
      url.fragment = goUnescape(frag, 'fragment');
    } catch (err) {
      throw new GoUrlError(rawUrl, (err as Error).message);
    }
  }
  return url;
}

/** Go's url.Hostname and url.Port of a parsed URL's `host` (`host[:port]`, IPv6 literals in brackets). */
export function goHostPort(hostPort: string): { hostname: string; port: string } {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    const rest = end < 0 ? '' : hostPort.slice(end + 1);
    return { hostname: hostPort.slice(1, end < 0 ? undefined : end), port: rest.startsWith(':') ? rest.slice(1) : '' };
  }
  const colon = hostPort.lastIndexOf(':');
  return colon < 0 ? { hostname: hostPort, port: '' } : { hostname: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
}

/** Go's url.ParseRequestURI: an absolute URI or an absolute path, no fragment splitting. */
export function parseGoRequestUri(rawUrl: string): GoUrl {
  try {
    return parseWithoutFragment(rawUrl, true);
  } catch (err) {
    throw new GoUrlError(rawUrl, (err as Error).message);
  }
}

/** The Go error text of url.Parse (`parse "<url>": <cause>`), or undefined when the string parses. */
export function parseUrlError(rawUrl: string): string | undefined {
  try {
    parseGoUrl(rawUrl);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The lower-cased scheme Go's url.Parse finds, '' when there is none or the string does not parse. */
export function goUrlScheme(rawUrl: string): string {
  try {
    return parseGoUrl(rawUrl).scheme;
  } catch {
    return '';
  }
}

function parseWithoutFragment(raw: string, viaRequest: boolean): GoUrl {
  if (hasCtlByte(raw)) throw new Error('net/url: invalid control character in URL');
  if (raw === '' && viaRequest) throw new Error('empty url');
  const url: GoUrl = { scheme: '', opaque: '', host: '', path: '', rawPath: '', rawQuery: '', forceQuery: false, fragment: '' };
  if (raw === '*') {
    url.path = '*';
    return url;
  }
  const s = getScheme(raw);
  url.scheme = s.scheme.toLowerCase();
  let rest = s.rest;
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) {
    url.forceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf('?');
    if (q >= 0) {
      url.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith('/')) {
    if (url.scheme !== '') {
      url.opaque = rest;
      return url;
    }
    if (viaRequest) throw new Error('invalid URI for request');
    const slash = rest.indexOf('/');
    const segment = slash < 0 ? rest : rest.slice(0, slash);
    if (segment.includes(':')) throw new Error('first path segment in URL cannot contain colon');
  }
  if ((url.scheme !== '' || (!viaRequest && !rest.startsWith('///'))) && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const slash = authority.indexOf('/');
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const at = authority.lastIndexOf('@');
    url.host = parseHost(at < 0 ? authority : authority.slice(at + 1));
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!USERINFO_OK.test(userinfo)) throw new Error('net/url: invalid userinfo');
      const colon = userinfo.indexOf(':');
      goUnescape(colon < 0 ? userinfo : userinfo.slice(0, colon), 'userPassword');
      if (colon >= 0) goUnescape(userinfo.slice(colon + 1), 'userPassword');
      url.userinfo = userinfo;
    }
  }
  const p = setPath(rest);
  url.path = p.path;
  url.rawPath = p.rawPath;
  return url;
}

/** Go's path.Clean. */
export function goPathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  const joined = parts.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/**
 * The escaped path of Go's `u.JoinPath(elem)` as the request line will carry it: path.Join of the escaped
 * path and the raw element, re-decoded and re-encoded. When the result does not decode, Go keeps the old path.
 */
export function goJoinEscapedPath(u: Pick<GoUrl, 'path' | 'rawPath'>, elem: string): string {
  const base = goEscapedPath(u);
  let p: string;
  if (!base.startsWith('/')) p = goPathClean(`/${base}/${elem}`).slice(1);
  else p = goPathClean(`${base}/${elem}`);
  if (elem.endsWith('/') && !p.endsWith('/')) p += '/';
  try {
    return goEscapedPath(setPath(p));
  } catch {
    return base;
  }
}

/** Go's strconv.Quote (the `%q` verb) for the strings that appear in Flux's error messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\v': out += '\\v'; continue;
      default: break;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (cp === 0x20 || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}


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
