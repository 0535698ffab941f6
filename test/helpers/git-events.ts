// The git providers' event variants (commit-status.md §2.1) built on the canonical provider input: E (error), I (info
// marked commit_status: update), I0 (plain info), each optionally on a change request.
import type { FluxEvent } from '../../src/api/event.js';
import { canonicalEvent } from './providers.js';

export type GitVariant = 'E' | 'I' | 'I0';

/** The canonical event as variant E, I or I0; `changeRequest` adds the `change_request` metadata (E+CR, I0+CR). */
export function gitVariant(variant: GitVariant, changeRequest?: string): FluxEvent {
  const e = canonicalEvent(variant === 'E' ? 'error' : 'info');
  if (variant !== 'E') {
    e.reason = 'ReconciliationSucceeded';
    e.message = 'Reconciliation finished in 4s, next run in 10m0s';
  }
  if (variant === 'I') e.metadata = { ...e.metadata, commit_status: 'update' };
  if (changeRequest !== undefined) e.metadata = { ...e.metadata, change_request: changeRequest };
  return e;
}
