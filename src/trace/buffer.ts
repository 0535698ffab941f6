// The live trace (issue 13 item 5): the last N events and what happened to each, in a fixed-size ring of compact
// records. Memory is bounded by N × (record size), and each record is bounded: message excerpts, verdict lists,
// deliveries and attempts all have caps. Only what the worker already masked is stored; never Secret values.
import { describeObject, type FluxEvent } from '../api/event.js';
import type { CompiledAlert } from '../resources/store.js';
import { StaticRejections, type MatchVerdict } from '../routing/match.js';
import type { DeliveryHandler, DeliveryOutcome } from '../delivery/outbox.js';

export const DEFAULT_TRACE_EVENTS = 1000;
export const MAX_MESSAGE_CHARS = 240;
export const MAX_TEXT_CHARS = 400;
export const MAX_ALERTS_PER_EVENT = 50;
export const MAX_DELIVERIES_PER_EVENT = 50;
export const MAX_ATTEMPTS_PER_DELIVERY = 10;

export interface TraceAttempt {
  at: string;
  attempt: number;
  /** delivered, retry, failed or dropped: the worker's answer for this attempt. */
  result: DeliveryOutcome['result'];
  /** The (masked) error or drop reason. */
  error?: string;
  delayMs?: number;
}

export interface TraceDelivery {
  id: string;
  alert: string;
  provider: string;
  type: string;
  state: 'queued' | 'retrying' | 'delivered' | 'failed' | 'dropped';
  attempts: TraceAttempt[];
  /** Attempts left out of `attempts` (the first and the latest are kept). */
  attemptsOmitted?: number;
}

export interface TraceAlert {
  alert: string;
  provider?: string;
  matched: boolean;
  /** For a match: the source that matched; otherwise the first rule that excluded the event. */
  rule?: string;
  /** What happened after the match when it was not a delivery (skipped, dropped by a gate, failed to prepare). */
  outcome?: string;
}

export interface TraceRecord {
  seq: number;
  at: string;
  object: string;
  severity: string;
  reason: string;
  message: string;
  dedup: 'passed' | 'duplicate';
  /** A summary when no Alert was even a candidate, or the event was refused. */
  note?: string;
  alerts: TraceAlert[];
  alertsOmitted?: number;
  deliveries: TraceDelivery[];
  deliveriesOmitted?: number;
}

export interface TraceFilter {
  object?: string;
  alert?: string;
  provider?: string;
  /** Only records with a larger sequence number (for following). */
  since?: number;
  limit?: number;
}

