// What every git commit-status provider reads from a notification: the revision, its commit hash, the Progressing skip (commit-status.md §4, §5, §9).
import type { FluxEvent } from '../../api/event.js';

/** fluxcd/pkg git.ExtractHashFromRevision. */
function extractHash(rev: string): string {
  if (rev === '') return '';
  const colon = rev.lastIndexOf(':');
  if (colon >= 0) return rev.slice(colon + 1);
  const parts = rev.split('/');
  if (parts.length > 1) return parts[parts.length - 1]!;
  return rev;
}

/** fluxcd/pkg git.TransformRevision: legacy `<branch>/<hash>` to `<branch>@sha1:<hash>`. */
function transformRevision(rev: string): string {
  if (rev === '' || rev.includes(':')) return rev;
  let pointer = '';
  const at = rev.lastIndexOf('@');
  if (at >= 0) {
    pointer = rev.slice(0, at);
  } else {
    const slash = rev.lastIndexOf('/');
    if (slash >= 0) {
      pointer = rev.slice(0, slash);
      if (pointer === 'HEAD') pointer = '';
    }
  }
  const h = extractHash(rev);
  const digest = h === '' ? '' : `${Buffer.byteLength(h, 'utf8') === 40 ? 'sha1' : '<unknown>'}:${h}`;
  return pointer === '' ? digest : `${pointer}@${digest}`;
}

/**
 * The 40-character commit hash in a Flux revision (`main@sha1:<hash>`, `sha1:<hash>`, legacy `main/<hash>`, a bare hash).
 * Throws with Flux's text for anything else, including SHA-256 and OCI digests.
 */
export function parseRevision(rev: string): string {
  const hash = extractHash(transformRevision(rev));
  if (Buffer.byteLength(hash, 'utf8') !== 40) throw new Error(`failed to extract commit hash from '${rev}' revision`);
  return hash;
}

/** The revision a commit-status provider uses: metadata `commit`, else `originRevision`, else `revision` (present, even if empty). */
export function eventRevision(event: Pick<FluxEvent, 'metadata'>): string | undefined {
  const m = event.metadata;
  for (const key of ['commit', 'originRevision', 'revision']) {
    if (Object.prototype.hasOwnProperty.call(m, key)) return m[key];
  }
  return undefined;
}

/** Flux's git providers report nothing for `Progressing` (exact, case-sensitive; `ProgressingWithRetry` is reported). */
export function isProgressing(event: Pick<FluxEvent, 'reason'>): boolean {
  return event.reason === 'Progressing';
}
