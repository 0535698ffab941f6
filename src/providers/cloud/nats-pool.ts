// Shared NATS connections for the nats provider: one per (servers, credentials, TLS), reused across notifications.
import { connect, errors, type ConnectionOptions, type NatsConnection, type Status } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import type { Logger } from '../../logger.js';

const DRAIN_TIMEOUT_MS = 5000;

/** What a pooled connection is made from. `options` is a function so that credentials never sit in an enumerable field. */
export interface NatsConnectionSpec {
  /** HMAC-SHA256 (per-process key) of servers, credentials and TLS material: the pool key. */
  readonly key: string;
  /** Server URLs without user info, for messages. */
  readonly display: string;
  readonly options: () => ConnectionOptions;
}

/** The pool's view of one user of a connection (a parsed Provider config); `closed` once the Provider let it go. */
export interface NatsConnectionOwner {
  readonly id: string;
  closed: boolean;
}

/** Why a send stopped waiting: the abort signal fired while the connection was in this phase. */
export class NatsAbortedError extends Error {
  override readonly name = 'NatsAbortedError';
  constructor(readonly phase: 'connecting' | 'reconnecting' | 'flushing' | 'acknowledging', reason: unknown) {
    super(`aborted while ${phase}`, { cause: reason });
  }
}

/** The server rejected a publish on this connection with a permissions violation. */
export class NatsPublishViolation extends Error {
  override readonly name = 'NatsPublishViolation';
}

/** The payload is larger than the server's max_payload; the client refused to send it. */
export class NatsMaxPayloadError extends Error {
  override readonly name = 'NatsMaxPayloadError';
}

function checkPayloadSize(nc: NatsConnection, payload: Uint8Array): void {
  const max = nc.info?.max_payload;
  if (max !== undefined && payload.length > max) {
    throw new NatsMaxPayloadError(`payload of ${payload.length} bytes exceeds the server's max_payload of ${max} bytes`);
  }
}

type ViolationListener = (err: Error) => void;

interface PendingPublish {
  subject: string;
  payload: Uint8Array;
  signal: AbortSignal;
  resolve: () => void;
  reject: (err: Error) => void;
  done: boolean;
}

function settle(item: PendingPublish, err?: Error): void {
  if (item.done) return;
  item.done = true;
  if (err) item.reject(err);
  else item.resolve();
}

/** How often publishes waiting for their PONG are checked against their deadline. */
const DEADLINE_SWEEP_MS = 25;
/** Publishes confirmed by one PING. */
const BATCH_CHUNK = 64;

