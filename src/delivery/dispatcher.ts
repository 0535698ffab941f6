// From an accepted event to stored deliveries: select Alerts, prepare each, check its provider config, enqueue.
import { randomUUID } from 'node:crypto';
import { describeObject, type FluxEvent } from '../api/event.js';
import { excerpt, loggedMessage, MAX_LOGGED_ERROR, type Logger } from '../logger.js';
import type { AlertEventRecorder } from '../resources/recorder.js';
import type { LabelLookup, ResourceStore } from '../resources/store.js';
import { selectAlerts } from '../routing/match.js';
import { conflictAnnotations } from '../routing/metadata.js';
import { prepareNotification } from '../routing/notification.js';
import { OutboxFullError, stacklessError } from './memory.js';
import { hasTemplate, type AlertTemplates } from '../routing/templates.js';
import type { Outbox } from './outbox.js';
import { groupableType, groupWindowOf, type GroupingStage } from './grouping.js';
import type { ProviderCache } from './provider-cache.js';
import type { EventTrace, TraceBuffer } from '../trace/buffer.js';
import type { CompiledAlert } from '../resources/store.js';

/** Trace note for an event no Alert could match (the record names the object). */
const NO_CANDIDATE_NOTE = 'no Alert has an event source for this kind in this namespace';

export interface DispatcherOptions {
  store: ResourceStore;
  labels: LabelLookup;
  providers: ProviderCache;
  outbox: Outbox;
  recorder: AlertEventRecorder;
  log: Logger;
  noCrossNamespaceRefs: boolean;
  /** Alert message templates (docs/templates.md); without it every notification is in Flux's format. */
  templates?: AlertTemplates;
  /** The ObjectLevelWorkloadIdentity feature gate. */
  objectLevelWorkloadIdentity?: boolean;
  /** Burst grouping (docs/grouping.md): Alerts with herald.dev/group-window go through it instead of the outbox. */
  grouping?: GroupingStage;
  /** The live trace, when enabled. */
  trace?: TraceBuffer;
}

export interface DispatchSummary {
  matched: number;
  enqueued: number;
  /** Deliveries refused because their provider's share of the memory outbox was full. */
  refused?: number;
}

/**
 * The outbox refused a delivery: the event server answers 503 so that the emitter retries. `reported` is true when
 * the outbox has already logged the refusal itself (a full provider share, logged once per second per provider).
 */
export class OutboxUnavailableError extends Error {
  constructor(message: string, readonly reported: boolean) {
    super(message);
  }
}

// Log and Event subjects, built only when something is logged or recorded (the delivered path allocates neither).
const alertRefOf = (c: CompiledAlert) => ({ namespace: c.alert.metadata.namespace, name: c.alert.metadata.name, uid: c.alert.metadata.uid });
const alertLogOf = (c: CompiledAlert, event: FluxEvent) => ({
  alert: { namespace: c.alert.metadata.namespace, name: c.alert.metadata.name, providerName: c.alert.spec.providerRef.name },
  eventInvolvedObject: event.involvedObject,
});

export class Dispatcher {
  constructor(private readonly opts: DispatcherOptions) {}

  /** A matched Alert whose notification could not be prepared: traced, logged and recorded on the Alert. */
  private failure(t: EventTrace | undefined, compiled: CompiledAlert, event: FluxEvent, text: string): void {
    const message = excerpt(text, MAX_LOGGED_ERROR);
    t?.outcome(compiled, `failed: ${message}`);
    this.opts.log.error({ ...alertLogOf(compiled, event), error: message }, 'failed to dispatch notification');
    this.opts.recorder.warning(alertRefOf(compiled), 'NotificationDispatchFailed', `failed to dispatch notification for ${describeObject(event.involvedObject)}: ${message}`);
  }

