// Prometheus metrics: Flux's gotk_event_http_* series plus Herald's delivery counters, in prom-client's default registry.
import client from 'prom-client';

export const registry = client.register;

export const httpRequestDuration = new client.Histogram({
  name: 'gotk_event_http_request_duration_seconds',
  help: 'The latency of the HTTP requests.',
  labelNames: ['service', 'handler', 'method', 'code'] as const,
});

export const httpResponseSize = new client.Histogram({
  name: 'gotk_event_http_response_size_bytes',
  help: 'The size of the HTTP responses.',
  labelNames: ['service', 'handler', 'method', 'code'] as const,
  buckets: [100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000],
});

/** Requests in flight per handler label, counted by each event server in plain numbers and read when scraped. */
const inflightSources = new Set<Map<string, number>>();

/** An event server's counts; the returned function stops reporting them (the server closed). */
export function reportInflight(counts: Map<string, number>): () => void {
  inflightSources.add(counts);
  return () => inflightSources.delete(counts);
}

export const httpRequestsInflight = new client.Gauge({
  name: 'gotk_event_http_requests_inflight',
  help: 'The number of inflight requests being handled at the same time.',
  labelNames: ['service', 'handler'] as const,
  collect() {
    const sums = new Map<string, number>();
    for (const counts of inflightSources) for (const [handler, n] of counts) sums.set(handler, (sums.get(handler) ?? 0) + n);
    this.reset();
    for (const [handler, n] of sums) this.set({ service: '', handler }, n);
  },
});

export const notificationsTotal = new client.Counter({
  name: 'herald_notifications_total',
  help: 'Notifications by provider type and final result (delivered, failed, dropped).',
  labelNames: ['type', 'result'] as const,
});

export const notificationDuration = new client.Histogram({
  name: 'herald_notification_duration_seconds',
  help: 'Time from acceptance of the event to the final outcome of the notification, by provider type.',
  labelNames: ['type'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
});

export const deliveryLatency = new client.Histogram({
  name: 'herald_delivery_latency_seconds',
  help: 'End-to-end latency of delivered notifications: from acceptance of the event to the provider\'s answer, by provider type.',
  labelNames: ['type'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
});

export const deliveryRetriesTotal = new client.Counter({
  name: 'herald_delivery_retries_total',
  help: 'Attempts that failed with a retryable error and were scheduled again, by provider type.',
  labelNames: ['type'] as const,
});

export const deliveryFailuresTotal = new client.Counter({
  name: 'herald_delivery_failures_total',
  help: 'Failed delivery attempts (retried or final), by provider type and reason (auth, client, server, rate-limited, timeout, transport, invalid, config).',
  labelNames: ['type', 'reason'] as const,
});

export const eventsTotal = new client.Counter({
  name: 'herald_events_total',
  help: 'Events received, by outcome (accepted, duplicate, invalid, unavailable).',
  labelNames: ['outcome'] as const,
});

/** What the memory outboxes hold, read when the metrics are scraped (not set twice per delivery on the hot path). */
const memoryOutboxes = new Set<() => { count: number; bytes: number }>();

/** A memory outbox reports what it holds; the returned function stops it (the outbox closed). */
export function reportMemoryOutbox(held: () => { count: number; bytes: number }): () => void {
  memoryOutboxes.add(held);
  return () => memoryOutboxes.delete(held);
}

const heldBy = (pick: (h: { count: number; bytes: number }) => number): number => {
  let sum = 0;
  for (const held of memoryOutboxes) sum += pick(held());
  return sum;
};

export const outboxPendingDeliveries = new client.Gauge({
  name: 'herald_outbox_pending_deliveries',
  help: 'Deliveries held by the memory outbox (waiting, in flight or waiting for a retry).',
  collect() {
    this.set(heldBy((h) => h.count));
  },
});

export const outboxPendingBytes = new client.Gauge({
  name: 'herald_outbox_pending_bytes',
  help: 'Encoded size of the deliveries held by the memory outbox.',
  collect() {
    this.set(heldBy((h) => h.bytes));
  },
});

export const outboxRefusedTotal = new client.Counter({
  name: 'herald_outbox_refused_total',
  help: "Notifications the memory outbox refused because their provider's share (scope=provider) or the whole outbox (scope=global) was full, by provider type.",
  labelNames: ['type', 'scope'] as const,
});

export const logLinesDroppedTotal = new client.Counter({
  name: 'herald_log_lines_dropped_total',
  help: 'Log lines dropped because stderr did not keep up and the log buffer was full.',
});

let defaultsStarted = false;
export function collectProcessMetrics(): void {
  if (defaultsStarted) return;
  defaultsStarted = true;
  client.collectDefaultMetrics();
}