function abortable<T>(p: Promise<T>, signal: AbortSignal, phase: NatsAbortedError['phase']): Promise<T> {
  if (signal.aborted) return Promise.reject(new NatsAbortedError(phase, signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new NatsAbortedError(phase, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/** One live (or connecting) connection with its users. */
export class PooledNatsConnection {
  readonly ready: Promise<NatsConnection>;
  readonly owners = new Set<string>();
  inflight = 0;
  private nc: NatsConnection | undefined;
  private connected = false;
  private gone = false;
  private js: JetStreamClient | undefined;
  private reconnectWaiters = new Set<() => void>();
  private violationListeners = new Map<string, Set<ViolationListener>>();
  private batch: PendingPublish[] = [];
  private batchScheduled = false;
  /** Published batches waiting for their PONG. */
  private unconfirmed = new Set<PendingPublish[]>();
  private sweeper: NodeJS.Timeout | undefined;
  private draining = false;
  private closeError: Error | undefined;

  constructor(readonly spec: NatsConnectionSpec, private readonly log: Logger, private readonly onGone: (c: PooledNatsConnection) => void) {
    this.ready = connect(spec.options()).then((nc) => {
      this.nc = nc;
      this.connected = true;
      void this.watchStatus(nc);
      void nc.closed().then((err) => {
        // Set when the client gave up, e.g. on repeated authorization errors after a reconnect.
        if (err) this.closeError = err;
        this.markGone();
      });
      return nc;
    });
    this.ready.catch(() => this.markGone());
  }

  get isGone(): boolean {
    return this.gone;
  }

  private markGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.connected = false;
    for (const wake of this.reconnectWaiters) wake();
    for (const batch of this.unconfirmed) for (const item of batch) settle(item, this.closeError ?? new errors.ClosedConnectionError());
    this.unconfirmed.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.onGone(this);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status() as AsyncIterable<Status>) {
      switch (s.type) {
        case 'disconnect':
          this.connected = false;
          // A drain would wait for a reconnect that nobody needs any more.
          if (this.draining) {
            void nc.close().catch(() => {});
            break;
          }
          this.log.warn({ servers: this.spec.display }, 'NATS connection lost, reconnecting');
          break;
        case 'reconnect':
          this.connected = true;
          this.log.info({ servers: this.spec.display }, 'NATS connection re-established');
          for (const wake of this.reconnectWaiters) wake();
          this.reconnectWaiters.clear();
          break;
        case 'error': {
          const err = s.error;
          // Publish violations are asynchronous -ERRs; route them to the sends waiting on that subject.
          if (err.name === 'PermissionViolationError' && (err as { operation?: string }).operation === 'publish') {
            const subject = (err as { subject?: string }).subject ?? '';
            for (const l of this.violationListeners.get(subject) ?? []) l(err);
            for (const batch of this.unconfirmed) {
              for (const item of batch) if (item.subject === subject) settle(item, new NatsPublishViolation(err.message, { cause: err }));
            }
          }
          break;
        }
        default:
          break;
      }
    }
  }

  /** Resolves when the connection is up; while the client reconnects, waits (bounded by the signal) rather than buffer. */
  private async whenConnected(signal: AbortSignal): Promise<NatsConnection> {
    const nc = await abortable(this.ready, signal, 'connecting');
    // Publishing while disconnected would put the message in a buffer the client discards on its next dial attempt.
    while (!this.connected && !this.gone) {
      let wake: () => void = () => {};
      const woken = new Promise<void>((resolve) => { wake = resolve; });
      this.reconnectWaiters.add(wake);
      try {
        await abortable(woken, signal, 'reconnecting');
      } finally {
        this.reconnectWaiters.delete(wake);
      }
    }
    // The client gave up (auth failures) or the pool closed it; the next send opens a new connection.
    if (this.gone) throw this.closeError ?? new errors.ClosedConnectionError();
    return nc;
  }

  private watch(subject: string, listener: ViolationListener): void {
    let set = this.violationListeners.get(subject);
    if (!set) this.violationListeners.set(subject, (set = new Set()));
    set.add(listener);
  }

  private unwatch(subject: string, listener: ViolationListener): void {
    const set = this.violationListeners.get(subject);
    if (!set) return;
    set.delete(listener);
    if (set.size === 0) this.violationListeners.delete(subject);
  }

  /**
   * Publishes everything queued in this event-loop turn in one burst (one socket write) followed by one PING.
   * The PONG confirms the batch; any -ERR for a batch subject arrives before it and has been routed by then.
   */
  private sendBatch(nc: NatsConnection): void {
    this.batchScheduled = false;
    const batch = this.batch;
    this.batch = [];
    let sent: PendingPublish[] = [];
    for (const item of batch) {
      // A send that already gave up must not leave a message behind for its retry to duplicate.
      if (item.signal.aborted) {
        settle(item, new NatsAbortedError('flushing', item.signal.reason));
        continue;
      }
      try {
        nc.publish(item.subject, item.payload);
        sent.push(item);
      } catch (err) {
        settle(item, err as Error);
      }
      // A PING per chunk: the first sends are confirmed (and their callers move on) while the server works on the rest.
      if (sent.length === BATCH_CHUNK) {
        this.confirm(nc, sent);
        sent = [];
      }
    }
    if (sent.length > 0) this.confirm(nc, sent);
  }

  /** Flushes and settles `sent` on the PONG. */
  private confirm(nc: NatsConnection, sent: PendingPublish[]): void {
    this.unconfirmed.add(sent);
    this.sweeper ??= setInterval(() => this.sweepDeadlines(), DEADLINE_SWEEP_MS).unref();
    const done = (err?: Error): void => {
      this.unconfirmed.delete(sent);
      if (this.unconfirmed.size === 0 && this.sweeper) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
      for (const item of sent) settle(item, err);
    };
    nc.flush().then(
      // One more turn lets the status loop deliver a -ERR that came in the same read as the PONG.
      () => setImmediate(done),
      (err: unknown) => done(err as Error),
    );
  }

  /** Per-send abort listeners cost more than the publish itself; deadlines are checked in bulk instead. */
  private sweepDeadlines(): void {
    for (const batch of this.unconfirmed) {
      for (const item of batch) if (item.signal.aborted) settle(item, new NatsAbortedError('flushing', item.signal.reason));
    }
  }

  /** Core publish, confirmed by a flush round trip and checked for an asynchronous permission error. */
  publish(subject: string, payload: Uint8Array, signal: AbortSignal): Promise<void> {
    const nc = this.nc;
    if (nc && this.connected) return this.enqueue(nc, subject, payload, signal);
    return this.whenConnected(signal).then((ready) => this.enqueue(ready, subject, payload, signal));
  }

  private enqueue(nc: NatsConnection, subject: string, payload: Uint8Array, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new NatsAbortedError('flushing', signal.reason));
    checkPayloadSize(nc, payload);
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ subject, payload, signal, resolve, reject, done: false });
      if (!this.batchScheduled) {
        this.batchScheduled = true;
        setImmediate(() => this.sendBatch(nc));
      }
    });
  }

  /** JetStream publish: resolves with the stream's acknowledgement. */
  async publishJetStream(subject: string, payload: Uint8Array, msgID: string, timeoutMs: number, signal: AbortSignal): Promise<PubAck> {
    const nc = this.nc && this.connected ? this.nc : await this.whenConnected(signal);
    this.js ??= jetstream(nc, { timeout: timeoutMs });
    // The Nats-Msg-Id header counts against max_payload too; the client checks the total.
    checkPayloadSize(nc, payload);
    let onViolation: ViolationListener = () => {};
    const violated = new Promise<never>((_, reject) => {
      onViolation = (err) => reject(new NatsPublishViolation(err.message, { cause: err }));
    });
    violated.catch(() => {});
    this.watch(subject, onViolation);
    try {
      return await abortable(Promise.race([this.js.publish(subject, payload, { msgID, timeout: timeoutMs }), violated]), signal, 'acknowledging');
    } finally {
      this.unwatch(subject, onViolation);
    }
  }

  /** Drains (flushes what is buffered, then closes). Safe to call more than once. */
  async drain(): Promise<void> {
    const nc = this.nc;
    if (!nc) {
      // Still connecting: nothing was published on it yet, so close it whenever the connect settles.
      this.ready.then((late) => late.close(), () => {}).catch(() => {});
      return;
    }
    if (nc.isClosed()) return;
    if (!this.connected) {
      // Nothing can be flushed to a server that is gone; a drain would wait for a reconnect.
      await nc.close().catch(() => {});
      return;
    }
    this.draining = true;
    try {
      // A server that stops answering must not hold up shutdown.
      const stalled = setTimeout(() => void nc.close().catch(() => {}), DRAIN_TIMEOUT_MS);
      try {
        // drain() does not settle when the connection is closed under it, closed() always does.
        const drained = nc.isDraining() ? Promise.resolve() : nc.drain();
        drained.catch(() => {});
        await Promise.race([drained, nc.closed()]);
      } finally {
        clearTimeout(stalled);
      }
    } catch {
      // A connection that cannot drain (server gone) is closed instead.
      await nc.close().catch(() => {});
    }
  }
}

