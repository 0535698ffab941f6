// What the three change-request comment types share (githubpullrequestcomment.md §5-§6): the key, its hidden marker,
// the body, the change-request number, and which existing comment is Flux's own.
import type { FluxEvent } from '../../api/event.js';
import type { Notification } from '../types.js';
import { formatMarkdownPost } from '../markdown.js';

/** `<providerUID>/<kind>/<namespace>/<name>`, original case. */
export function commentKey(n: Pick<Notification, 'event' | 'provider'>): string {
  const o = n.event.involvedObject;
  return `${n.provider.uid}/${o.kind}/${o.namespace}/${o.name}`;
}

/** `pr` for GitHub and Gitea pull requests, `mr` for GitLab merge requests. */
export type ChangeRequestKind = 'pr' | 'mr';

/** The hidden marker that lets a later notification find and edit the same comment. */
export function commentMarker(key: string, kind: ChangeRequestKind = 'pr'): string {
  return `<!-- flux-${kind}-comment-key:${key} -->`;
}

/** Marker, a blank line, then Flux's status markdown (metadata without `change_request`). */
export function commentBody(n: Pick<Notification, 'event' | 'provider'>, kind: ChangeRequestKind = 'pr'): string {
  return `${commentMarker(commentKey(n), kind)}\n\n${formatMarkdownPost(n.event)}`;
}

const INT_SYNTAX = /^[+-]?[0-9]+$/;

/**
 * The change-request number from the `change_request` metadata, as Go's strconv.Atoi (GitHub, Gitea) or ParseInt
 * (GitLab) reads it (optional sign, base 10, int64 range). Throws with Flux's text.
 */
export function changeRequestNumber(event: Pick<FluxEvent, 'metadata'>, parser: 'Atoi' | 'ParseInt' = 'Atoi'): number {
  if (!Object.prototype.hasOwnProperty.call(event.metadata, 'change_request')) throw new Error('missing "change_request" metadata key');
  const v = event.metadata['change_request']!;
  const quoted = JSON.stringify(v);
  if (!INT_SYNTAX.test(v)) throw new Error(`invalid "change_request" metadata value ${quoted}: strconv.${parser}: parsing ${quoted}: invalid syntax`);
  const n = BigInt(v);
  if (n > 2n ** 63n - 1n || n < -(2n ** 63n)) {
    throw new Error(`invalid "change_request" metadata value ${quoted}: strconv.${parser}: parsing ${quoted}: value out of range`);
  }
  return Number(n);
}

/** The first (oldest) comment written by `author` whose body carries `marker`; decoys by others or unmarked are skipped. */
export function findOwnComment<C extends { author: string; body: string }>(comments: readonly C[], author: string, marker: string): C | undefined {
  return comments.find((c) => c.author === author && c.body.includes(marker));
}
