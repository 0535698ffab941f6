// The durable outbox on NATS JetStream: deliveries stored in a work-queue stream, pulled by every replica, dead letters kept.
import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import client from 'prom-client';
import type { Logger } from '../logger.js';
import { JetStreamDedupStore } from '../jetstream/dedup-store.js';
import {
  deadSubject, deadWildcard, ensureStream, isDelivery, isNotFound, jetStreamNames, outboxSubject, outboxWildcard,
  type DeadLetter, type JetStreamNames,
} from '../jetstream/layout.js';
import { JetStreamUnavailableError, NatsLink, natsConnectOptions, type NatsConnectionSettings, type NatsHandles } from '../jetstream/link.js';
import type { Delivery, DeliveryHandler, DeliveryOutcome, Outbox } from './outbox.js';

const MS = 1_000_000; // nanoseconds per millisecond, JetStream's duration unit
const utf8 = new TextDecoder();

/** An ack-protocol message on a closed connection throws; the server then redelivers after the ack wait anyway. */
function quietly(send: () => void): void {
  try {
    send();
  } catch {
    // nothing to do
  }
}

export interface JetStreamOutboxOptions {
  link: NatsLink;
  log: Logger;
  names?: Partial<JetStreamNames>;
  /** Deliveries this replica works on at once, across all providers (default 32). */
  concurrency?: number;
  /**
   * How long the server waits for an ack before it gives a delivery to another worker (default 30 s). Workers
   * signal progress while they send, so this is only the time to notice a replica that died (kill -9, node loss).
   */
  ackWaitMs?: number;
  /** Storing one delivery may take this long before the event server answers 503 (default: the link's request timeout). */
  publishTimeoutMs?: number;
  /** Only used when the handler itself throws: such a delivery is retried until it is this old. */
  maxDeliveryAgeMs?: number;
  /** Stream replicas when Herald creates the streams (default 1; use 3 on a NATS cluster). */
  replicas?: number;
  /** How long one pull request waits on the server for messages (default 5 s). */
  pullExpiresMs?: number;
}

/** How long JetStream remembers a delivery id to drop a second store of the same delivery. */
const DUPLICATE_WINDOW_MS = 2 * 60_000;
/** Wait after the handler threw (a bug, not a provider failure). */
const HANDLER_ERROR_DELAY_MS = 10_000;
/** A dead letter that cannot be stored is tried again after this long. */
const DEAD_LETTER_RETRY_MS = 5_000;
const MAX_REMEMBERED_ERRORS = 10_000;

export class JetStreamOutbox implements Outbox {
  readonly kind = 'jetstream' as const;
  readonly names: JetStreamNames;
  private readonly link: NatsLink;
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly ackWaitMs: number;
  private readonly publishTimeoutMs: number;
  private readonly replicas: number;
  private readonly pullExpiresMs: number;
  private readonly maxDeliveryAgeMs: number | undefined;
  private handler: DeliveryHandler | undefined;
  private readonly inflight = new Map<JsMsg, Promise<void>>();
  /** Messages given back on close while their handler still ran; their late outcome is ignored. */
  private readonly handedBack = new WeakSet<JsMsg>();
  /** Last error per delivery id, so that a redelivery to this replica carries it (JetStream cannot rewrite a message). */
  private readonly lastErrors = new Map<string, string>();
  private readonly abort = new AbortController();
  private readonly stopPulling = new AbortController();
  private slotWaiters = new Set<() => void>();
  private currentFetch: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private stopping = false;
  private handedBackCount = 0;
  private closed: Promise<void> | undefined;
  private stats: { at: number; value: Promise<OutboxGaugeValues> } | undefined;

  constructor(opts: JetStreamOutboxOptions) {
    this.link = opts.link;
    this.log = opts.log;
    this.names = jetStreamNames(opts.names);
    this.concurrency = Math.max(1, opts.concurrency ?? 32);
    this.ackWaitMs = Math.max(1000, opts.ackWaitMs ?? 30_000);
    this.publishTimeoutMs = opts.publishTimeoutMs ?? opts.link.requestTimeoutMs;
    this.replicas = opts.replicas ?? 1;
    this.pullExpiresMs = Math.max(1000, opts.pullExpiresMs ?? 5000);
    this.maxDeliveryAgeMs = opts.maxDeliveryAgeMs;
    this.link.addSetup((h) => this.setup(h.jsm));
    activeOutboxes.add(this);
  }