  /** `event` is cleaned and has no internal token. Resolves once every delivery is stored in the outbox. */
  async dispatch(event: FluxEvent, acceptedAt = Date.now()): Promise<DispatchSummary> {
    const { store, labels, providers, outbox, recorder, log, noCrossNamespaceRefs, objectLevelWorkloadIdentity = false } = this.opts;
    const candidates = store.alertsFor(event.involvedObject);
    const t = this.opts.trace?.begin(event);
    if (candidates.length === 0) {
      t?.setNote(NO_CANDIDATE_NOTE);
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
    // A bounded excerpt: a 3 MiB message on every info line filled the log buffers (and memory) under load.
    if (log.isLevelEnabled('info')) log.info({ eventInvolvedObject: event.involvedObject, ...loggedMessage(event.message) }, 'dispatching event');
    const droppedCommitStatus: string[] = [];
    const droppedChangeRequest: string[] = [];
    const enqueues: Promise<void>[] = [];
    for (const compiled of matched) {
      const a = compiled.alert.metadata;
      const prepared = prepareNotification(event, compiled, { noCrossNamespaceRefs, objectLevelWorkloadIdentity, provider: (ns, n) => store.provider(ns, n) });
      if (prepared.kind === 'skip') {
        t?.outcome(compiled, `not sent: ${prepared.why}`);
        continue;
      }
      if (prepared.kind === 'drop') {
        t?.outcome(compiled, `dropped by the ${prepared.gate} gate`);
        (prepared.gate === 'commit-status' ? droppedCommitStatus : droppedChangeRequest).push(`${a.namespace}/${a.name}`);
        continue;
      }
      if (prepared.kind === 'error') {
        this.failure(t, compiled, event, prepared.message);
        continue;
      }
      if (prepared.usedDeprecatedSummary) {
        log.info(alertLogOf(compiled, event), "warning: specifying an alert summary with '.spec.summary' is deprecated, use '.spec.eventMetadata.summary' instead");
      }
      if (prepared.conflicts.length > 0) {
        const msg = 'metadata key conflicts detected (please refer to the Alert API docs and Flux RFC 0008 for more information)';
        log.info({ ...alertLogOf(compiled, event), conflicts: prepared.conflicts }, `warning: ${msg}`);
        recorder.warning(alertRefOf(compiled), 'MetadataAppendFailed', msg, conflictAnnotations(prepared.conflicts));
      }
      try {
        // Construction errors are reported now, as Flux does, instead of failing later in the worker.
        providers.resolve(prepared.provider);
      } catch (err) {
        this.failure(t, compiled, event, (err as Error).message);
        continue;
      }
      if (this.opts.templates && hasTemplate(compiled.alert)) {
        const outcome = await this.opts.templates.render(prepared.notification, compiled.alert, prepared.provider);
        if (outcome.rendered) prepared.notification.rendered = outcome.rendered;
        if (outcome.error !== undefined) {
          log.error({ ...alertLogOf(compiled, event), error: outcome.error }, 'message template failed');
          recorder.warning(alertRefOf(compiled), 'InvalidConfig', outcome.error);
        }
      }
      const group = this.opts.grouping && groupableType(prepared.provider.spec.type) ? groupWindowOf(compiled.alert) : undefined;
      if (group !== undefined && 'error' in group) {
        log.error({ ...alertLogOf(compiled, event), error: group.error }, 'invalid group window');
        recorder.warning(alertRefOf(compiled), 'InvalidConfig', group.error);
      }
      if (group !== undefined && 'windowMs' in group) enqueues.push(this.opts.grouping!.add(prepared.notification, acceptedAt, group.windowMs));
      else {
        const id = randomUUID();
        t?.delivery(id, compiled, prepared.notification.provider);
        enqueues.push(outbox.enqueue({ id, notification: prepared.notification, acceptedAt }));
      }
    }
    if (droppedCommitStatus.length) log.info({ alerts: droppedCommitStatus, eventInvolvedObject: event.involvedObject }, 'event dropped for commit status providers due to missing commit metadata key');
    if (droppedChangeRequest.length) log.info({ alerts: droppedChangeRequest, eventInvolvedObject: event.involvedObject }, 'event dropped for change request providers due to missing change request metadata key');
    // Why enqueues failed. One delivery (the common case) is awaited as it is, without allSettled's result objects.
    const reasons: unknown[] = [];
    if (enqueues.length === 1) {
      try {
        await enqueues[0];
      } catch (err) {
        reasons.push(err);
      }
    } else if (enqueues.length > 1) {
      for (const r of await Promise.allSettled(enqueues)) if (r.status === 'rejected') reasons.push(r.reason);
    }
    // A provider whose share of the memory outbox is full refuses its own deliveries (logged and counted by the outbox);
    // the event is still accepted for the others. Only when every delivery was refused does the emitter get 503, so
    // that it retries. Any other failure (a durable outbox that cannot store) fails the event as before.
    const refused = reasons.filter((r) => r instanceof OutboxFullError).length;
    let failedAt = reasons.findIndex((r) => !(r instanceof OutboxFullError));
    if (failedAt < 0 && refused > 0 && refused === enqueues.length) failedAt = 0;
    if (failedAt >= 0) {
      const failed = reasons[failedAt];
      t?.setNote(`the outbox refused a delivery (answered 503): ${(failed as Error).message}`);
      throw stacklessError(() => new OutboxUnavailableError(`could not store the notification: ${(failed as Error).message}`, failed instanceof OutboxFullError));
    }
    return { matched: matched.length, enqueued: enqueues.length - refused, refused };
  }
}
