// Text helpers shared by providers (event-server.md §16, providers/README.md §7): names, descriptions, hashes, git addresses, markdown.
import { createHash } from 'node:crypto';
import type { FluxEvent } from '../api/event.js';
import { compareBytes } from '../api/event.js';
import { goQuote, parseGoUrl, type GoUrl } from './go-url.js';

/**
 * Go's strings.ToLower: per code point, so no context rules (a final Σ stays σ) and İ becomes a plain i,
 * where JS toLowerCase would give ς and i + U+0307.
 */
export function goToLower(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch === '\u0130') out += 'i';
    else out += ch.toLowerCase();
  }
  return out;
}

const LOWER = /\p{Ll}/u;
const UPPER = /\p{Lu}/u;
const DIGIT = /\p{Nd}/u;

function classOf(ch: string): number {
  if (LOWER.test(ch)) return 1;
  if (UPPER.test(ch)) return 2;
  if (DIGIT.test(ch)) return 3;
  return 4;
}

/** Splits a reason into words the way Flux (fatih/camelcase) does: `PDFLoader` -> `PDF`, `Loader`. */
export function splitCamelcase(s: string): string[] {
  if (!s.isWellFormed()) return [s];
  const groups: string[][] = [];
  let last = 0;
  for (const ch of s) {
    const c = classOf(ch);
    if (c === last && groups.length > 0) groups[groups.length - 1]!.push(ch);
    else groups.push([ch]);
    last = c;
  }
  for (let i = 0; i < groups.length - 1; i++) {
    const a = groups[i]!;
    const b = groups[i + 1]!;
    if (a.length > 0 && b.length > 0 && UPPER.test(a[0]!) && LOWER.test(b[0]!)) {
      b.unshift(a.pop()!);
    }
  }
  return groups.filter((g) => g.length > 0).map((g) => g.join(''));
}

/** `kustomization/webapp` and `health check failed` for a Kustomization webapp with reason HealthCheckFailed. */
export function formatNameAndDescription(event: Pick<FluxEvent, 'involvedObject' | 'reason'>): { name: string; description: string } {
  return {
    name: goToLower(`${event.involvedObject.kind}/${event.involvedObject.name}`),
    description: goToLower(splitCamelcase(event.reason).join(' ')),
  };
}

/** Lower-case hex SHA-1 of the UTF-8 bytes. */
export function sha1String(s: string): string {
  return createHash('sha1').update(s, 'utf8').digest('hex');
}

/** The value of a Basic Authorization header (without the `Basic ` scheme). */
export function basicAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

const GIT_TRANSPORT_SCHEMES = new Set(['ssh', 'git', 'git+ssh', 'http', 'https', 'ftp', 'ftps', 'rsync', 'file']);
const SCP_LIKE = /^([a-zA-Z0-9-._~]+@)?([a-zA-Z0-9._-]+):([a-zA-Z0-9./._-]+)(?:\?||$)(.*)$/;

/**
 * Flux's parseGitAddress (chainguard-dev/git-urls): `(host, id)` for every git remote form, with scp-like
 * and local-path fallbacks; it never fails (commit-status.md §11.1).
 */
export function parseGitAddress(address: string): { host: string; id: string } {
  let scheme: string;
  let host: string;
  let path: string;
  let parsed: GoUrl | undefined;
  try {
    parsed = parseGoUrl(address);
  } catch {
    parsed = undefined;
  }
  const scp = parsed && GIT_TRANSPORT_SCHEMES.has(parsed.scheme) ? undefined : Buffer.byteLength(address) <= 2048 ? SCP_LIKE.exec(address) : null;
  if (parsed && GIT_TRANSPORT_SCHEMES.has(parsed.scheme)) {
    scheme = parsed.scheme;
    host = parsed.host;
    path = parsed.path;
  } else if (scp) {
    scheme = 'ssh';
    host = scp[2]!;
    path = scp[3]!;
  } else {
    scheme = 'file';
    host = '';
    path = address;
  }
  if (scheme === 'ssh') scheme = 'https';
  let id = path.replace(/^\/+/, '');
  if (id.endsWith('.git')) id = id.slice(0, -4);
  return { host: `${scheme}://${host}`, id };
}

/** Go's `%q` of a repository id, as in `invalid repository id "a/b/c"`. */
export function quoteRepositoryId(id: string): string {
  return goQuote(id);
}

/** Flux's markdown status post (zulip and the change-request comment types), metadata sorted by byte order, `change_request` left out. */
export function formatMarkdownPost(event: Pick<FluxEvent, 'involvedObject' | 'severity' | 'message' | 'metadata'>): string {
  const emoji = event.severity === 'error' ? '\u26a0\ufe0f' : '\u2139\ufe0f';
  const ref = event.involvedObject;
  let out = `## Flux Status\n\n${emoji} ${ref.kind}/${ref.namespace}/${ref.name}\n\n${event.message}\n\nMetadata:\n`;
  for (const key of Object.keys(event.metadata).sort(compareBytes)) {
    if (key === 'change_request') continue;
    out += `* \`${key}\`: ${event.metadata[key]}\n`;
  }
  return out;
}

/**
 * Cuts `s` to at most `max` UTF-16 code units (the unit Java, and so Bitbucket, counts), ending with `…`
 * when something was cut, never splitting a surrogate pair.
 */
export function truncateText(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = max - 1;
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return `${s.slice(0, Math.max(0, cut))}…`;
}

/** Go's http.StatusText, for error texts that reproduce Flux's `<code> - <reason phrase>`; '' for unknown codes. */
export function goStatusText(code: number): string {
  return GO_STATUS_TEXT[code] ?? '';
}

const GO_STATUS_TEXT: Record<number, string> = {
  100: 'Continue', 101: 'Switching Protocols', 102: 'Processing', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content', 205: 'Reset Content',
  206: 'Partial Content', 207: 'Multi-Status', 208: 'Already Reported', 226: 'IM Used',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified', 305: 'Use Proxy',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout', 409: 'Conflict', 410: 'Gone',
  411: 'Length Required', 412: 'Precondition Failed', 413: 'Request Entity Too Large', 414: 'Request URI Too Long',
  415: 'Unsupported Media Type', 416: 'Requested Range Not Satisfiable', 417: 'Expectation Failed', 418: "I'm a teapot",
  421: 'Misdirected Request', 422: 'Unprocessable Entity', 423: 'Locked', 424: 'Failed Dependency', 425: 'Too Early',
  426: 'Upgrade Required', 428: 'Precondition Required', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported', 506: 'Variant Also Negotiates', 507: 'Insufficient Storage', 508: 'Loop Detected',
  510: 'Not Extended', 511: 'Network Authentication Required',
};