  /** Streams and the shared consumer; idempotent, runs after every (re)connect. */
  private async setup(jsm: JetStreamManager): Promise<void> {
    const { outboxStream, deadStream, consumer } = this.names;
    // A full stream must refuse new messages (503 to the emitter), never drop stored ones.
    const common = { storage: StorageType.File, discard: DiscardPolicy.New, duplicate_window: DUPLICATE_WINDOW_MS * MS, num_replicas: this.replicas };
    await ensureStream(jsm, { ...common, name: outboxStream, subjects: [outboxWildcard(this.names)], retention: RetentionPolicy.Workqueue });
    await ensureStream(jsm, { ...common, name: deadStream, subjects: [deadWildcard(this.names)], retention: RetentionPolicy.Limits });
    const wanted: Partial<ConsumerConfig> = {
      ack_wait: this.ackWaitMs * MS,
      // The delivery's age decides when to give up, not a delivery count.
      max_deliver: -1,
      // Deliveries waiting for a retry count as unacknowledged: a cap would stall the queue during a provider outage.
      max_ack_pending: -1,
    };
    try {
      const info = await jsm.consumers.info(outboxStream, consumer);
      const c = info.config;
      if (c.ack_wait !== wanted.ack_wait || c.max_deliver !== -1 || c.max_ack_pending !== -1) {
        await jsm.consumers.update(outboxStream, consumer, wanted);
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(outboxStream, {
        ...wanted,
        durable_name: consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
      });
    }
  }

  async enqueue(delivery: Delivery): Promise<void> {
    if (this.stopping) throw new JetStreamUnavailableError('the JetStream outbox is shutting down');
    const h = this.link.current();
    if (!h) throw new JetStreamUnavailableError(`the JetStream outbox is unavailable: ${this.link.lastError}`);
    const subject = outboxSubject(this.names, delivery.notification.provider);
    try {
      // The delivery id as message id: storing the same delivery twice (a retried publish) keeps one copy.
      const body = JSON.stringify(delivery);
      await this.link.coalesce(() => h.js.publish(subject, body, { msgID: delivery.id, timeout: this.publishTimeoutMs }));
    } catch (err) {
      throw new JetStreamUnavailableError(`storing the delivery in stream ${this.names.outboxStream} failed: ${(err as Error).message}`);
    }
  }

  start(handler: DeliveryHandler): void {
    if (this.handler) throw new Error('JetStream outbox already started');
    this.handler = handler;
    this.link.start();
    this.loop = this.pull();
    // Progress signals stop the server from handing a slow delivery to a second replica.
    this.keepAlive = setInterval(() => {
      for (const m of this.inflight.keys()) quietly(() => m.working());
    }, Math.max(500, Math.floor(this.ackWaitMs / 3)));
    this.keepAlive.unref();
  }

  /** Deliveries this replica is working on. */
  get inFlight(): number {
    return this.inflight.size;
  }

  private async pull(): Promise<void> {
    const { outboxStream, consumer: durable } = this.names;
    while (!this.stopping) {
      let h: NatsHandles;
      try {
        h = await this.link.whenReady(this.stopPulling.signal);
      } catch {
        return;
      }
      try {
        const consumer = await h.js.consumers.get(outboxStream, durable);
        while (!this.stopping && this.link.ready) {
          await this.freeSlots();
          if (this.stopping) break;
          // Pull only what can start now: a message waiting in a client buffer would outlive its ack wait unseen.
          const batch = await consumer.fetch({ max_messages: this.concurrency - this.inflight.size, expires: this.pullExpiresMs });
          this.currentFetch = batch;
          for await (const m of batch) {
            if (this.stopping) m.nak();
            else this.dispatch(m);
          }
          this.currentFetch = undefined;
        }
      } catch (err) {
        this.currentFetch = undefined;
        if (this.stopping) return;
        this.log.warn({ error: (err as Error).message }, 'pulling from the JetStream outbox failed, retrying');
        await sleep(1000, undefined, { signal: this.stopPulling.signal }).catch(() => undefined);
      }
    }
  }

  /** Resolves when a worthwhile batch can be pulled: a quarter of the slots free (at least one), or on close. */
  private freeSlots(): Promise<void> {
    const want = Math.max(1, Math.floor(this.concurrency / 4));
    const ok = (): boolean => this.stopping || this.concurrency - this.inflight.size >= want;
    if (ok()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!ok()) return;
        this.slotWaiters.delete(check);
        resolve();
      };
      this.slotWaiters.add(check);
    });
  }

  private dispatch(m: JsMsg): void {
    const p = this.process(m).catch((err: unknown) => {
      this.log.error({ seq: m.seq, error: (err as Error).message }, 'settling a JetStream delivery failed');
    }).finally(() => {
      this.inflight.delete(m);
      for (const w of [...this.slotWaiters]) w();
    });
    this.inflight.set(m, p);
  }

  private async process(m: JsMsg): Promise<void> {
    let delivery: Delivery;
    try {
      const value: unknown = JSON.parse(utf8.decode(m.data));
      if (!isDelivery(value)) throw new Error('not a Herald delivery');
      delivery = value;
    } catch (err) {
      this.log.error({ seq: m.seq, subject: m.subject, error: (err as Error).message }, 'undecodable message in the JetStream outbox, moving it to the dead letters');
      await this.deadLetterRaw(m, `undecodable delivery: ${(err as Error).message}`);
      return;
    }
    // Every earlier hand-out counts as an attempt, including one cut short by a crash.
    delivery.attempts = Math.max(0, m.info.deliveryCount - 1);
    const remembered = this.lastErrors.get(delivery.id);
    if (remembered !== undefined && delivery.lastError === undefined) delivery.lastError = remembered;

    let outcome: DeliveryOutcome;
    try {
      outcome = await this.handler!(delivery, this.abort.signal);
    } catch (err) {
      const error = `delivery handler failed: ${(err as Error).message}`;
      this.log.error({ delivery: delivery.id, error }, 'delivery handler failed');
      const tooOld = this.maxDeliveryAgeMs !== undefined && Date.now() - delivery.acceptedAt > this.maxDeliveryAgeMs;
      outcome = tooOld ? { result: 'failed', error } : { result: 'retry', delayMs: HANDLER_ERROR_DELAY_MS, error };
    }
    if (this.handedBack.has(m)) return;
    await this.settle(m, delivery, outcome);
  }

  private async settle(m: JsMsg, delivery: Delivery, outcome: DeliveryOutcome): Promise<void> {
    switch (outcome.result) {
      case 'delivered':
        this.lastErrors.delete(delivery.id);
        await this.link.coalesce(() => m.ack());
        return;
      case 'retry':
        if (this.stopping) this.handedBackCount++;
        this.rememberError(delivery.id, outcome.error);
        await this.link.coalesce(() => m.nak(Math.max(0, Math.round(outcome.delayMs))));
        return;
      case 'dropped':
        this.lastErrors.delete(delivery.id);
        this.log.debug({ delivery: delivery.id, reason: outcome.reason }, 'delivery dropped');
        await this.link.coalesce(() => m.ack());
        return;
      case 'failed': {
        const letter: DeadLetter = { delivery: { ...delivery, lastError: outcome.error }, error: outcome.error, failedAt: Date.now(), attempts: delivery.attempts ?? m.info.deliveryCount };
        try {
          await this.storeDeadLetter(m, deadSubject(this.names, delivery.notification.provider), JSON.stringify(letter));
        } catch (err) {
          this.log.error({ delivery: delivery.id, error: (err as Error).message }, 'storing the dead letter failed, keeping the delivery');
          m.nak(DEAD_LETTER_RETRY_MS);
          return;
        }
        this.lastErrors.delete(delivery.id);
        this.log.info({ delivery: delivery.id, provider: `${delivery.notification.provider.namespace}/${delivery.notification.provider.name}`, error: outcome.error }, 'delivery moved to the dead letters');
        m.ack();
        return;
      }
    }
  }

  private async storeDeadLetter(m: JsMsg, subject: string, body: string): Promise<void> {
    const h = this.link.current();
    if (!h) throw new JetStreamUnavailableError(this.link.lastError);
    // The outbox sequence makes the id unique per stored delivery, and a repeat after a crash between publish and ack a duplicate.
    await h.js.publish(subject, body, { msgID: `dead-${this.names.outboxStream}-${m.seq}`, timeout: this.publishTimeoutMs });
  }

  private async deadLetterRaw(m: JsMsg, error: string): Promise<void> {
    const provider = m.subject.split('.').slice(-2);
    const subject = `${this.names.subjectPrefix}.dead.${provider[0] ?? 'unknown'}.${provider[1] ?? 'unknown'}`;
    try {
      await this.storeDeadLetter(m, subject, JSON.stringify({ raw: Buffer.from(m.data).toString('base64'), error, failedAt: Date.now(), attempts: m.info.deliveryCount }));
      m.ack();
    } catch (err) {
      this.log.error({ seq: m.seq, error: (err as Error).message }, 'storing the dead letter failed, keeping the message');
      m.nak(DEAD_LETTER_RETRY_MS);
    }
  }

  private rememberError(id: string, error: string): void {
    this.lastErrors.delete(id);
    this.lastErrors.set(id, error);
    if (this.lastErrors.size > MAX_REMEMBERED_ERRORS) {
      const oldest = this.lastErrors.keys().next().value;
      if (oldest !== undefined) this.lastErrors.delete(oldest);
    }
  }

  /**
   * Stops pulling, lets in-flight deliveries finish for up to `graceMs`, then aborts the rest: the worker hands them
   * back (nak without delay) so another replica takes them at once. Pending acks and naks are flushed.
   */
  close(graceMs = 5000): Promise<void> {
    if (!this.closed) {
      this.stopping = true;
      this.closed = this.shutdown(graceMs);
    }
    return this.closed;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopPulling.abort();
    this.currentFetch?.stop();
    for (const w of [...this.slotWaiters]) w();
    const started = this.inflight.size;
    const settled = (): Promise<unknown> => Promise.allSettled([...this.inflight.values()]);
    if (this.inflight.size > 0) await Promise.race([settled(), sleep(graceMs, undefined, { ref: false })]);
    if (this.inflight.size > 0) {
      this.abort.abort(new Error('Herald is shutting down'));
      await Promise.race([settled(), sleep(1000, undefined, { ref: false })]);
      // A handler that ignores the abort must not keep the delivery: give it back all the same.
      for (const m of this.inflight.keys()) {
        this.handedBack.add(m);
        quietly(() => m.nak());
        this.handedBackCount++;
      }
    }
    await Promise.race([this.loop, sleep(1000, undefined, { ref: false })]);
    if (this.keepAlive) clearInterval(this.keepAlive);
    const nc = this.link.connection();
    if (nc && !nc.isClosed()) await Promise.race([nc.flush().catch(() => undefined), sleep(2000, undefined, { ref: false })]);
    activeOutboxes.delete(this);
    this.log.info({ inFlightAtShutdown: started, handedBack: this.handedBackCount }, 'JetStream outbox closed');
  }

  /** Gauge values, cached for a second so that one scrape asks the server once. */
  gaugeValues(): Promise<OutboxGaugeValues> {
    const now = Date.now();
    if (this.stats && now - this.stats.at < 1000) return this.stats.value;
    const value = this.readGauges();
    this.stats = { at: now, value };
    return value;
  }

  private async readGauges(): Promise<OutboxGaugeValues> {
    const h = this.link.current();
    if (!h) throw new JetStreamUnavailableError(this.link.lastError);
    const [outbox, dead] = await Promise.all([h.jsm.streams.info(this.names.outboxStream), h.jsm.streams.info(this.names.deadStream)]);
    const first = outbox.state.messages > 0 ? Date.parse(outbox.state.first_ts) : NaN;
    return {
      pending: outbox.state.messages,
      oldestPendingAgeSeconds: Number.isFinite(first) ? Math.max(0, (Date.now() - first) / 1000) : 0,
      deadLetters: dead.state.messages,
    };
  }
}

