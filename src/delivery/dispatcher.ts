// From an accepted event to stored deliveries: select Alerts, prepare each, check its provider config, enqueue.
import { randomUUID } from 'node:crypto';
import { describeObject, type FluxEvent } from '../api/event.js';
import type { Logger } from '../logger.js';
import type { AlertEventRecorder } from '../resources/recorder.js';
import type { LabelLookup, ResourceStore } from '../resources/store.js';
import { selectAlerts } from '../routing/match.js';
import { conflictAnnotations } from '../routing/metadata.js';
import { prepareNotification } from '../routing/notification.js';
import type { Outbox } from './outbox.js';
import type { ProviderCache } from './provider-cache.js';
import type { TraceBuffer } from '../trace/buffer.js';

export interface DispatcherOptions {
  store: ResourceStore;
  labels: LabelLookup;
  providers: ProviderCache;
  outbox: Outbox;
  recorder: AlertEventRecorder;
  log: Logger;
  noCrossNamespaceRefs: boolean;
  /** The live trace, when enabled. */
  trace?: TraceBuffer;
}

export interface DispatchSummary {
  matched: number;
  enqueued: number;
}

/** The outbox refused a delivery: the event server answers 503 so that the emitter retries. */
export class OutboxUnavailableError extends Error {}

export class Dispatcher {
  constructor(private readonly opts: DispatcherOptions) {}

  /** `event` is cleaned and has no internal token. Resolves once every delivery is stored in the outbox. */
  async dispatch(event: FluxEvent, acceptedAt = Date.now()): Promise<DispatchSummary> {
    const { store, labels, providers, outbox, recorder, log, noCrossNamespaceRefs } = this.opts;
    const candidates = store.alertsFor(event.involvedObject);
    const t = this.opts.trace?.begin(event);
    if (candidates.length === 0) {
      t?.note(`no Alert has an event source for ${event.involvedObject.kind} in namespace ${event.involvedObject.namespace}`);
      if (log.isLevelEnabled('debug')) log.debug({ eventInvolvedObject: event.involvedObject }, 'discarding event, no alerts found for the involved object');
      return { matched: 0, enqueued: 0 };
    }
    const { matched, warnings } = await selectAlerts(event, candidates, labels, store.allNamespacePolicy, t && ((c, v) => t.verdict(c, v)));
    for (const w of warnings) {
      const a = w.alert.alert.metadata;
      log.error({ alert: { namespace: a.namespace, name: a.name }, eventInvolvedObject: event.involvedObject }, w.message);
      recorder.warning({ namespace: a.namespace, name: a.name, uid: a.uid }, w.reason, w.message);
    }
    if (matched.length === 0) {
      if (log.isLevelEnabled('debug')) log.debug({ eventInvolvedObject: event.involvedObject }, 'discarding event, no alerts found for the involved object');
      return { matched: 0, enqueued: 0 };
    }
    log.info({ eventInvolvedObject: event.involvedObject, message: event.message }, 'dispatching event');
    const droppedCommitStatus: string[] = [];
    const droppedChangeRequest: string[] = [];
    const enqueues: Promise<void>[] = [];
    for (const compiled of matched) {
      const a = compiled.alert.metadata;
      const alertRef = { namespace: a.namespace, name: a.name, uid: a.uid };
      const alertLog = { alert: { namespace: a.namespace, name: a.name, providerName: compiled.alert.spec.providerRef.name }, eventInvolvedObject: event.involvedObject };
      const prepared = prepareNotification(event, compiled, { noCrossNamespaceRefs, provider: (ns, n) => store.provider(ns, n) });
      if (prepared.kind === 'skip') {
        t?.outcome(compiled, `not sent: ${prepared.why}`);
        continue;
      }
      if (prepared.kind === 'drop') {
        t?.outcome(compiled, `dropped by the ${prepared.gate} gate`);
        (prepared.gate === 'commit-status' ? droppedCommitStatus : droppedChangeRequest).push(`${a.namespace}/${a.name}`);
        continue;
      }
      const failure = (message: string) => {
        t?.outcome(compiled, `failed: ${message}`);
        log.error({ ...alertLog, error: message }, 'failed to dispatch notification');
        recorder.warning(alertRef, 'NotificationDispatchFailed', `failed to dispatch notification for ${describeObject(event.involvedObject)}: ${message}`);
      };
      if (prepared.kind === 'error') {
        failure(prepared.message);
        continue;
      }
      if (prepared.usedDeprecatedSummary) {
        log.info(alertLog, "warning: specifying an alert summary with '.spec.summary' is deprecated, use '.spec.eventMetadata.summary' instead");
      }
      if (prepared.conflicts.length > 0) {
        const msg = 'metadata key conflicts detected (please refer to the Alert API docs and Flux RFC 0008 for more information)';
        log.info({ ...alertLog, conflicts: prepared.conflicts }, `warning: ${msg}`);
        recorder.warning(alertRef, 'MetadataAppendFailed', msg, conflictAnnotations(prepared.conflicts));
      }
      try {
        // Construction errors are reported now, as Flux does, instead of failing later in the worker.
        providers.resolve(prepared.provider);
      } catch (err) {
        failure((err as Error).message);
        continue;
      }
      const id = randomUUID();
      t?.delivery(id, compiled, prepared.notification.provider);
      enqueues.push(outbox.enqueue({ id, notification: prepared.notification, acceptedAt }));
    }
    if (droppedCommitStatus.length) log.info({ alerts: droppedCommitStatus, eventInvolvedObject: event.involvedObject }, 'event dropped for commit status providers due to missing commit metadata key');
    if (droppedChangeRequest.length) log.info({ alerts: droppedChangeRequest, eventInvolvedObject: event.involvedObject }, 'event dropped for change request providers due to missing change request metadata key');
    const results = await Promise.allSettled(enqueues);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) t?.note(`the outbox refused a delivery (answered 503): ${(failed.reason as Error).message}`);
    if (failed) throw new OutboxUnavailableError(`could not store the notification: ${(failed.reason as Error).message}`);
    return { matched: matched.length, enqueued: enqueues.length };
  }
}
