// Operator tools for the JetStream outbox (`herald outbox status|replay-dead`): queue figures per provider, dead letters back to work.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type MsgRequest, type StoredMsg } from '@nats-io/jetstream';
import {
  deadSubject, deadWildcard, isDeadLetter, isNotFound, jetStreamNames, outboxSubject, outboxWildcard, parseProviderRef, providerOfSubject,
  type JetStreamNames,
} from './layout.js';
import { parseFlags, UsageError } from '../config.js';
import { displayServers, natsConnectOptions, NatsSettingsError, type NatsConnectionSettings } from './link.js';
import type { Delivery } from '../delivery/outbox.js';

export interface OutboxAdminOptions extends NatsConnectionSettings {
  names?: Partial<JetStreamNames>;
  /** Connect and API timeout (default 5 s). */
  timeoutMs?: number;
  /** Use this connection instead of dialling one (tests, embedding). */
  nc?: NatsConnection;
}

export interface ProviderOutboxStatus {
  /** `namespace/name` of the Provider. */
  provider: string;
  /** Stored, not handed to any worker yet. */
  pending: number;
  /** Handed to a worker at least once and not done: being sent now, or waiting for its next retry. */
  inFlight: number;
  deadLetters: number;
}

export interface OutboxStatus {
  servers: string;
  pending: number;
  inFlight: number;
  deadLetters: number;
  /** Age of the oldest delivery not done yet (pending or in flight); 0 when the outbox is empty. */
  oldestPendingAgeSeconds: number;
  /** Pull requests the replicas have open on the shared consumer: roughly, workers with free capacity. */
  waitingPulls: number;
  providers: ProviderOutboxStatus[];
  /** Set when there were too many in-flight deliveries to attribute each to its provider. */
  inFlightByProviderIncomplete?: boolean;
}

export interface ReplayOptions extends OutboxAdminOptions {
  /** Only dead letters of this Provider, `namespace/name`. */
  provider?: string;
  /** At most this many (default: all). */
  limit?: number;
}

export interface ReplayResult {
  replayed: number;
  /** Dead letters that hold no readable delivery (left in place). */
  skipped: number;
  /** Per `namespace/name`. */
  providers: Record<string, number>;
}

/** In-flight deliveries are attributed to providers one message read at a time; beyond this, only totals. */
const MAX_INFLIGHT_SCAN = 50_000;

interface Api {
  jsm: JetStreamManager;
  js: JetStreamClient;
  names: JetStreamNames;
  servers: string;
}

async function withApi<T>(opts: OutboxAdminOptions, fn: (api: Api) => Promise<T>): Promise<T> {
  const names = jetStreamNames(opts.names);
  const timeout = opts.timeoutMs ?? 5000;
  const servers = displayServers(opts.natsUrl);
  let nc = opts.nc;
  const own = !nc;
  if (!nc) {
    try {
      nc = await connect({ ...natsConnectOptions(opts), name: 'herald-outbox-admin', timeout, reconnect: false });
    } catch (err) {
      throw new Error(`cannot connect to NATS at ${servers}: ${(err as Error).message}`);
    }
  }
  try {
    return await fn({ jsm: await jetstreamManager(nc, { timeout }), js: jetstream(nc, { timeout }), names, servers });
  } finally {
    if (own) await nc.drain().catch(() => nc.close());
  }
}

async function streamInfo(jsm: JetStreamManager, stream: string, filter: string) {
  try {
    return await jsm.streams.info(stream, { subjects_filter: filter });
  } catch (err) {
    if (isNotFound(err)) throw new Error(`stream ${stream} not found: has Herald run with --outbox jetstream against this NATS server?`);
    throw err;
  }
}

/** First message at or after `seq` on a subject matching `filter` (STREAM.MSG.GET next_by_subj, nats-server 2.9). */
function nextMessage(jsm: JetStreamManager, stream: string, seq: number, filter: string): Promise<StoredMsg | null> {
  return jsm.streams.getMessage(stream, { seq, next_by_subj: filter } as unknown as MsgRequest);
}