export interface OutboxGaugeValues {
  pending: number;
  oldestPendingAgeSeconds: number;
  deadLetters: number;
}

const activeOutboxes = new Set<JetStreamOutbox>();

/** The newest outbox's figures (one per process outside tests); the last good values while NATS does not answer. */
let lastGauges: OutboxGaugeValues = { pending: 0, oldestPendingAgeSeconds: 0, deadLetters: 0 };
async function currentGauges(): Promise<OutboxGaugeValues> {
  const outbox = [...activeOutboxes].pop();
  if (!outbox) return lastGauges;
  try {
    lastGauges = await Promise.race([
      outbox.gaugeValues(),
      sleep(2000, undefined, { ref: false }).then(() => Promise.reject(new Error('timeout'))),
    ]);
  } catch {
    // keep the last known values
  }
  return lastGauges;
}

function gauge(name: string, help: string, read: (v: OutboxGaugeValues) => number): void {
  if (client.register.getSingleMetric(name)) return;
  new client.Gauge({
    name,
    help,
    async collect() {
      this.set(read(await currentGauges()));
    },
  });
}

gauge('herald_outbox_pending', 'Deliveries stored in the JetStream outbox and not yet done: waiting, being sent or waiting to retry (all replicas).', (v) => v.pending);
gauge('herald_outbox_oldest_pending_age_seconds', 'Age of the oldest delivery in the JetStream outbox.', (v) => v.oldestPendingAgeSeconds);
gauge('herald_outbox_dead_letters', 'Deliveries in the dead-letter stream, waiting for `herald outbox replay-dead`.', (v) => v.deadLetters);
if (!client.register.getSingleMetric('herald_outbox_in_flight')) {
  new client.Gauge({
    name: 'herald_outbox_in_flight',
    help: 'Deliveries this replica is sending right now.',
    collect() {
      let n = 0;
      for (const o of activeOutboxes) n += o.inFlight;
      this.set(n);
    },
  });
}

