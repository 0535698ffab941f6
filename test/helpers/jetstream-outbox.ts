// Test helpers for the JetStream outbox: deliveries, a log capture, and an outbox + link pair on a test nats-server.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { decodeEvent } from '../../src/api/event.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { JetStreamOutbox, type JetStreamOutboxOptions } from '../../src/delivery/jetstream.js';
import type { JetStreamNames } from '../../src/jetstream/layout.js';
import { NatsLink, natsConnectOptions } from '../../src/jetstream/link.js';
import type { Delivery } from '../../src/delivery/outbox.js';

export interface CapturedLog {
  log: Logger;
  lines: Array<Record<string, unknown>>;
}

export function captureLog(): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

export function makeDelivery(n: number, provider: { namespace?: string; name?: string } = {}): Delivery {
  const event = decodeEvent(JSON.stringify({
    involvedObject: { kind: 'Kustomization', namespace: 'apps', name: `app-${n}`, apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
    severity: 'info',
    timestamp: '2026-07-20T10:18:45Z',
    message: `event ${n}`,
    reason: 'ReconciliationSucceeded',
    metadata: { revision: `main@sha1:${n}` },
    reportingController: 'kustomize-controller',
  }));
  return {
    id: randomUUID(),
    acceptedAt: Date.now(),
    notification: {
      event,
      alert: { namespace: 'apps', name: 'alert', uid: 'alert-uid' },
      provider: { namespace: provider.namespace ?? 'apps', name: provider.name ?? 'webhook', uid: 'provider-uid', type: 'generic' },
    },
  };
}

/** A unique set of stream/consumer/bucket names, so tests sharing one nats-server do not see each other's deliveries. */
export function uniqueNames(): Partial<JetStreamNames> {
  const s = randomUUID().slice(0, 8);
  return { outboxStream: `T_OUT_${s}`, deadStream: `T_DEAD_${s}`, consumer: `w-${s}`, subjectPrefix: `t${s}`, dedupBucket: `dedup-${s}` };
}

export interface TestOutbox {
  outbox: JetStreamOutbox;
  link: NatsLink;
  close(graceMs?: number): Promise<void>;
}

/** An outbox on its own connection, as one replica would have; resolves once the link is ready. */
export async function openOutbox(url: string, log: Logger, opts: Partial<Omit<JetStreamOutboxOptions, 'link' | 'log'>> = {}, waitReady = true): Promise<TestOutbox> {
  const link = new NatsLink(natsConnectOptions({ natsUrl: url }), { log, requestTimeoutMs: 2000, maxRetryDelayMs: 250 });
  const outbox = new JetStreamOutbox({ link, log, ...opts });
  link.start();
  if (waitReady) await link.whenReady(AbortSignal.timeout(10_000));
  return {
    outbox,
    link,
    async close(graceMs = 500) {
      await outbox.close(graceMs);
      await link.close(1000);
    },
  };
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
