// core/v1 Events on Alerts, aggregated like client-go's EventCorrelator so a flapping provider cannot flood the API server.
import { hostname } from 'node:os';
import type { Logger } from '../logger.js';
import { NOTIFICATION_GROUP } from '../api/alert.js';
import type { AlertEventRecorder, AlertRef, EventReason } from './recorder.js';
import { KubeApiError, type KubeRest } from './kube-rest.js';

export const EVENT_COMPONENT = 'notification-controller';
export const ALERT_API_VERSION = `${NOTIFICATION_GROUP}/v1beta3`;
const COMBINED_PREFIX = '(combined from similar events): ';

export interface KubeEventTuning {
  /** Least time between two writes (create or patch) of the same Event; repeats in between only raise its count. */
  patchIntervalMs: number;
  /** Writes allowed per Alert in a burst (client-go spam filter: 25). */
  burst: number;
  /** One more write allowed per Alert every refillMs once the burst is spent (client-go: 5 minutes). */
  refillMs: number;
  /** Distinct messages with one reason on one Alert before they are combined into one Event (client-go: 10). */
  similarMax: number;
  similarWindowMs: number;
  /** Distinct Events remembered for aggregation (client-go: 4096). */
  cacheSize: number;
  /** Longer messages are cut (events.k8s.io caps notes at 1 KiB). */
  maxMessageBytes: number;
}

export const DEFAULT_EVENT_TUNING: KubeEventTuning = {
  patchIntervalMs: 10_000,
  burst: 25,
  refillMs: 300_000,
  similarMax: 10,
  similarWindowMs: 600_000,
  cacheSize: 4096,
  maxMessageBytes: 1024,
};

export type EventType = 'Warning' | 'Normal';

export interface KubeEventRecorderOptions {
  tuning?: Partial<KubeEventTuning>;
  /** reportingInstance: the pod name (defaults to POD_NAME or the host name). */
  instance?: string;
  /** Last line of defence: masks values the message must not carry (the caller masks first). */
  mask?: (alert: AlertRef, message: string) => string;
}

interface EventEntry {
  alert: AlertRef;
  type: EventType;
  reason: string;
  message: string;
  annotations?: Record<string, string>;
  /** Name of the Event on the API server once created. */
  name?: string;
  count: number;
  written: number;
  first: number;
  last: number;
  lastWriteAt: number;
  timer?: NodeJS.Timeout;
  writing?: Promise<void>;
}

interface SimilarRecord {
  messages: Set<string>;
  last: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Kubernetes timestamps are RFC 3339 with second precision. */
function kubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Cuts a message to at most maxBytes of UTF-8, on a character boundary, marking the cut with '...'. */
export function truncateMessage(message: string, maxBytes: number): string {
  if (Buffer.byteLength(message, 'utf8') <= maxBytes) return message;
  let bytes = 0;
  let out = '';
  for (const ch of message) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes - 3) break;
    bytes += n;
    out += ch;
  }
  return `${out}...`;
}

let nameCounter = 0n;
/** client-go names Events `<object>.<unix nanos in hex>`. */
function eventName(objectName: string, now: number): string {
  nameCounter = (nameCounter + 1n) % 1_000_000n;
  return `${objectName}.${(BigInt(now) * 1_000_000n + nameCounter).toString(16)}`;
}

/**
 * Records Events on Alerts. Aggregation, in client-go's order:
 * 1. the same Alert, type, reason and message is one Event: its `count` and `lastTimestamp` are
 *    patched, at most once per `patchIntervalMs` (repeats in between are added to the next patch);
 * 2. from the `similarMax`-th distinct message with one reason on one Alert within `similarWindowMs`,
 *    messages share one Event whose message is `(combined from similar events): <latest>`;
 * 3. each Alert may cause `burst` API writes, then one per `refillMs`; writes held back are not
 *    lost, the next allowed write carries the accumulated count.
 */
export class KubeEventRecorder implements AlertEventRecorder {
  private readonly tuning: KubeEventTuning;
  private readonly instance: string;
  private readonly entries = new Map<string, EventEntry>();
  private readonly similar = new Map<string, SimilarRecord>();
  private readonly buckets = new Map<string, Bucket>();
  private closed = false;

  constructor(
    private readonly rest: KubeRest,
    private readonly log: Logger,
    private readonly opts: KubeEventRecorderOptions = {},
  ) {
    this.tuning = { ...DEFAULT_EVENT_TUNING, ...opts.tuning };
    this.instance = opts.instance ?? process.env['POD_NAME'] ?? hostname();
  }

  warning(alert: AlertRef, reason: EventReason, message: string, annotations?: Record<string, string>): void {
    this.record(alert, 'Warning', reason, message, annotations);
  }

  record(alert: AlertRef, type: EventType, reason: string, rawMessage: string, annotations?: Record<string, string>): void {
    if (this.closed) return;
    const now = Date.now();
    let message = truncateMessage(this.opts.mask ? this.opts.mask(alert, rawMessage) : rawMessage, this.tuning.maxMessageBytes);
    const objectKey = `${alert.namespace}\u0000${alert.name}\u0000${alert.uid}`;
    const aggregateKey = `${objectKey}\u0000${type}\u0000${reason}`;
    let key = `${aggregateKey}\u0000${message}`;

