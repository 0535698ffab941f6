// Proxy URLs from proxySecretRef (event-server.md §11.2), and the credentials inside URLs that must be masked.
import type { Secret } from '../../api/secret.js';
import { goEscape, parseGoUrl, type GoUrl } from '../../go/url.js';
import { has, str } from './secret-data.js';

const MAX_ADDRESS = 2048;

export function proxyFromSecret(secret: Secret, secretName: string): string {
  const data = secret.data;
  const prefix = `secret '${secretName}'`;
  if (!has(data, 'address')) throw new Error(`${prefix}: key 'address' not found`);
  const address = data['address']!.toString('utf8');
  if (address.length === 0) throw new Error(`${prefix}: proxy address is empty`);
  if (address.length > MAX_ADDRESS) throw new Error(`${prefix}: proxy URL exceeds maximum length of 2048 characters`);
  const parsed = tryParseGoUrl(address);
  if (parsed.error !== undefined) throw new Error(`${prefix}: failed to parse proxy address '${address}': ${parsed.error}`);
  const scheme = parsed.url!.scheme;
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'socks5') {
    throw new Error(`${prefix}: proxy URL must use one of the supported schemes (http, https, socks5), got '${scheme}'`);
  }
  const username = str(data, 'username');
  if (username === undefined) return address;
  const password = str(data, 'password');
  const userinfo = goEscape(username, 'userPassword') + (password === undefined ? '' : `:${goEscape(password, 'userPassword')}`);
  return withUserinfo(address, userinfo);
}

export function tryParseGoUrl(raw: string): { url?: GoUrl; error?: string } {
  try {
    return { url: parseGoUrl(raw) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Replaces (or adds) the user info of a `scheme://authority...` URL, leaving the rest as written. */
function withUserinfo(url: string, userinfo: string): string {
  const m = /^([^:]+:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m) return url;
  const authority = m[2]!;
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? authority.slice(at + 1) : authority;
  return `${m[1]}${userinfo}@${host}${m[3]}`;
}

export function addUrlCredentials(url: string, sensitive: Set<string>): void {
  const m = /^[^:]+:\/\/([^/?#]*)@/s.exec(url);
  if (!m) return;
  const userinfo = m[1]!;
  const colon = userinfo.indexOf(':');
  if (colon < 0) return;
  const password = userinfo.slice(colon + 1);
  sensitive.add(password);
  try {
    sensitive.add(decodeURIComponent(password));
  } catch {
    // not percent-encoded
  }
}

