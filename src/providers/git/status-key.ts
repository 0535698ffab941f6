// Commit-status keys: Bitbucket (Server and Cloud) key a status by the SHA-1 of the commit-status id.
import { createHash } from 'node:crypto';

/** Lower-case hex SHA-1 of the UTF-8 bytes. */
export function sha1String(s: string): string {
  return createHash('sha1').update(s, 'utf8').digest('hex');
}