    let sim = this.similar.get(aggregateKey);
    if (!sim || now - sim.last > this.tuning.similarWindowMs) {
      sim = { messages: new Set(), last: now };
      this.similar.set(aggregateKey, sim);
    }
    sim.last = now;
    // Past the threshold everything is combined anyway; not growing the set bounds memory for ever-changing messages.
    if (sim.messages.size < this.tuning.similarMax) sim.messages.add(message);
    if (sim.messages.size >= this.tuning.similarMax) {
      message = truncateMessage(COMBINED_PREFIX + message, this.tuning.maxMessageBytes);
      key = `${aggregateKey}\u0000combined`;
    }

    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
    } else {
      entry = { alert, type, reason, message, count: 0, written: 0, first: now, last: now, lastWriteAt: 0 };
      if (annotations && Object.keys(annotations).length > 0) entry.annotations = { ...annotations };
    }
    this.entries.set(key, entry);
    entry.count += 1;
    entry.last = now;
    entry.message = message;
    this.evict();
    this.schedule(entry);
  }

  /** Writes every Event with unwritten repeats now, ignoring the patch interval and the rate limit. */
  async flush(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      if (e.timer) {
        clearTimeout(e.timer);
        e.timer = undefined;
      }
      if (e.writing) pending.push(e.writing);
    }
    await Promise.all(pending);
    await Promise.all([...this.entries.values()].filter((e) => e.count > e.written).map((e) => this.write(e, true)));
  }

  /** Writes what is pending, waiting at most `graceMs` so an unreachable API server cannot hold up shutdown. */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => { timer = setTimeout(r, graceMs); })]);
    clearTimeout(timer);
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
    this.entries.clear();
  }

  private evict(): void {
    while (this.entries.size > this.tuning.cacheSize) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, EventEntry];
      if (oldest.timer) clearTimeout(oldest.timer);
      this.entries.delete(oldestKey);
    }
    if (this.similar.size > this.tuning.cacheSize) {
      const cutoff = Date.now() - this.tuning.similarWindowMs;
      for (const [k, s] of this.similar) if (s.last < cutoff) this.similar.delete(k);
      if (this.similar.size > this.tuning.cacheSize) this.similar.clear();
    }
  }

  private schedule(e: EventEntry, atLeastMs = 0): void {
    if (e.timer || e.writing || this.closed) return;
    const delay = Math.max(atLeastMs, e.name === undefined ? 0 : e.lastWriteAt + this.tuning.patchIntervalMs - Date.now());
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void this.write(e, false);
    }, Math.max(0, delay));
    e.timer.unref();
  }

  /** Takes one write token of the Alert's bucket; returns 0, or how long to wait for the next token. */
  private takeToken(e: EventEntry): number {
    const key = `${e.alert.namespace}/${e.alert.name}/${e.alert.uid}`;
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: this.tuning.burst, at: now };
    b.tokens = Math.min(this.tuning.burst, b.tokens + (now - b.at) / this.tuning.refillMs);
    b.at = now;
    this.buckets.set(key, b);
    if (this.buckets.size > this.tuning.cacheSize) {
      // A full bucket holds no state worth keeping; refilled ones go first.
      for (const [k, v] of this.buckets) if (k !== key && v.tokens + (now - v.at) / this.tuning.refillMs >= this.tuning.burst) this.buckets.delete(k);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) * this.tuning.refillMs);
  }

  private write(e: EventEntry, force: boolean): Promise<void> {
    if (e.writing) return e.writing;
    if (e.count <= e.written) return Promise.resolve();
    if (!force) {
      const wait = this.takeToken(e);
      if (wait > 0) {
        this.schedule(e, wait);
        return Promise.resolve();
      }
    }
    e.writing = this.send(e).finally(() => {
      e.writing = undefined;
      if (e.count > e.written) this.schedule(e);
    });
    return e.writing;
  }

  private async send(e: EventEntry): Promise<void> {
    const count = e.count;
    const path = `/api/v1/namespaces/${encodeURIComponent(e.alert.namespace)}/events`;
    try {
      if (e.name !== undefined) {
        try {
          await this.rest.patch(`${path}/${encodeURIComponent(e.name)}`, {
            count, lastTimestamp: kubeTime(e.last), message: e.message,
          }, 'application/merge-patch+json');
        } catch (err) {
          // The API server expires Events (1 h by default): start a new one carrying the count.
          if (!(err instanceof KubeApiError && err.status === 404)) throw err;
          e.name = undefined;
        }
      }
      if (e.name === undefined) {
        const name = eventName(e.alert.name, Date.now());
        await this.rest.post(path, this.eventBody(e, name, count));
        e.name = name;
      }
    } catch (err) {
      this.log.warn({ alert: { namespace: e.alert.namespace, name: e.alert.name }, reason: e.reason, error: (err as Error).message },
        'failed to record Kubernetes event');
    } finally {
      // Failed writes are not retried on their own; the next repeat writes the full count again.
      e.written = count;
      e.lastWriteAt = Date.now();
    }
  }

  private eventBody(e: EventEntry, name: string, count: number): Record<string, unknown> {
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: e.alert.namespace, ...(e.annotations ? { annotations: e.annotations } : {}) },
      involvedObject: {
        kind: 'Alert', apiVersion: ALERT_API_VERSION, namespace: e.alert.namespace, name: e.alert.name, uid: e.alert.uid,
      },
      reason: e.reason,
      message: e.message,
      type: e.type,
      source: { component: EVENT_COMPONENT },
      firstTimestamp: kubeTime(e.first),
      lastTimestamp: kubeTime(e.last),
      count,
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: this.instance,
    };
  }
}
