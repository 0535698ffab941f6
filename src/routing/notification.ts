// Preparing one matched Alert for dispatch (event-server.md §8): cross-namespace block, provider lookup, gating, merge, commit-status id.
import { apiGroupOf, cloneEvent, describeObject, type FluxEvent } from '../api/event.js';
import type { Provider } from '../api/provider.js';
import { COMMIT_STATUS_TYPES } from '../api/provider.js';
import type { CompiledAlert } from '../resources/store.js';
import type { Notification } from '../providers/types.js';
import { FEATURE_GATE_ERROR } from '../providers/cloud/identity/service-account.js';
import { commitStatusGate, commitStatusId } from './commit-status.js';
import { mergeMetadata, type MetadataConflict } from './metadata.js';

export interface PrepareOptions {
  noCrossNamespaceRefs: boolean;
  /** The ObjectLevelWorkloadIdentity feature gate: spec.serviceAccountName is then the provider's business. */
  objectLevelWorkloadIdentity?: boolean;
  provider: (namespace: string, name: string) => Provider | undefined;
}

export type Prepared =
  | { kind: 'ready'; notification: Notification; provider: Provider; conflicts: MetadataConflict[]; usedDeprecatedSummary: boolean }
  /** Stops without a Kubernetes Event (provider suspended, gate A). */
  | { kind: 'skip'; why: string }
  /** Gates B and C: logged once per event with the list of Alerts. */
  | { kind: 'drop'; gate: 'commit-status' | 'change-request' }
  /** §8 failure: logged and recorded as NotificationDispatchFailed on the Alert. */
  | { kind: 'error'; message: string };

/**
 * Runs §8.1 for one Alert. `event` is the event after clean-up and token removal (prefixed keys).
 * Pure apart from the provider lookup it is given.
 */
export function prepareNotification(event: FluxEvent, compiled: CompiledAlert, opts: PrepareOptions): Prepared {
  const alert = compiled.alert;
  const ref = event.involvedObject;
  const am = alert.metadata;
  if (opts.noCrossNamespaceRefs && ref.namespace !== am.namespace) {
    return {
      kind: 'error',
      message: `discarding event, access denied to cross-namespace sources: alert '${am.namespace}/${am.name}' can't process event from '${describeObject(ref)}', cross-namespace references have been blocked`,
    };
  }
  const providerName = alert.spec.providerRef.name;
  const provider = opts.provider(am.namespace, providerName);
  if (!provider) {
    return { kind: 'error', message: `failed to read provider: providers.notification.toolkit.fluxcd.io "${providerName}" not found` };
  }
  if (provider.spec.suspend === true) return { kind: 'skip', why: 'provider suspended' };
  const gate = commitStatusGate(event, provider.spec.type, apiGroupOf(ref.apiVersion));
  if (gate === 'skip') return { kind: 'skip', why: 'commit status update events reach only git and generic providers' };
  if (gate === 'drop-commit-status') return { kind: 'drop', gate: 'commit-status' };
  if (gate === 'drop-change-request') return { kind: 'drop', gate: 'change-request' };
  if (provider.spec.serviceAccountName && !opts.objectLevelWorkloadIdentity) return { kind: 'error', message: FEATURE_GATE_ERROR };
  const copy = cloneEvent(event);
  const merged = mergeMetadata(copy, alert.spec);
  copy.metadata = merged.metadata;
  const notification: Notification = {
    event: copy,
    alert: { namespace: am.namespace, name: am.name, uid: am.uid, ...(alert.spec.eventMetadata ? { eventMetadata: alert.spec.eventMetadata } : {}) },
    provider: { namespace: provider.metadata.namespace, name: provider.metadata.name, uid: provider.metadata.uid, type: provider.spec.type },
  };
  if (COMMIT_STATUS_TYPES.has(provider.spec.type)) {
    try {
      notification.commitStatusId = commitStatusId(copy, alert, provider);
    } catch (err) {
      return { kind: 'error', message: `failed to create commit status: ${(err as Error).message}` };
    }
  }
  return { kind: 'ready', notification, provider, conflicts: merged.conflicts, usedDeprecatedSummary: merged.usedDeprecatedSummary };
}
