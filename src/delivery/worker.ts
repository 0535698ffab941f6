// The delivery worker: one attempt per call with a deadline, the retry decision, metrics, logs and Events on failure.
import { describeObject } from '../api/event.js';
import { providerTimeoutMs, type Provider } from '../api/provider.js';
import { excerpt, MAX_LOGGED_ERROR, type Logger } from '../logger.js';
import type { AlertEventRecorder } from '../resources/recorder.js';
import type { ResourceStore } from '../resources/store.js';
import { maskError } from '../providers/masking.js';
import { ConfigError, DeliveryError } from '../providers/types.js';
import { deliveryFailuresTotal, deliveryLatency, deliveryRetriesTotal, notificationDuration, notificationsTotal } from '../metrics.js';
import { AttemptDeadlines } from './attempt-deadlines.js';
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

interface TypeMetrics {
  delivered: { inc(): void };
  failed: { inc(): void };
  dropped: { inc(): void };
  duration: { observe(v: number): void };
  latency: { observe(v: number): void };
  retries: { inc(): void };
}

function typeMetrics(type: string): TypeMetrics {
  return {
    delivered: notificationsTotal.labels(type, 'delivered'),
    failed: notificationsTotal.labels(type, 'failed'),
    dropped: notificationsTotal.labels(type, 'dropped'),
    duration: notificationDuration.labels(type),
    latency: deliveryLatency.labels(type),
    retries: deliveryRetriesTotal.labels(type),
  };
}

/** The answer for every delivered attempt: one frozen object rather than one per delivery. */
const DELIVERED: DeliveryOutcome = Object.freeze({ result: 'delivered' });

export function createDeliveryHandler(opts: WorkerOptions): DeliveryHandler {
  const { store, providers, recorder, policy, log } = opts;
  const now = opts.now ?? Date.now;

  const deadlines = new AttemptDeadlines(now);
  // prom-client label handles resolved once per provider type, not a label object and lookup per delivery.
  const byType = new Map<string, TypeMetrics>();
  const metricsOf = (type: string): TypeMetrics => {
    let m = byType.get(type);
    if (!m) byType.set(type, (m = typeMetrics(type)));
    return m;
  };
  // The provider timeout parsed once per Provider object (a changed Provider is a new object).
  const timeouts = new WeakMap<Provider, number>();
  const timeoutOf = (p: Provider): number => {
    let t = timeouts.get(p);
    if (t === undefined) timeouts.set(p, (t = providerTimeoutMs(p)));
    return t;
  };

  const finish = (d: Delivery, m: TypeMetrics, result: 'delivered' | 'failed' | 'dropped', at = now()) => {
    m[result].inc();
    m.duration.observe(Math.max(0, at - d.acceptedAt) / 1000);
  };

  return async (delivery: Delivery, signal: AbortSignal): Promise<DeliveryOutcome> => {
    const n = delivery.notification;
    const type = n.provider.type;
    const m = metricsOf(type);
    // Built only when something is logged or recorded: the delivered path allocates neither.
    const alertRef = () => ({ namespace: n.alert.namespace, name: n.alert.name, uid: n.alert.uid });
    const logCtx = (extra?: Record<string, unknown>) => ({
      alert: { namespace: n.alert.namespace, name: n.alert.name, providerName: n.provider.name },
      eventInvolvedObject: n.event.involvedObject,
      delivery: delivery.id,
      ...extra,
    });
    const alert = store.alert(n.alert.namespace, n.alert.name);
    const provider = store.provider(n.provider.namespace, n.provider.name);
    if (!alert || !provider) {
      const reason = !alert ? `Alert ${n.alert.namespace}/${n.alert.name} was deleted` : `Provider ${n.provider.namespace}/${n.provider.name} was deleted`;
      log.info(logCtx(), `dropping notification: ${reason}`);
      finish(delivery, m, 'dropped');
      return { result: 'dropped', reason };
    }
    if (provider.spec.suspend === true) {
      finish(delivery, m, 'dropped');
      return { result: 'dropped', reason: 'provider suspended' };
    }

    let resolved;
    try {
      resolved = providers.resolve(provider);
    } catch (err) {
      const message = excerpt((err as Error).message, MAX_LOGGED_ERROR);
      deliveryFailuresTotal.inc({ type, reason: 'config' });
      log.error(logCtx({ error: message }), 'failed to dispatch notification');
      recorder.warning(alertRef(), 'NotificationDispatchFailed', `failed to dispatch notification for ${describeObject(n.event.involvedObject)}: ${message}`);
      finish(delivery, m, 'failed');
      return { result: 'failed', error: message };
    }

    const timeoutMs = timeoutOf(provider);
    const start = now();
    if (delivery.firstAttemptAt === undefined) delivery.firstAttemptAt = start;
    const attempts = (delivery.attempts ?? 0) + 1;
    delivery.attempts = attempts;
    const deadline = policy.attemptDeadline(delivery, timeoutMs, start);
    const attempt = deadlines.start(signal, deadline);

    let error: unknown;
    try {
      if (attempt.signal.aborted) throw attempt.signal.reason;
      await resolved.definition.send(n, resolved.config, { signal: attempt.signal, attempt: attempts, log });
      deadlines.finish(attempt);
      const answeredAt = now();
      m.latency.observe(Math.max(0, answeredAt - delivery.acceptedAt) / 1000);
      finish(delivery, m, 'delivered', answeredAt);
      if (log.isLevelEnabled('debug')) log.debug(logCtx({ attempts }), 'notification delivered');
      return DELIVERED;
    } catch (err) {
      deadlines.finish(attempt);
      error = err;
    }

    const timedOut = attempt.timedOut && !signal.aborted;
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
    deliveryFailuresTotal.labels(type, reason).inc();
    if (retryable) {
      const decision = policy.next(delivery, attempts, retryAfter, timeoutMs, now());
      if (decision.retry) {
        m.retries.inc();
        if (log.isLevelEnabled('debug')) log.debug(logCtx({ attempts, delayMs: decision.delayMs, error: message }), 'notification attempt failed, retrying');
        delivery.lastError = message;
        return { result: 'retry', delayMs: decision.delayMs, error: message };
      }
      return fail(`${message} (${decision.reason})`);
    }
    return fail(message);

    function fail(text: string): DeliveryOutcome {
      log.error(logCtx({ attempts, reason, error: text }), 'failed to send notification');
      recorder.warning(alertRef(), 'NotificationDispatchFailed', `failed to send notification for ${describeObject(n.event.involvedObject)}: ${text}`);
      finish(delivery, m, 'failed');
      delivery.lastError = text;
      return { result: 'failed', error: text };
    }
  };
}
