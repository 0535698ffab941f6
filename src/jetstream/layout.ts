// Names, subjects and record shapes of Herald's JetStream objects, shared by the outbox, the dedup store and the operator tools.
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { Delivery } from '../delivery/outbox.js';

export interface JetStreamNames {
  /** Work-queue stream holding deliveries until a worker acks them. */
  outboxStream: string;
  /** Dead letters: deliveries that failed for good, with their last error. */
  deadStream: string;
  /** The durable pull consumer every replica's workers share. */
  consumer: string;
  /** Subjects are `<prefix>.outbox.<namespace>.<provider>` and `<prefix>.dead.<namespace>.<provider>`. */
  subjectPrefix: string;
  /** Key-value bucket of rate-limit windows. */
  dedupBucket: string;
}

export const DEFAULT_JETSTREAM_NAMES: JetStreamNames = {
  outboxStream: 'HERALD_OUTBOX',
  deadStream: 'HERALD_DEAD',
  consumer: 'herald-workers',
  subjectPrefix: 'herald',
  dedupBucket: 'herald-dedup',
};

export function jetStreamNames(overrides: Partial<JetStreamNames> = {}): JetStreamNames {
  const names = { ...DEFAULT_JETSTREAM_NAMES, ...overrides };
  for (const [field, value] of Object.entries(names)) {
    const ok = field === 'subjectPrefix' ? /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(value) : /^[A-Za-z0-9_-]+$/.test(value);
    if (!ok) throw new Error(`JetStream names: ${field} ${JSON.stringify(value)} has characters NATS does not allow`);
  }
  return names;
}

/**
 * Kubernetes names may contain dots, which separate subject tokens: every byte outside [A-Za-z0-9_-] becomes %XX,
 * so that one namespace or name is exactly one token and can be decoded back for `herald outbox status`.
 */
export function encodeSubjectToken(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out === '' ? '%00' : out;
}

export function decodeSubjectToken(token: string): string {
  if (token === '%00') return '';
  return decodeURIComponent(token);
}

export interface ProviderRef {
  namespace: string;
  name: string;
}

export function outboxSubject(names: JetStreamNames, p: ProviderRef): string {
  return `${names.subjectPrefix}.outbox.${encodeSubjectToken(p.namespace)}.${encodeSubjectToken(p.name)}`;
}

export function deadSubject(names: JetStreamNames, p: ProviderRef): string {
  return `${names.subjectPrefix}.dead.${encodeSubjectToken(p.namespace)}.${encodeSubjectToken(p.name)}`;
}

export function outboxWildcard(names: JetStreamNames): string {
  return `${names.subjectPrefix}.outbox.>`;
}

export function deadWildcard(names: JetStreamNames): string {
  return `${names.subjectPrefix}.dead.>`;
}

/** `namespace/name` of the provider a subject belongs to, or undefined for a foreign subject. */
export function providerOfSubject(subject: string): string | undefined {
  const tokens = subject.split('.');
  if (tokens.length < 2) return undefined;
  try {
    return `${decodeSubjectToken(tokens[tokens.length - 2]!)}/${decodeSubjectToken(tokens[tokens.length - 1]!)}`;
  } catch {
    return undefined;
  }
}

/** `namespace/name` as given on the command line. */
export function parseProviderRef(text: string): ProviderRef {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text);
  if (!m) throw new Error(`--provider: expected namespace/name, got ${JSON.stringify(text)}`);
  return { namespace: m[1]!, name: m[2]! };
}

/** What the dead-letter stream holds for one delivery. */
export interface DeadLetter {
  delivery: Delivery;
  /** The last error, masked by the worker. */
  error: string;
  /** Epoch ms. */
  failedAt: number;
  attempts: number;
}

export function isDelivery(v: unknown): v is Delivery {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Partial<Delivery>;
  const n = d.notification as Partial<Delivery['notification']> | undefined;
  return typeof d.id === 'string' && typeof d.acceptedAt === 'number' && typeof n === 'object' && n !== null
    && typeof n.provider?.namespace === 'string' && typeof n.provider?.name === 'string' && typeof n.event === 'object';
}

export function isDeadLetter(v: unknown): v is DeadLetter {
  return typeof v === 'object' && v !== null && isDelivery((v as DeadLetter).delivery) && typeof (v as DeadLetter).error === 'string';
}

export function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError
    && (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound);
}

/** Creates the stream when missing; an existing stream is left as the operator configured it (replicas, limits). */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(config);
  }
}