export function excerpt(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** What the dispatcher reports about one event while it handles it. */
export interface EventTrace {
  verdict(alert: CompiledAlert, verdict: MatchVerdict | StaticRejections): void;
  outcome(alert: CompiledAlert, text: string): void;
  delivery(id: string, alert: CompiledAlert, provider: { namespace: string; name: string; type: string }): void;
  setNote(text: string): void;
}

const alertName = (c: CompiledAlert) => `${c.alert.metadata.namespace}/${c.alert.metadata.name}`;

/** A recorded candidate as the trace shows it. */
function toTraceAlert(x: Candidate): TraceAlert {
  const { c, v } = x;
  const out: TraceAlert = { alert: alertName(c), provider: `${c.alert.metadata.namespace}/${c.alert.spec.providerRef.name}`, matched: v?.matched ?? false };
  if (v instanceof StaticRejections) out.rule = excerpt(v.ruleFor(c), MAX_TEXT_CHARS);
  else if (v) out.rule = excerpt(v.matched ? `source ${v.source.kind}/${v.source.namespace ?? c.alert.metadata.namespace}/${v.source.name}` : v.rule, MAX_TEXT_CHARS);
  if (x.outcome !== undefined) out.outcome = x.outcome;
  return out;
}

class Candidate {
  outcome?: string;
  constructor(readonly c: CompiledAlert, public v?: MatchVerdict | StaticRejections) {}
}

type ProviderRef = { namespace: string; name: string; type: string };

/** One attempt's answer; the time is kept as a number and formatted when the trace is read. */
class LiveAttempt implements TraceAttempt {
  error?: string;
  delayMs?: number;
  constructor(private readonly ms: number, readonly attempt: number, readonly result: DeliveryOutcome['result']) {}

  get at(): string {
    return new Date(this.ms).toISOString();
  }

  toJSON(): TraceAttempt {
    const out: TraceAttempt = { at: this.at, attempt: this.attempt, result: this.result };
    if (this.error !== undefined) out.error = this.error;
    if (this.delayMs !== undefined) out.delayMs = this.delayMs;
    return out;
  }
}

/** One delivery of a record: the Alert and Provider are kept as references and named when the trace is read. */
class LiveDelivery implements TraceDelivery {
  state: TraceDelivery['state'] = 'queued';
  attemptsOmitted?: number;
  private list?: LiveAttempt[];
  constructor(readonly id: string, private readonly c: CompiledAlert, private readonly p: ProviderRef) {}

  get alert(): string {
    return alertName(this.c);
  }

  get provider(): string {
    return `${this.p.namespace}/${this.p.name}`;
  }

  get type(): string {
    return this.p.type;
  }

  get attempts(): TraceAttempt[] {
    return this.list ?? [];
  }

  add(a: LiveAttempt): void {
    if (this.list === undefined) {
      this.list = [a];
      return;
    }
    if (this.list.length >= MAX_ATTEMPTS_PER_DELIVERY) {
      // Keep the first attempt and the latest ones.
      this.list.splice(1, 1);
      this.attemptsOmitted = (this.attemptsOmitted ?? 0) + 1;
    }
    this.list.push(a);
  }

  toJSON(): TraceDelivery {
    const out: TraceDelivery = { id: this.id, alert: this.alert, provider: this.provider, type: this.type, state: this.state, attempts: this.attempts };
    if (this.attemptsOmitted !== undefined) out.attemptsOmitted = this.attemptsOmitted;
    return out;
  }
}

/**
 * One event's record, written on the hot path for every event: a class (one shape, methods on the prototype) instead
 * of an object literal with getters and four closures per event. What is only needed when the trace is read (the
 * time and object as text, the candidates' names and rules) is built by getters then; JSON gets plain values.
 */
class LiveRecord implements TraceRecord, EventTrace {
  note?: string;
  alertsOmitted?: number;
  deliveriesOmitted?: number;
  // Arrays are created with their first element (capacity 1) instead of empty and pushed to (V8 then reserves 17
  // slots): most events have one candidate and one delivery, and a record lives for the last N events.
  private sent?: LiveDelivery[];
  readonly reason: string;
  readonly message: string;
  readonly severity: string;
  /**
   * Every candidate Alert (an all-namespace Alert is one for every event of its kind): kept raw, named when read. One
   * rejected without looking at the message is kept as the bare CompiledAlert, its verdict the record's `rejections`:
   * with 25 all-namespace Alerts of a kind that is 25 objects fewer per event, each living as long as the record.
   */
  private raw?: (Candidate | CompiledAlert)[];
  private rejections?: StaticRejections;

  constructor(
    private readonly owner: Map<string, LiveDelivery>,
    readonly seq: number,
    private readonly ms: number,
    private readonly ref: FluxEvent['involvedObject'],
    event: FluxEvent,
    readonly dedup: TraceRecord['dedup'],
  ) {
    this.severity = event.severity;
    this.reason = excerpt(event.reason, 120);
    this.message = excerpt(event.message, MAX_MESSAGE_CHARS);
  }

  get at(): string {
    return new Date(this.ms).toISOString();
  }

  get object(): string {
    return describeObject(this.ref);
  }

  get alerts(): TraceAlert[] {
    return this.raw ? this.raw.map((x) => toTraceAlert(x instanceof Candidate ? x : new Candidate(x, this.rejections))) : [];
  }

  get deliveries(): TraceDelivery[] {
    return this.sent ?? [];
  }

  toJSON(): TraceRecord {
    const out: TraceRecord = { seq: this.seq, at: this.at, object: this.object, severity: this.severity, reason: this.reason, message: this.message, dedup: this.dedup, alerts: this.alerts, deliveries: this.deliveries };
    if (this.note !== undefined) out.note = this.note;
    if (this.alertsOmitted !== undefined) out.alertsOmitted = this.alertsOmitted;
    if (this.deliveriesOmitted !== undefined) out.deliveriesOmitted = this.deliveriesOmitted;
    return out;
  }

  /** Appends a candidate, or counts it as omitted once the record holds MAX_ALERTS_PER_EVENT. */
  private add<T extends Candidate | CompiledAlert>(x: T): T | undefined {
    if (this.raw === undefined) this.raw = [x];
    else if (this.raw.length >= MAX_ALERTS_PER_EVENT) {
      this.alertsOmitted = (this.alertsOmitted ?? 0) + 1;
      return undefined;
    } else this.raw.push(x);
    return x;
  }

  /** The candidate's entry, made a full one if it was kept bare. */
  private entry(c: CompiledAlert): Candidate | undefined {
    const raw = this.raw ?? [];
    for (let i = 0; i < raw.length; i++) {
      const x = raw[i]!;
      if (x instanceof Candidate) {
        if (x.c === c) return x;
      } else if (x === c) {
        return (raw[i] = new Candidate(c, this.rejections));
      }
    }
    return this.add(new Candidate(c));
  }

  /** Each candidate's verdict is reported once (selectAlerts), so it is appended without a search. */
  verdict(c: CompiledAlert, v: MatchVerdict | StaticRejections): void {
    if (v instanceof StaticRejections) {
      this.rejections = v;
      this.add(c);
      return;
    }
    this.add(new Candidate(c, v));
  }

  outcome(c: CompiledAlert, text: string): void {
    const e = this.entry(c);
    if (e) e.outcome = excerpt(text, MAX_TEXT_CHARS);
  }

  delivery(id: string, c: CompiledAlert, p: ProviderRef): void {
    const d = new LiveDelivery(id, c, p);
    if (this.sent === undefined) this.sent = [d];
    else if (this.sent.length >= MAX_DELIVERIES_PER_EVENT) {
      this.deliveriesOmitted = (this.deliveriesOmitted ?? 0) + 1;
      return;
    } else this.sent.push(d);
    this.owner.set(id, d);
  }

  setNote(text: string): void {
    this.note = excerpt(text, MAX_TEXT_CHARS);
  }
}

export class TraceBuffer {
  private readonly ring: (LiveRecord | undefined)[];
  private next = 0;
  private seq = 0;
  private readonly deliveries = new Map<string, LiveDelivery>();

  constructor(readonly capacity = DEFAULT_TRACE_EVENTS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`trace capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array(capacity);
  }

  /** Records kept now (≤ capacity). */
  get size(): number {
    return Math.min(this.seq, this.capacity);
  }

  /** Deliveries whose attempts can still be recorded (they belong to kept records). */
  get trackedDeliveries(): number {
    return this.deliveries.size;
  }

  get lastSeq(): number {
    return this.seq;
  }

  private push(event: FluxEvent, dedup: TraceRecord['dedup']): LiveRecord {
    const old = this.ring[this.next];
    if (old) for (const d of old.deliveries) this.deliveries.delete(d.id);
    const record = new LiveRecord(this.deliveries, ++this.seq, Date.now(), event.involvedObject, event, dedup);
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
    return record;
  }

  /** An event answered 429 (rate limited as a duplicate): no Alert was consulted. */
  duplicate(event: FluxEvent): void {
    const r = this.push(event, 'duplicate');
    r.note = 'duplicate within --rate-limit-interval: discarded before Alert matching (answered 429)';
  }

  /** An event that passed deduplication and is being dispatched. */
  begin(event: FluxEvent): EventTrace {
    return this.push(event, 'passed');
  }

  /** One worker answer for a delivery (called after each attempt). */
  attempt(id: string, attempt: number, outcome: DeliveryOutcome): void {
    const d = this.deliveries.get(id);
    if (!d) return;
    const a = new LiveAttempt(Date.now(), attempt, outcome.result);
    if (outcome.result === 'retry' || outcome.result === 'failed') a.error = excerpt(outcome.error, MAX_TEXT_CHARS);
    if (outcome.result === 'dropped') a.error = excerpt(outcome.reason, MAX_TEXT_CHARS);
    if (outcome.result === 'retry') a.delayMs = outcome.delayMs;
    d.add(a);
    d.state = outcome.result === 'retry' ? 'retrying' : outcome.result;
    if (d.state !== 'retrying') this.deliveries.delete(id);
  }

  /** Newest first. Filters are case-insensitive substrings of `Kind/ns/name`, `ns/alert` and `ns/provider` or type. */
  query(filter: TraceFilter = {}): TraceRecord[] {
    const out: TraceRecord[] = [];
    const lc = (s?: string) => (s ? s.toLowerCase() : undefined);
    const object = lc(filter.object), alert = lc(filter.alert), provider = lc(filter.provider);
    const limit = filter.limit ?? this.capacity;
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const r = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (!r) break;
      if (filter.since !== undefined && r.seq <= filter.since) break;
      if (object && !r.object.toLowerCase().includes(object)) continue;
      if (alert && !r.alerts.some((a) => a.alert.toLowerCase().includes(alert)) && !r.deliveries.some((d) => d.alert.toLowerCase().includes(alert))) continue;
      if (provider && !r.deliveries.some((d) => d.provider.toLowerCase().includes(provider) || d.type.toLowerCase() === provider)
        && !r.alerts.some((a) => a.provider?.toLowerCase().includes(provider))) continue;
      out.push(r);
    }
    return out;
  }
}

/** Wraps the worker so each attempt's answer lands in the trace, without touching the worker itself. */
export function traceDeliveries(handler: DeliveryHandler, trace: TraceBuffer): DeliveryHandler {
  return async (d, signal) => {
    let outcome: DeliveryOutcome;
    try {
      outcome = await handler(d, signal);
    } catch (err) {
      // The message of an unexpected throw is not masked by the worker: keep it out of the trace.
      trace.attempt(d.id, d.attempts ?? 0, { result: 'failed', error: 'delivery handler failed (see the log)' });
      throw err;
    }
    trace.attempt(d.id, d.attempts ?? 0, outcome);
    return outcome;
  };
}
