// Kubernetes-style Events recorded on Alerts (event-server.md §13): logged in directory mode, posted to the API in cluster mode.
import type { Logger } from '../logger.js';

export interface AlertRef {
  namespace: string;
  name: string;
  uid: string;
}

export type EventReason =
  | 'NotificationDispatchFailed'
  | 'InvalidConfig'
  | 'SourceFetchFailed'
  | 'MetadataAppendFailed';

export interface AlertEventRecorder {
  /** Records a Warning event on the Alert. Implementations aggregate repeats; messages must already be masked. */
  warning(alert: AlertRef, reason: EventReason, message: string, annotations?: Record<string, string>): void;
}

/** The recorder for directory mode: one log line per event, repeats within a minute collapsed. */
export class LogEventRecorder implements AlertEventRecorder {
  private readonly seen = new Map<string, number>();
  constructor(private readonly log: Logger, private readonly windowMs = 60_000) {}

  warning(alert: AlertRef, reason: EventReason, message: string, annotations?: Record<string, string>): void {
    const key = `${alert.namespace}/${alert.name}/${reason}/${message}`;
    const now = Date.now();
    const last = this.seen.get(key);
    if (last !== undefined && now - last < this.windowMs) return;
    this.seen.set(key, now);
    if (this.seen.size > 10_000) this.seen.clear();
    this.log.warn({ alert: { namespace: alert.namespace, name: alert.name }, reason, annotations }, message);
  }
}
