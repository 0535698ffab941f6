// Git remote addresses as Flux parses them (commit-status.md §11.1), shared by the git commit-status and comment types.
import { goQuote, parseGoUrl, type GoUrl } from '../../go/url.js';

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