export async function outboxStatus(opts: OutboxAdminOptions): Promise<OutboxStatus> {
  return withApi(opts, async ({ jsm, names, servers }) => {
    const [outbox, dead] = await Promise.all([
      streamInfo(jsm, names.outboxStream, outboxWildcard(names)),
      streamInfo(jsm, names.deadStream, deadWildcard(names)),
    ]);
    const consumer = await jsm.consumers.info(names.outboxStream, names.consumer).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    const rows = new Map<string, ProviderOutboxStatus>();
    const row = (provider: string): ProviderOutboxStatus => {
      let r = rows.get(provider);
      if (!r) rows.set(provider, (r = { provider, pending: 0, inFlight: 0, deadLetters: 0 }));
      return r;
    };
    for (const [subject, n] of Object.entries(outbox.state.subjects ?? {})) row(providerOfSubject(subject) ?? subject).pending += n;
    for (const [subject, n] of Object.entries(dead.state.subjects ?? {})) row(providerOfSubject(subject) ?? subject).deadLetters += n;

    // A work-queue stream only holds deliveries not yet acked; those at or below the consumer's highest delivered
    // sequence have been handed out at least once (the consumer delivers in stream order).
    const deliveredUpTo = consumer?.delivered.stream_seq ?? 0;
    let inFlight = 0;
    let incomplete = false;
    let seq = Math.max(outbox.state.first_seq, (consumer?.ack_floor.stream_seq ?? 0) + 1);
    while (outbox.state.messages > 0 && seq <= deliveredUpTo) {
      if (inFlight >= MAX_INFLIGHT_SCAN) {
        incomplete = true;
        break;
      }
      const m = await nextMessage(jsm, names.outboxStream, seq, outboxWildcard(names));
      if (!m || m.seq > deliveredUpTo) break;
      inFlight++;
      const r = row(providerOfSubject(m.subject) ?? m.subject);
      r.inFlight++;
      r.pending--;
      seq = m.seq + 1;
    }
    if (incomplete && consumer) inFlight = consumer.num_ack_pending;
    const first = outbox.state.messages > 0 ? Date.parse(outbox.state.first_ts) : NaN;
    return {
      servers,
      pending: outbox.state.messages - inFlight,
      inFlight,
      deadLetters: dead.state.messages,
      oldestPendingAgeSeconds: Number.isFinite(first) ? Math.max(0, Math.round((Date.now() - first) / 100) / 10) : 0,
      waitingPulls: consumer?.num_waiting ?? 0,
      providers: [...rows.values()].sort((a, b) => a.provider.localeCompare(b.provider)),
      ...(incomplete ? { inFlightByProviderIncomplete: true } : {}),
    };
  });
}

/**
 * Moves dead letters back into the outbox. Each replayed delivery starts a new life: accepted now, no attempts
 * made, so it gets the full --max-delivery-age again. A dead letter is removed only after its delivery is stored.
 */
export async function replayDead(opts: ReplayOptions): Promise<ReplayResult> {
  const filterRef = opts.provider !== undefined ? parseProviderRef(opts.provider) : undefined;
  return withApi(opts, async ({ jsm, js, names }) => {
    const filter = filterRef ? deadSubject(names, filterRef) : deadWildcard(names);
    const info = await streamInfo(jsm, names.deadStream, filter);
    const result: ReplayResult = { replayed: 0, skipped: 0, providers: {} };
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    // Stop at the last dead letter that existed when the replay began; later ones are for a later replay.
    const last = info.state.last_seq;
    let seq = info.state.first_seq;
    while (seq <= last && result.replayed < limit && info.state.messages > 0) {
      const m = await nextMessage(jsm, names.deadStream, seq, filter);
      if (!m || m.seq > last) break;
      seq = m.seq + 1;
      let letter: unknown;
      try {
        letter = m.json();
      } catch {
        letter = undefined;
      }
      if (!isDeadLetter(letter)) {
        result.skipped++;
        continue;
      }
      const { firstAttemptAt: _first, lastError: _last, ...rest } = letter.delivery;
      const delivery: Delivery = { ...rest, acceptedAt: Date.now(), attempts: 0 };
      // Keyed by the dead letter's sequence: a replay interrupted between store and delete does not store twice.
      await js.publish(outboxSubject(names, delivery.notification.provider), JSON.stringify(delivery), { msgID: `replay-${names.deadStream}-${m.seq}` });
      await jsm.streams.deleteMessage(names.deadStream, m.seq, false);
      result.replayed++;
      const p = `${delivery.notification.provider.namespace}/${delivery.notification.provider.name}`;
      result.providers[p] = (result.providers[p] ?? 0) + 1;
    }
    return result;
  });
}

