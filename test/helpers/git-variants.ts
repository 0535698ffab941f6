// The git specs' event variants (commit-status.md §2.1) on the conformance suite's canonical event.
import type { FluxEvent } from '../../src/api/event.js';
import type { ProviderSpec, ProviderType } from '../../src/api/provider.js';
import type { Secret } from '../../src/api/secret.js';
import type { RecordedRequest, ScriptedResponse } from './recording-server.js';
import { canonicalEvent, providerObject, secretObject } from './providers.js';

export const COMMIT = '9f1c2e3d4b5a69788796a5b4c3d2e1f001234567';
export const STATUS_ID = 'kustomization/webapp/0c9c2e41';

function succeeded(e: FluxEvent): FluxEvent {
  e.reason = 'ReconciliationSucceeded';
  e.message = 'Reconciliation finished in 4s, next run in 10m0s';
  return e;
}

/** Variant I: a successful reconciliation that Flux marks as a commit-status update. */
export function variantI(): FluxEvent {
  const e = succeeded(canonicalEvent('info'));
  e.metadata = { ...e.metadata, commit_status: 'update' };
  return e;
}

/** Variant E+CR: the error event of a change request. */
export function variantECR(n = '42'): FluxEvent {
  const e = canonicalEvent('error');
  e.metadata = { ...e.metadata, change_request: n };
  return e;
}

/** Variant I0+CR: a plain info event of a change request. */
export function variantI0CR(n = '42'): FluxEvent {
  const e = succeeded(canonicalEvent('info'));
  e.metadata = { ...e.metadata, change_request: n };
  return e;
}

/**
 * A change-request API for the conformance suite: no comment until the first create (E+CR posts), then that comment
 * by `login` (I0+CR edits it). `comment(id, login, body)` shapes one entry of the host's list.
 */
export function commentHost(opts: {
  id: number;
  login: string;
  user(req: RecordedRequest): ScriptedResponse | undefined;
  comment(id: number, login: string, body: string): unknown;
}): (req: RecordedRequest) => ScriptedResponse {
  let created: string | undefined;
  return (req) => {
    const user = opts.user(req);
    if (user) return user;
    if (req.method === 'GET') {
      return { status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(created ? [opts.comment(opts.id, opts.login, created)] : []) };
    }
    if (req.method === 'POST') created = (JSON.parse(req.text) as { body: string }).body;
    return { status: req.method === 'POST' ? 201 : 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: opts.id }) };
  };
}

/** A Provider of `type` at `address` with its token Secret `secretName` (none when `data` is undefined). */
export function gitObjects(
  type: ProviderType, address: string, secretName: string, data: Record<string, string> | undefined, extra: Partial<ProviderSpec> = {}, uid?: string,
): { provider: ReturnType<typeof providerObject>; secrets: Secret[] } {
  const spec: Partial<ProviderSpec> = { address, ...extra };
  const secrets: Secret[] = [];
  if (data) {
    spec.secretRef = { name: secretName };
    secrets.push(secretObject(secretName, data));
  }
  return { provider: providerObject(type, spec, uid !== undefined ? { uid } : {}), secrets };
}
