// Burst grouping with --outbox jetstream: every held event is stored in a stream (one subject per Alert × Provider)
// before the event server answers 202, so a restart, even kill -9, loses no pending group. NATS 2.9 APIs only.
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../logger.js';
import { encodeSubjectToken, ensureStream, type JetStreamNames } from '../jetstream/layout.js';
import { JetStreamUnavailableError, type NatsHandles, type NatsLink } from '../jetstream/link.js';
import type { Notification } from '../providers/types.js';
import { composeGroup, GROUP_MAX_EVENTS, type GroupingStage, type GroupItem } from './grouping.js';
import type { Outbox } from './outbox.js';

const MS = 1_000_000;
const utf8 = new TextDecoder();
/** After a failed flush (NATS or the outbox unavailable) the group is tried again after this long. */
const RETRY_FLUSH_MS = 5_000;
/** How often stored groups no replica holds (left by a stopped or crashed replica) are looked for. */
const SCAN_INTERVAL_MS = 10_000;

interface StoredItem extends GroupItem {
  windowMs: number;
}

interface HeldGroup {
  timer: NodeJS.Timeout;
  count: number;
  /** The last stream sequence this group covers; later messages on the subject belong to the next group. */
  upToSeq: number;
}

export interface JetStreamGroupingOptions {
  link: NatsLink;
  outbox: Outbox;
  names: JetStreamNames;
  log: Logger;
  replicas?: number;
  /** Overrides for tests. */
  scanIntervalMs?: number;
}

export function groupStreamName(names: JetStreamNames): string {
  return `${names.outboxStream}_GROUPS`;
}

function isStoredItem(v: unknown): v is StoredItem {
  const s = v as Partial<StoredItem> | null;
  return typeof s === 'object' && s !== null && typeof s.acceptedAt === 'number' && typeof s.windowMs === 'number'
    && typeof s.notification === 'object' && s.notification !== null && typeof s.notification.event === 'object';
}

