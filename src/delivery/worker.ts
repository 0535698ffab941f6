// The delivery worker: one attempt per call with a deadline, the retry decision, metrics, logs and Events on failure.
import { describeObject } from '../api/event.js';
import { providerTimeoutMs } from '../api/provider.js';
import { excerpt, MAX_LOGGED_ERROR, type Logger } from '../logger.js';
import type { AlertEventRecorder } from '../resources/recorder.js';
import type { ResourceStore } from '../resources/store.js';
import { maskError } from '../providers/masking.js';
import { ConfigError, DeliveryError } from '../providers/types.js';
import { deliveryFailuresTotal, deliveryRetriesTotal, notificationDuration, notificationsTotal } from '../metrics.js';
import type { Delivery, DeliveryHandler, DeliveryOutcome } from './outbox.js';
import type { ProviderCache } from './provider-cache.js';
import type { RetryPolicy } from './retry.js';

export interface WorkerOptions {
  store: ResourceStore;
  providers: ProviderCache;
  recorder: AlertEventRecorder;
  policy: RetryPolicy;
  log: Logger;
  now?: () => number;
}

export function createDeliveryHandler(opts: WorkerOptions): DeliveryHandler {
  const { store, providers, recorder, policy, log } = opts;
  const now = opts.now ?? Date.now;

  const finish = (d: Delivery, type: string, result: 'delivered' | 'failed' | 'dropped') => {
    notificationsTotal.inc({ type, result });
    notificationDuration.observe({ type }, Math.max(0, now() - d.acceptedAt) / 1000);
  };

  return async (delivery: Delivery, signal: AbortSignal): Promise<DeliveryOutcome> => {
    const n = delivery.notification;
    const type = n.provider.type;
    const alertRef = { namespace: n.alert.namespace, name: n.alert.name, uid: n.alert.uid };
    const logCtx = {
      alert: { namespace: n.alert.namespace, name: n.alert.name, providerName: n.provider.name },
      eventInvolvedObject: n.event.involvedObject,
      delivery: delivery.id,
    };
    const alert = store.alert(n.alert.namespace, n.alert.name);
    const provider = store.provider(n.provider.namespace, n.provider.name);
    if (!alert || !provider) {
      const reason = !alert ? `Alert ${n.alert.namespace}/${n.alert.name} was deleted` : `Provider ${n.provider.namespace}/${n.provider.name} was deleted`;
      log.info(logCtx, `dropping notification: ${reason}`);
      finish(delivery, type, 'dropped');
      return { result: 'dropped', reason };
    }
    if (provider.spec.suspend === true) {
      finish(delivery, type, 'dropped');
      return { result: 'dropped', reason: 'provider suspended' };
    }

    let resolved;
    try {
      resolved = providers.resolve(provider);
    } catch (err) {
      const message = excerpt((err as Error).message, MAX_LOGGED_ERROR);
      deliveryFailuresTotal.inc({ type, reason: 'config' });
      log.error({ ...logCtx, error: message }, 'failed to dispatch notification');
      recorder.warning(alertRef, 'NotificationDispatchFailed', `failed to dispatch notification for ${describeObject(n.event.involvedObject)}: ${message}`);
      finish(delivery, type, 'failed');
      return { result: 'failed', error: message };
    }

    const timeoutMs = providerTimeoutMs(provider);
    const start = now();
    if (delivery.firstAttemptAt === undefined) delivery.firstAttemptAt = start;
    const attempts = (delivery.attempts ?? 0) + 1;
    delivery.attempts = attempts;
    const deadline = policy.attemptDeadline(delivery, timeoutMs, start);
    const timeout = AbortSignal.timeout(Math.max(0, deadline - start));
    const attemptSignal = AbortSignal.any([signal, timeout]);

    let error: unknown;
    try {
      if (attemptSignal.aborted) throw attemptSignal.reason;
      await resolved.definition.send(n, resolved.config, { signal: attemptSignal, attempt: attempts, log });
      finish(delivery, type, 'delivered');
      log.debug({ ...logCtx, attempts }, 'notification delivered');
      return { result: 'delivered' };
    } catch (err) {
      error = err;
    }

    const timedOut = timeout.aborted && !signal.aborted;
    const raw = timedOut ? `context deadline exceeded: ${(error as Error)?.message ?? ''}`.replace(/: $/, '') : (error as Error)?.message ?? String(error);
    // Masked first (a secret cut in half would not be recognised), then bounded for logs, Events and the dead letter.
    const message = excerpt(maskError(raw, resolved.settings), MAX_LOGGED_ERROR);
    if (signal.aborted) {
      // Shutdown: hand the delivery back rather than count a failure.
      return { result: 'retry', delayMs: 0, error: message };
    }
    // A timed-out attempt is retryable; the policy decides whether any time is left (Flux's is not: its timeout covers all attempts).
    const retryable = timedOut || (error instanceof DeliveryError ? error.retryable : !(error instanceof ConfigError));
    const retryAfter = error instanceof DeliveryError ? error.retryAfterMs : undefined;
    const reason = timedOut ? 'timeout' : error instanceof DeliveryError ? error.reason : error instanceof ConfigError ? 'config' : 'transport';
    deliveryFailuresTotal.inc({ type, reason });
    if (retryable) {
      const decision = policy.next(delivery, attempts, retryAfter, timeoutMs, now());
      if (decision.retry) {
        deliveryRetriesTotal.inc({ type });
        log.debug({ ...logCtx, attempts, delayMs: decision.delayMs, error: message }, 'notification attempt failed, retrying');
        delivery.lastError = message;
        return { result: 'retry', delayMs: decision.delayMs, error: message };
      }
      return fail(`${message} (${decision.reason})`);
    }
    return fail(message);

    function fail(text: string): DeliveryOutcome {
      log.error({ ...logCtx, attempts, reason, error: text }, 'failed to send notification');
      recorder.warning(alertRef, 'NotificationDispatchFailed', `failed to send notification for ${describeObject(n.event.involvedObject)}: ${text}`);
      finish(delivery, type, 'failed');
      delivery.lastError = text;
      return { result: 'failed', error: text };
    }
  };
}
