// Shared NATS connections for the nats provider: one per (servers, credentials, TLS), reused across notifications.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { connect, type ConnectionOptions, type NatsConnection, type Status } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import type { Logger } from '../logger.js';

const DRAIN_TIMEOUT_MS = 5000;

/** What a pooled connection is made from. `options` is a function so that credentials never sit in an enumerable field. */
export interface NatsConnectionSpec {
  /** sha256 of servers, credentials and TLS material: the pool key, safe to log. */
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
  private pendingFlush: Promise<void> | undefined;
  private draining = false;

  constructor(readonly spec: NatsConnectionSpec, private readonly log: Logger, private readonly onGone: (c: PooledNatsConnection) => void) {
    this.ready = connect(spec.options()).then((nc) => {
      this.nc = nc;
      this.connected = true;
      void this.watchStatus(nc);
      void nc.closed().then(() => this.markGone());
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
          this.log.warn({ servers: this.spec.display, pool: this.spec.key.slice(0, 12) }, 'NATS connection lost, reconnecting');
          break;
        case 'reconnect':
          this.connected = true;
          this.log.info({ servers: this.spec.display, pool: this.spec.key.slice(0, 12) }, 'NATS connection re-established');
          for (const wake of this.reconnectWaiters) wake();
          this.reconnectWaiters.clear();
          break;
        case 'error': {
          const err = s.error;
          // Publish violations are asynchronous -ERRs; route them to the sends waiting on that subject.
          if (err.name === 'PermissionViolationError' && (err as { operation?: string }).operation === 'publish') {
            const subject = (err as { subject?: string }).subject ?? '';
            for (const l of this.violationListeners.get(subject) ?? []) l(err);
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
      await abortable(new Promise<void>((resolve) => this.reconnectWaiters.add(resolve)), signal, 'reconnecting');
    }
    return nc;
  }

  /** One PING for all publishes made in the same event-loop turn. */
  private flushSoon(nc: NatsConnection): Promise<void> {
    if (!this.pendingFlush) {
      this.pendingFlush = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          this.pendingFlush = undefined;
          nc.flush().then(resolve, reject);
        });
      });
    }
    return this.pendingFlush;
  }

  private watchViolations(subject: string): { promise: Promise<never>; error: () => Error | undefined; dispose: () => void } {
    let seen: Error | undefined;
    let fail: ViolationListener = () => {};
    const promise = new Promise<never>((_, reject) => {
      fail = (err) => {
        seen = err;
        reject(new NatsPublishViolation(err.message, { cause: err }));
      };
    });
    promise.catch(() => {});
    let set = this.violationListeners.get(subject);
    if (!set) this.violationListeners.set(subject, (set = new Set()));
    set.add(fail);
    return {
      promise,
      error: () => seen,
      dispose: () => {
        set.delete(fail);
        if (set.size === 0) this.violationListeners.delete(subject);
      },
    };
  }

  /** Core publish, confirmed by a flush round trip and checked for an asynchronous permission error. */
  async publish(subject: string, payload: Uint8Array, signal: AbortSignal): Promise<void> {
    const nc = await this.whenConnected(signal);
    checkPayloadSize(nc, payload);
    const violation = this.watchViolations(subject);
    try {
      nc.publish(subject, payload);
      const confirmed = this.flushSoon(nc).then(() => nextTurn());
      await abortable(Promise.race([confirmed, violation.promise]), signal, 'flushing');
      const err = violation.error();
      if (err) throw new NatsPublishViolation(err.message, { cause: err });
    } finally {
      violation.dispose();
    }
  }

  /** JetStream publish: resolves with the stream's acknowledgement. */
  async publishJetStream(subject: string, payload: Uint8Array, msgID: string, timeoutMs: number, signal: AbortSignal): Promise<PubAck> {
    const nc = await this.whenConnected(signal);
    this.js ??= jetstream(nc, { timeout: timeoutMs });
    // The Nats-Msg-Id header counts against max_payload too; the client checks the total.
    checkPayloadSize(nc, payload);
    const violation = this.watchViolations(subject);
    try {
      return await abortable(Promise.race([this.js.publish(subject, payload, { msgID, timeout: timeoutMs }), violation.promise]), signal, 'acknowledging');
    } finally {
      violation.dispose();
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
        if (!nc.isDraining()) await nc.drain();
        else await nc.closed();
      } finally {
        clearTimeout(stalled);
      }
    } catch {
      // A connection that cannot drain (server gone) is closed instead.
      await nc.close().catch(() => {});
    }
  }
}

/** The process-wide pool. Entries go away when their last owner closes and no send is in flight. */
export class NatsConnectionPool {
  private readonly entries = new Map<string, PooledNatsConnection>();

  get size(): number {
    return this.entries.size;
  }

  /** Runs `fn` on the pooled connection for `spec`, connecting first if needed. */
  async use<T>(spec: NatsConnectionSpec, owner: NatsConnectionOwner, log: Logger, fn: (c: PooledNatsConnection) => Promise<T>): Promise<T> {
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
    try {
      return await fn(entry);
    } finally {
      entry.inflight--;
      void this.maybeRelease(entry);
    }
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
  async drainAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.drain()));
  }
}
