// The outbox: where accepted deliveries wait for a worker. In memory by default; NATS JetStream when durable.
import type { Notification } from '../providers/types.js';

/**
 * Deliveries in flight at once per provider (memory outbox) or per replica (JetStream), by default. Each in-flight
 * delivery holds its slot until its answer has been processed, and under load the answer waits behind the events
 * being received: at 16 slots a webhook answering in 0.3 ms still held each slot for 5-20 ms, which capped delivery
 * near 3,200/s and queued the rest (p99 over 40 ms at 1,000 events/s). 64 keeps both off that limit
 * (bench/RESULTS.md) and is still far below Flux, which has no limit at all.
 */
export const DEFAULT_DELIVERY_CONCURRENCY = 64;

/** One notification for one Alert × one event; serialisable so a durable outbox can store it. */
export interface Delivery {
  /** Unique per delivery; a durable outbox also uses it to deduplicate a re-stored delivery. */
  id: string;
  notification: Notification;
  /** Epoch ms when the event server accepted the event. */
  acceptedAt: number;
  /** Attempts already made (a durable outbox carries it across redeliveries). */
  attempts?: number;
  /** Epoch ms of the first attempt; the memory policy bounds all attempts by the provider timeout from here. */
  firstAttemptAt?: number;
  /** Last error, masked, when the delivery was handed back. */
  lastError?: string;
}

export type DeliveryOutcome =
  | { result: 'delivered' }
  /** Retry later: after `delayMs` (a durable outbox naks with that delay; the memory outbox schedules it). */
  | { result: 'retry'; delayMs: number; error: string }
  /** Give up: dead letter in a durable outbox, dropped (and reported) in memory. */
  | { result: 'failed'; error: string }
  /** Nothing to do any more (Alert or Provider deleted, provider suspended). */
  | { result: 'dropped'; reason: string };

export type DeliveryHandler = (delivery: Delivery, signal: AbortSignal) => Promise<DeliveryOutcome>;

export interface Outbox {
  readonly kind: 'memory' | 'jetstream';
  /** Resolves once the delivery is accepted (queued in memory, or stored and acknowledged by JetStream). */
  enqueue(delivery: Delivery): Promise<void>;
  /** Starts handing deliveries to the handler. */
  start(handler: DeliveryHandler): void;
  /** Stops taking new work, lets in-flight deliveries finish (or hands them back) within the grace period. */
  close(graceMs?: number): Promise<void>;
}