export interface JetStreamBackendsOptions {
  natsUrl: string;
  rateLimitIntervalMs: number;
  maxDeliveryAgeMs: number;
  log: Logger;
  /** Deliveries in flight at once on this replica (default 32). */
  concurrency?: number;
  /** NATS credentials and TLS flags; the whole Config may be passed. */
  config?: Partial<NatsConnectionSettings>;
  ackWaitMs?: number;
  publishTimeoutMs?: number;
  names?: Partial<JetStreamNames>;
  /** Stream and bucket replicas when Herald creates them (default 1). */
  replicas?: number;
}

export interface JetStreamBackends {
  outbox: JetStreamOutbox;
  dedup: JetStreamDedupStore;
  link: NatsLink;
  /** Closes the outbox (if the caller has not), then flushes and closes the NATS connection. */
  close(graceMs?: number): Promise<void>;
}

/**
 * The outbox and the dedup store on one NATS connection. Resolves at once, also while NATS is down: the link
 * connects in the background, and until it is ready enqueue() rejects (503) and the dedup store lets events through.
 * Throws NatsSettingsError for flags that cannot work (unreadable creds file, user without password).
 */
export async function createJetStreamBackends(opts: JetStreamBackendsOptions): Promise<JetStreamBackends> {
  const connectOptions = natsConnectOptions({ ...opts.config, natsUrl: opts.natsUrl });
  const link = new NatsLink(connectOptions, { log: opts.log, ...(opts.publishTimeoutMs ? { requestTimeoutMs: opts.publishTimeoutMs } : {}) });
  const outbox = new JetStreamOutbox({
    link,
    log: opts.log,
    maxDeliveryAgeMs: opts.maxDeliveryAgeMs,
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    ...(opts.ackWaitMs !== undefined ? { ackWaitMs: opts.ackWaitMs } : {}),
    ...(opts.names ? { names: opts.names } : {}),
    ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}),
  });
  const dedup = new JetStreamDedupStore({
    link,
    intervalMs: opts.rateLimitIntervalMs,
    log: opts.log,
    ...(opts.names?.dedupBucket ? { bucket: opts.names.dedupBucket } : {}),
    ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}),
  });
  link.start();
  return {
    outbox,
    dedup,
    link,
    async close(graceMs?: number) {
      await outbox.close(graceMs);
      await dedup.close();
      await link.close();
    },
  };
}