/** The status as a table for the terminal. */
export function formatOutboxStatus(s: OutboxStatus): string {
  const header = ['PROVIDER', 'PENDING', 'IN FLIGHT', 'DEAD LETTERS'];
  const body = s.providers.map((p) => [p.provider, String(p.pending), String(p.inFlight), String(p.deadLetters)]);
  body.push(['TOTAL', String(s.pending), String(s.inFlight), String(s.deadLetters)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [
    `NATS ${s.servers}: oldest delivery waiting ${s.oldestPendingAgeSeconds}s, ${s.waitingPulls} open pull request(s)`,
    line(header),
    ...body.map(line),
  ];
  if (s.inFlightByProviderIncomplete) lines.push('(too many deliveries in flight to attribute each to its provider: per-provider in-flight figures are partial)');
  return lines.join('\n');
}

const NATS_FLAGS = ['nats-url', 'nats-creds', 'nats-user', 'nats-password', 'nats-token', 'nats-ca', 'nats-cert', 'nats-key'] as const;

const OUTBOX_USAGE = `usage: herald outbox status [--json] --nats-url URL [NATS flags]
       herald outbox replay-dead [--provider NAMESPACE/NAME] [--limit N] --nats-url URL [NATS flags]
NATS flags as for serve: --nats-creds FILE, --nats-user, --nats-password, --nats-token, --nats-ca FILE, --nats-cert FILE, --nats-key FILE
(or env HERALD_NATS_URL, HERALD_NATS_PASSWORD, HERALD_NATS_TOKEN)`;

/** `herald outbox status|replay-dead`: prints to stdout, returns the exit code. */
export async function outboxCommand(args: string[], env: NodeJS.ProcessEnv = process.env, out: (text: string) => void = (t) => process.stdout.write(`${t}\n`)): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'status' && sub !== 'replay-dead') throw new UsageError(OUTBOX_USAGE);
  const allowed = new Set<string>([...NATS_FLAGS, ...(sub === 'status' ? ['json'] : ['provider', 'limit'])]);
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(rest.map((a) => (a === '--json' ? '--json=true' : a)), allowed);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${OUTBOX_USAGE}`);
  }
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positional[0])}\n${OUTBOX_USAGE}`);
  const flag = (name: string): string | undefined => {
    const v = parsed.flags[name];
    return typeof v === 'string' ? v : undefined;
  };
  const natsUrl = flag('nats-url') ?? env.HERALD_NATS_URL;
  if (!natsUrl) throw new UsageError(`--nats-url is required\n${OUTBOX_USAGE}`);
  const settings: OutboxAdminOptions = {
    natsUrl,
    natsCreds: flag('nats-creds'),
    natsUser: flag('nats-user'),
    natsPassword: flag('nats-password') ?? env.HERALD_NATS_PASSWORD,
    natsToken: flag('nats-token') ?? env.HERALD_NATS_TOKEN,
    natsCa: flag('nats-ca'),
    natsCert: flag('nats-cert'),
    natsKey: flag('nats-key'),
  };
  try {
    natsConnectOptions(settings);
  } catch (err) {
    if (err instanceof NatsSettingsError) throw new UsageError(err.message);
    throw err;
  }
  try {
    return await runOutboxCommand(sub, parsed.flags, settings, out);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // Operational failures (NATS down, stream missing) are one line, not a stack trace.
    process.stderr.write(`herald outbox ${sub}: ${(err as Error).message}\n`);
    return 1;
  }
}

async function runOutboxCommand(sub: 'status' | 'replay-dead', flags: Record<string, string | boolean>, settings: OutboxAdminOptions, out: (text: string) => void): Promise<number> {
  const flag = (name: string): string | undefined => {
    const v = flags[name];
    return typeof v === 'string' ? v : undefined;
  };
  if (sub === 'status') {
    const status = await outboxStatus(settings);
    out(flag('json') === 'true' ? JSON.stringify(status, null, 2) : formatOutboxStatus(status));
    return 0;
  }
  const limitText = flag('limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit: expected a positive integer, got ${JSON.stringify(limitText)}`);
  const provider = flag('provider');
  if (provider !== undefined) {
    try {
      parseProviderRef(provider);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const result = await replayDead({ ...settings, ...(provider !== undefined ? { provider } : {}), ...(limit !== undefined ? { limit } : {}) });
  const per = Object.entries(result.providers).map(([p, n]) => `  ${p}: ${n}`);
  out([`replayed ${result.replayed} dead letter(s)${provider ? ` of provider ${provider}` : ''}`, ...per, ...(result.skipped ? [`skipped ${result.skipped} unreadable dead letter(s) (left in ${jetStreamNames(settings.names).deadStream})`] : [])].join('\n'));
  return 0;
}