/** The NATS connections of one Herald instance (a runtime shared resource). Entries go away when their last owner closes and no send is in flight. */
export class NatsConnectionPool {
  private readonly entries = new Map<string, PooledNatsConnection>();

  get size(): number {
    return this.entries.size;
  }

  /** The pooled connection for `spec` (connecting in the background if new); pair with `done`. */
  acquire(spec: NatsConnectionSpec, owner: NatsConnectionOwner, log: Logger): PooledNatsConnection {
    let entry = this.entries.get(spec.key);
    if (!entry || entry.isGone) {
      entry = new PooledNatsConnection(spec, log, (gone) => {
        if (this.entries.get(gone.spec.key) === gone) this.entries.delete(gone.spec.key);
      });
      this.entries.set(spec.key, entry);
    }
    // A config the Provider already let go of may finish its send but must not keep the connection alive.
    if (!owner.closed) entry.owners.add(owner.id);
    entry.inflight++;
    return entry;
  }

  /** One send on `entry` finished. */
  done(entry: PooledNatsConnection): void {
    entry.inflight--;
    if (entry.owners.size === 0 && entry.inflight === 0) void this.maybeRelease(entry);
  }

  /** The owner is done with the connection for `key`; drains it when nobody else uses it. */
  async release(key: string, owner: NatsConnectionOwner): Promise<void> {
    owner.closed = true;
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.owners.delete(owner.id);
    await this.maybeRelease(entry);
  }

  private async maybeRelease(entry: PooledNatsConnection): Promise<void> {
    if (entry.owners.size > 0 || entry.inflight > 0) return;
    if (this.entries.get(entry.spec.key) === entry) this.entries.delete(entry.spec.key);
    await entry.drain();
  }

  /** Drains every connection (shutdown). */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.drain()));
  }
}