export class JetStreamGrouping implements GroupingStage {
  private readonly stream: string;
  private readonly held = new Map<string, HeldGroup>();
  private readonly flushing = new Set<string>();
  private readonly scanTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: JetStreamGroupingOptions) {
    this.stream = groupStreamName(opts.names);
    opts.link.addSetup((h) => this.setup(h));
    this.scanTimer = setInterval(() => void this.scan(), opts.scanIntervalMs ?? SCAN_INTERVAL_MS);
    this.scanTimer.unref();
  }

  get pending(): number {
    return this.held.size;
  }

  private subjectOf(n: Notification): string {
    const t = encodeSubjectToken;
    return `${this.opts.names.subjectPrefix}.group.${t(n.alert.namespace)}.${t(n.alert.name)}.${t(n.provider.namespace)}.${t(n.provider.name)}`;
  }

  private async setup(h: NatsHandles): Promise<void> {
    await ensureStream(h.jsm, {
      name: this.stream,
      subjects: [`${this.opts.names.subjectPrefix}.group.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      duplicate_window: 2 * 60_000 * MS,
      num_replicas: this.opts.replicas ?? 1,
    });
    // Groups left by an earlier process: after (re)connecting, not in the setup itself (the link is not ready yet).
    setImmediate(() => void this.scan());
  }

  async add(notification: Notification, acceptedAt: number, windowMs: number): Promise<void> {
    if (this.closed) throw new JetStreamUnavailableError('grouping is shutting down');
    const h = this.opts.link.current();
    if (!h) throw new JetStreamUnavailableError(`the JetStream outbox is unavailable: ${this.opts.link.lastError}`);
    const subject = this.subjectOf(notification);
    const item: StoredItem = { notification, acceptedAt, windowMs };
    let seq: number;
    try {
      const ack = await this.opts.link.coalesce(() => h.js.publish(subject, JSON.stringify(item), { timeout: this.opts.link.requestTimeoutMs }));
      seq = ack.seq;
    } catch (err) {
      throw new JetStreamUnavailableError(`storing the event in group stream ${this.stream} failed: ${(err as Error).message}`);
    }
    let g = this.held.get(subject);
    if (!g) {
      g = { timer: setTimeout(() => void this.flush(subject), windowMs), count: 0, upToSeq: 0 };
      this.held.set(subject, g);
    }
    g.count++;
    g.upToSeq = Math.max(g.upToSeq, seq);
    if (g.count >= GROUP_MAX_EVENTS) void this.flush(subject);
  }

  /** Reads the subject's stored events up to `upToSeq` (at most GROUP_MAX_EVENTS), oldest first. */
  private async read(h: NatsHandles, subject: string, upToSeq: number): Promise<Array<StoredItem & { seq: number }>> {
    const info = await h.jsm.consumers.add(this.stream, {
      filter_subject: subject,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: 30_000 * MS,
      mem_storage: true,
    });
    const out: Array<StoredItem & { seq: number }> = [];
    try {
      const wanted = Math.min(info.num_pending, GROUP_MAX_EVENTS);
      if (wanted === 0) return out;
      const consumer = await h.js.consumers.get(this.stream, info.name);
      while (out.length < wanted) {
        const before = out.length;
        const batch = await consumer.fetch({ max_messages: wanted - out.length, expires: 2000 });
        for await (const m of batch) {
          if (m.seq > upToSeq) return out;
          try {
            const v: unknown = JSON.parse(utf8.decode(m.data));
            if (isStoredItem(v)) out.push({ ...v, seq: m.seq });
            else this.opts.log.error({ stream: this.stream, seq: m.seq }, 'undecodable grouped event, skipped');
          } catch {
            this.opts.log.error({ stream: this.stream, seq: m.seq }, 'undecodable grouped event, skipped');
          }
          if (out.length >= wanted) break;
        }
        if (out.length === before) break;
      }
      return out;
    } finally {
      await h.jsm.consumers.delete(this.stream, info.name).catch(() => undefined);
    }
  }

  private async flush(subject: string): Promise<void> {
    const g = this.held.get(subject);
    if (!g || this.flushing.has(subject)) return;
    this.held.delete(subject);
    clearTimeout(g.timer);
    this.flushing.add(subject);
    try {
      for (;;) {
        const h = this.opts.link.current();
        if (!h) throw new JetStreamUnavailableError(this.opts.link.lastError);
        const items = await this.read(h, subject, g.upToSeq);
        if (items.length === 0) return;
        const first = items[0]!.seq;
        const last = items[items.length - 1]!.seq;
        // The id makes a repeated flush of the same events (a crash between storing and purging) one delivery.
        await this.opts.outbox.enqueue({ id: `group-${this.stream}-${first}-${last}`, notification: composeGroup(items), acceptedAt: items[0]!.acceptedAt });
        await h.jsm.streams.purge(this.stream, { filter: subject, seq: last + 1 });
        this.opts.log.debug({ group: subject, events: items.length }, 'grouped notification stored in the outbox');
        if (items.length < GROUP_MAX_EVENTS || last >= g.upToSeq) return;
      }
    } catch (err) {
      this.opts.log.warn({ group: subject, error: (err as Error).message }, 'flushing a stored group failed, trying again');
      if (!this.closed && !this.held.has(subject)) {
        this.held.set(subject, { timer: setTimeout(() => void this.flush(subject), RETRY_FLUSH_MS), count: g.count, upToSeq: g.upToSeq });
      }
    } finally {
      this.flushing.delete(subject);
    }
  }

  /** Takes up stored groups this process does not hold: each is flushed when its first event's window ends. */
  private async scan(): Promise<void> {
    if (this.closed) return;
    const h = this.opts.link.current();
    if (!h) return;
    try {
      const info = await h.jsm.streams.info(this.stream, { subjects_filter: '>' });
      const subjects = Object.keys(info.state.subjects ?? {});
      const lastSeq = info.state.last_seq;
      for (const subject of subjects) {
        if (this.closed || this.held.has(subject) || this.flushing.has(subject)) continue;
        await this.adopt(h.jsm, h, subject, lastSeq);
      }
    } catch (err) {
      this.opts.log.debug({ error: (err as Error).message }, 'looking for stored groups failed');
    }
  }

  private async adopt(_jsm: JetStreamManager, h: NatsHandles, subject: string, lastSeq: number): Promise<void> {
    const items = await this.read(h, subject, lastSeq);
    if (items.length === 0 || this.held.has(subject) || this.closed) return;
    const due = Math.max(0, items[0]!.acceptedAt + items[0]!.windowMs - Date.now());
    this.opts.log.info({ group: subject, events: items.length, dueInMs: due }, 'took up a stored group');
    this.held.set(subject, { timer: setTimeout(() => void this.flush(subject), due), count: items.length, upToSeq: lastSeq });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.scanTimer);
    for (const g of this.held.values()) clearTimeout(g.timer);
    if (this.held.size > 0) this.opts.log.info({ groups: this.held.size }, 'pending groups stay stored in JetStream for the next start');
    this.held.clear();
  }
}
