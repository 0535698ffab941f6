// Herald's own NATS connection for the JetStream outbox and dedup store: flags to options, background (re)connect, readiness.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions, type Status } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { UsageError } from '../config.js';
import type { Logger } from '../logger.js';

/** The `--nats-*` flags (names as in Config). Files are read once, at start. */
export interface NatsConnectionSettings {
  /** Comma-separated server URLs (`nats://host:4222,tls://other:4222`). */
  natsUrl: string;
  natsCreds?: string | undefined;
  natsUser?: string | undefined;
  natsPassword?: string | undefined;
  natsToken?: string | undefined;
  natsCa?: string | undefined;
  natsCert?: string | undefined;
  natsKey?: string | undefined;
}

/** A flag combination or file that cannot work; names the flag. A usage error: `herald` prints it and exits 2. */
export class NatsSettingsError extends UsageError {
  override readonly name = 'NatsSettingsError';
}

/** The outbox or dedup store cannot reach JetStream right now; the event server answers 503. */
export class JetStreamUnavailableError extends Error {
  override readonly name = 'JetStreamUnavailableError';
}

/** Server URLs with any user info replaced, for logs and errors. */
export function displayServers(url: string): string {
  return url
    .split(',')
    .map((s) => s.trim().replace(/\/\/[^@/]*@/, '//*****@'))
    .join(',');
}

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new NatsSettingsError(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * Connection options from the flags. Credentials precedence as for the nats provider: creds file,
 * then user+password, then token; URL user info applies when no flag is given.
 */
export function natsConnectOptions(s: NatsConnectionSettings): NodeConnectionOptions {
  const servers = s.natsUrl.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (servers.length === 0) throw new NatsSettingsError('--nats-url: no server URL given');
  for (const u of servers) {
    if (!/^(nats|tls|wss?):\/\/[^\s]+$/.test(u) && !/^[^\s:/]+(:\d+)?$/.test(u)) {
      throw new NatsSettingsError(`--nats-url: ${JSON.stringify(displayServers(u))} is not a NATS URL (expected nats://host:4222)`);
    }
  }
  // Async stack traces cost two Error objects per request, a fifth of the CPU of storing a delivery.
  const opts: NodeConnectionOptions = { servers, name: 'herald-outbox', noAsyncTraces: true };
  if ((s.natsUser === undefined) !== (s.natsPassword === undefined)) {
    throw new NatsSettingsError('--nats-user and --nats-password must be given together');
  }
  if (s.natsCreds) {
    const creds = readFlagFile('nats-creds', s.natsCreds);
    if (!/-----BEGIN NATS USER JWT-----/.test(creds) || !/-----BEGIN USER NKEY SEED-----/.test(creds)) {
      throw new NatsSettingsError(`--nats-creds: ${s.natsCreds} is not a NATS credentials file (needs a user JWT and an nkey seed)`);
    }
    opts.authenticator = credsAuthenticator(new TextEncoder().encode(creds));
  } else if (s.natsUser !== undefined && s.natsPassword !== undefined) {
    opts.user = s.natsUser;
    opts.pass = s.natsPassword;
  } else if (s.natsToken) {
    opts.token = s.natsToken;
  }
  if ((s.natsCert === undefined) !== (s.natsKey === undefined)) {
    throw new NatsSettingsError('--nats-cert and --nats-key must be given together');
  }
  if (s.natsCa || s.natsCert) {
    opts.tls = {
      ...(s.natsCa ? { ca: readFlagFile('nats-ca', s.natsCa) } : {}),
      ...(s.natsCert ? { cert: readFlagFile('nats-cert', s.natsCert), key: readFlagFile('nats-key', s.natsKey!) } : {}),
    };
  }
  return opts;
}

export interface NatsHandles {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** Creates or checks what a component needs on the server (streams, consumers, buckets); runs after every (re)connect. */
export type NatsSetup = (h: NatsHandles) => Promise<void>;

export interface NatsLinkOptions {
  log: Logger;
  /** JetStream API and publish timeout (default 5 s). */
  requestTimeoutMs?: number;
  /** Longest wait between connection attempts while NATS is down (default 5 s). */
  maxRetryDelayMs?: number;
}

/**
 * One connection shared by the outbox and the dedup store. Herald starts even when NATS is down: the link keeps
 * dialling in the background and reports `ready` only when connected and every setup has succeeded, so that the
 * event server can answer 503 instead of refusing connections.
 */
export class NatsLink {
  private handles: NatsHandles | undefined;
  private connected = false;
  private setupDone = false;
  private readonly setups: NatsSetup[] = [];
  private readonly waiters = new Set<() => void>();
  private closing = false;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private generation = 0;
  /** Why the link is not ready, for 503 bodies and status; never contains credentials. */
  lastError = 'not connected to NATS yet';
  readonly servers: string;
  readonly requestTimeoutMs: number;

  constructor(private readonly options: NodeConnectionOptions, private readonly opts: NatsLinkOptions) {
    this.servers = displayServers(([] as string[]).concat(options.servers ?? []).join(','));
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
  }

  get ready(): boolean {
    return this.connected && this.setupDone && !this.closing;
  }

  /** The live handles when ready, else undefined. */
  current(): NatsHandles | undefined {
    return this.ready ? this.handles : undefined;
  }

  /** The connection even while setups run or it reconnects (acks and naks are buffered by the client). */
  connection(): NatsConnection | undefined {
    return this.handles?.nc;
  }

  addSetup(setup: NatsSetup): void {
    this.setups.push(setup);
    if (this.handles && this.connected) void this.runSetups(this.handles, this.generation);
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Resolves with the handles once ready; rejects when the link closes or the signal fires. */
  async whenReady(signal?: AbortSignal): Promise<NatsHandles> {
    for (;;) {
      if (this.closing) throw new JetStreamUnavailableError('NATS link closed');
      signal?.throwIfAborted();
      const h = this.current();
      if (h) return h;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  private batch: Array<() => void> = [];

  /**
   * Starts `op` together with every other op asked for in this turn of the event loop. The client writes to the
   * socket once per microtask checkpoint; started in one synchronous run, many publishes, acks and requests leave in
   * one write instead of one each, which halves the CPU the outbox spends per delivery under load.
   */
  coalesce<T>(op: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.batch.push(() => {
        try {
          Promise.resolve(op()).then(resolve, reject);
        } catch (err) {
          reject(err);
        }
      });
      if (this.batch.length === 1) {
        setImmediate(() => {
          const ops = this.batch;
          this.batch = [];
          for (const run of ops) run();
        });
      }
    });
  }

  /** Waits, but not past close(). */
  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private async run(): Promise<void> {
    const log = this.opts.log;
    let delay = 250;
    let attempts = 0;
    while (!this.closing) {
      let nc: NatsConnection;
      try {
        nc = await connect({ ...this.options, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 1000, waitOnFirstConnect: false, timeout: 5000 });
      } catch (err) {
        attempts++;
        this.lastError = `cannot connect to NATS at ${this.servers}: ${(err as Error).message}`;
        // Loud once, then quieter: a NATS outage must not flood the log.
        if (attempts === 1 || attempts % 20 === 0) log.error({ servers: this.servers, attempts, error: (err as Error).message }, 'cannot connect to NATS, retrying');
        await this.pause(delay);
        delay = Math.min(delay * 2, this.opts.maxRetryDelayMs ?? 5000);
        continue;
      }
      if (this.closing) {
        await nc.close().catch(() => undefined);
        break;
      }
      if (attempts > 0) log.info({ servers: this.servers }, 'connected to NATS');
      attempts = 0;
      delay = 250;
      const gen = ++this.generation;
      const handles: NatsHandles = {
        nc,
        js: jetstream(nc, { timeout: this.requestTimeoutMs }),
        jsm: await jetstreamManager(nc, { timeout: this.requestTimeoutMs, checkAPI: false }),
      };
      this.handles = handles;
      this.connected = true;
      void this.watch(nc, handles, gen);
      void this.runSetups(handles, gen);
      await nc.closed();
      this.connected = false;
      this.setupDone = false;
      this.wake();
      if (!this.closing) {
        this.lastError = 'the NATS connection closed';
        log.warn({ servers: this.servers }, 'NATS connection closed, connecting again');
        await this.pause(delay);
      }
    }
  }

  private async watch(nc: NatsConnection, handles: NatsHandles, gen: number): Promise<void> {
    const log = this.opts.log;
    for await (const s of nc.status() as AsyncIterable<Status>) {
      if (gen !== this.generation) return;
      if (s.type === 'disconnect') {
        this.connected = false;
        this.lastError = `disconnected from NATS at ${this.servers}`;
        log.warn({ servers: this.servers }, 'NATS connection lost, reconnecting');
      } else if (s.type === 'reconnect') {
        this.connected = true;
        log.info({ servers: this.servers }, 'NATS connection re-established');
        // The server may have come back without its store (no persistent volume): check streams and buckets again.
        void this.runSetups(handles, gen);
      }
    }
  }

  private setupRun: Promise<void> | undefined;

  private runSetups(handles: NatsHandles, gen: number): Promise<void> {
    this.setupDone = false;
    const previous = this.setupRun ?? Promise.resolve();
    const next = previous.then(async () => {
      let failures = 0;
      while (!this.closing && gen === this.generation && !handles.nc.isClosed()) {
        if (!this.connected) {
          await this.pause(100);
          continue;
        }
        try {
          for (const setup of this.setups) await setup(handles);
          if (gen !== this.generation) return;
          this.setupDone = true;
          this.opts.log.info({ servers: this.servers }, 'NATS JetStream ready');
          this.wake();
          return;
        } catch (err) {
          failures++;
          this.lastError = `JetStream setup on ${this.servers} failed: ${(err as Error).message}`;
          if (failures === 1 || failures % 20 === 0) this.opts.log.error({ servers: this.servers, error: (err as Error).message }, 'JetStream setup failed, retrying');
          await this.pause(Math.min(250 * 2 ** failures, 5000));
        }
      }
    });
    this.setupRun = next.catch(() => undefined);
    return this.setupRun;
  }

  /** Flushes what the client buffered (acks, naks), then closes. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stopping.abort();
    this.wake();
    const nc = this.handles?.nc;
    if (nc && !nc.isClosed()) {
      const drained = nc.drain().catch(() => nc.close());
      const timer = sleep(timeoutMs, undefined, { ref: false }).then(() => nc.close());
      await Promise.race([drained, timer]).catch(() => undefined);
    }
    await this.running?.catch(() => undefined);
  }
}
