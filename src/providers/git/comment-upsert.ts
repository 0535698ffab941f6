// The change-request comment upsert both comment types run (gitlabmergerequestcomment.md §6, giteapullrequestcomment.md §6):
// body and number, the first page of comments, the token user's marked comment edited, else a new one.
import { goJsonString } from '../../api/event.js';
import type { HttpResponse } from '../http/client.js';
import { DeliveryError, type Notification, type ProviderSettings } from '../types.js';
import { configError, decodeFailure, parseJson, type GitIdentity } from './api.js';
import { changeRequestNumber, commentBody, commentKey, commentMarker, findOwnComment, type ChangeRequestKind } from './comment.js';

/** A comment or note as the upsert compares it. */
export interface HostedComment {
  id: number;
  author: string;
  body: string;
}

export interface CommentHost {
  kind: ChangeRequestKind;
  /** How Flux's Go code reads the number (its error texts name it). */
  parser: 'Atoi' | 'ParseInt';
  /** The token's user name or login. */
  identity: string;
  id: GitIdentity;
  /** Prefix of a list failure (`failed to list merge request notes: `). */
  listPrefix: string;
  list(number: number): Promise<HttpResponse>;
  /** The comments of the list document; throws an Error with Go's unmarshal text when it is not a list. */
  comments(doc: unknown): HostedComment[];
  update(commentId: number, json: string): Promise<unknown>;
  create(number: number, json: string): Promise<unknown>;
}

/** The comment key needs the Provider uid. */
export function requireProviderUid(settings: ProviderSettings): void {
  if (!settings.provider.metadata.uid) throw configError(settings, 'provider UID cannot be empty');
}

export async function upsertComment(n: Notification, host: CommentHost): Promise<void> {
  const body = commentBody(n, host.kind);
  let number: number;
  try {
    number = changeRequestNumber(n.event, host.parser);
  } catch (err) {
    throw new DeliveryError((err as Error).message, { retryable: false });
  }
  const list = await host.list(number);
  let comments: HostedComment[];
  try {
    comments = host.comments(list.body === '' ? [] : parseJson(list.body, host.listPrefix, host.id));
  } catch (err) {
    if (err instanceof DeliveryError) throw err;
    throw decodeFailure(`${host.listPrefix}${(err as Error).message}`, host.id);
  }
  const json = `{"body":${goJsonString(body)}}`;
  const own = findOwnComment(comments, host.identity, commentMarker(commentKey(n), host.kind));
  if (own) await host.update(own.id, json);
  else await host.create(number, json);
}
