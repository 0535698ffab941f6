// The JetStream outbox against a real nats-server: storing, acking, retries, dead letters, hand-back on close, outages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import client from 'prom-client';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { captureLog, makeDelivery, openOutbox, uniqueNames, waitUntil } from '../../helpers/jetstream-outbox.js';
import { outboxStatus, replayDead } from '../../../src/jetstream/admin.js';
import { JetStreamUnavailableError } from '../../../src/jetstream/link.js';
import type { Delivery, DeliveryHandler, DeliveryOutcome } from '../../../src/delivery/outbox.js';

let nats: NatsServer;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
});

afterAll(async () => {
  await nats?.stop();
});

async function streamMessages(stream: string): Promise<number> {
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

describe('JetStream outbox', () => {
  it('stores deliveries before enqueue resolves and acks each once the handler delivered it', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const sink = await startRecordingServer();
    const box = await openOutbox(nats.url, log, { names, concurrency: 8 });
    try {
      const sent = Array.from({ length: 50 }, (_, i) => makeDelivery(i));
      for (const d of sent) await box.outbox.enqueue(d);
      // Stored before any worker runs: this is what the 202 promises.
      expect(await streamMessages(names.outboxStream!)).toBe(50);

      const seen: Delivery[] = [];
      box.outbox.start(async (d, signal) => {
        seen.push(d);
        const res = await fetch(`${sink.url}/${d.id}`, { method: 'POST', body: JSON.stringify(d.notification.event), signal });
        await res.arrayBuffer();
        return { result: 'delivered' };
      });
      await sink.waitFor(50, 10_000);
      await waitUntil(async () => (await streamMessages(names.outboxStream!)) === 0, 5000, 'the work queue to empty');
      expect(new Set(sink.requests.map((r) => r.url.slice(1)))).toEqual(new Set(sent.map((d) => d.id)));
      // The payload round-trips as the same JSON, first attempt counted as 0 attempts made before.
      const first = seen.find((d) => d.id === sent[0]!.id)!;
      expect(first.notification).toEqual(sent[0]!.notification);
      expect(first.attempts).toBe(0);
    } finally {
      await box.close();
      await sink.close();
    }
  });

  it('keeps one copy when the same delivery is stored twice (message id = delivery id)', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const box = await openOutbox(nats.url, log, { names });
    try {
      const d = makeDelivery(1);
      await box.outbox.enqueue(d);
      await box.outbox.enqueue(d);
      expect(await streamMessages(names.outboxStream!)).toBe(1);
    } finally {
      await box.close();
    }
  });

  it('redelivers a retry after the requested delay, counting attempts and carrying the last error', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const box = await openOutbox(nats.url, log, { names });
    try {
      const d = makeDelivery(1);
      await box.outbox.enqueue(d);
      const calls: Array<{ at: number; attempts: number | undefined; lastError: string | undefined }> = [];
      box.outbox.start(async (got) => {
        calls.push({ at: Date.now(), attempts: got.attempts, lastError: got.lastError });
        if (calls.length < 3) return { result: 'retry', delayMs: 400 * calls.length, error: `boom ${calls.length}` };
        return { result: 'delivered' };
      });
      await waitUntil(() => calls.length === 3, 8000, 'three attempts');
      expect(calls.map((c) => c.attempts)).toEqual([0, 1, 2]);
      expect(calls.map((c) => c.lastError)).toEqual([undefined, 'boom 1', 'boom 2']);
      const gap1 = calls[1]!.at - calls[0]!.at;
      const gap2 = calls[2]!.at - calls[1]!.at;
      expect(gap1).toBeGreaterThanOrEqual(380);
      expect(gap1).toBeLessThan(1400);
      expect(gap2).toBeGreaterThanOrEqual(780);
      expect(gap2).toBeLessThan(1900);
      await waitUntil(async () => (await streamMessages(names.outboxStream!)) === 0, 3000, 'the ack');
    } finally {
      await box.close();
    }
  });

  it('acks a dropped delivery without retrying it', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const box = await openOutbox(nats.url, log, { names });
    try {
      await box.outbox.enqueue(makeDelivery(1));
      let calls = 0;
      box.outbox.start(async () => {
        calls++;
        return { result: 'dropped', reason: 'Alert apps/alert was deleted' };
      });
      await waitUntil(async () => calls === 1 && (await streamMessages(names.outboxStream!)) === 0, 5000, 'the drop');
      await new Promise((r) => setTimeout(r, 500));
      expect(calls).toBe(1);
      expect(await streamMessages(names.deadStream!)).toBe(0);
    } finally {
      await box.close();
    }
  });

  it('never runs more handlers at once than its concurrency', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const box = await openOutbox(nats.url, log, { names, concurrency: 5 });
    try {
      for (let i = 0; i < 40; i++) await box.outbox.enqueue(makeDelivery(i));
      let running = 0;
      let peak = 0;
      let done = 0;
      box.outbox.start(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        done++;
        return { result: 'delivered' };
      });
      await waitUntil(() => done === 40, 10_000, 'all deliveries');
      expect(peak).toBe(5);
    } finally {
      await box.close();
    }
  });

  it('moves a failed delivery to the dead letters with its error, reports it per provider, and replays it', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const box = await openOutbox(nats.url, log, { names });
    try {
      const failing = makeDelivery(1, { namespace: 'team-a', name: 'hook.v2' });
      const other = makeDelivery(2, { namespace: 'team-b', name: 'slack' });
      await box.outbox.enqueue(failing);
      await box.outbox.enqueue(other);
      let healthy = false;
      const delivered: string[] = [];
      box.outbox.start(async (d): Promise<DeliveryOutcome> => {
        if (healthy) {
          delivered.push(d.id);
          return { result: 'delivered' };
        }
        return { result: 'failed', error: `request failed with status code 500: down (${d.notification.provider.name})` };
      });
      await waitUntil(async () => (await streamMessages(names.deadStream!)) === 2, 5000, 'two dead letters');
      expect(await streamMessages(names.outboxStream!)).toBe(0);

      const status = await outboxStatus({ natsUrl: nats.url, names });
      expect(status).toMatchObject({ pending: 0, inFlight: 0, deadLetters: 2 });
      expect(status.providers).toEqual([
        { provider: 'team-a/hook.v2', pending: 0, inFlight: 0, deadLetters: 1 },
        { provider: 'team-b/slack', pending: 0, inFlight: 0, deadLetters: 1 },
      ]);

      // The dead letter keeps the delivery and its last error.
      const nc = await connect({ servers: nats.url });
      const jsm = await jetstreamManager(nc);
      const stored = await jsm.streams.getMessage(names.deadStream!, { last_by_subj: `${names.subjectPrefix}.dead.team-a.hook%2Ev2` });
      await nc.close();
      const letter = stored!.json<{ delivery: Delivery; error: string }>();
      expect(letter.delivery.id).toBe(failing.id);
      expect(letter.error).toBe('request failed with status code 500: down (hook.v2)');

      healthy = true;
      const replay = await replayDead({ natsUrl: nats.url, names, provider: 'team-a/hook.v2' });
      expect(replay).toEqual({ replayed: 1, skipped: 0, providers: { 'team-a/hook.v2': 1 } });
      await waitUntil(() => delivered.length === 1, 5000, 'the replayed delivery');
      expect(delivered).toEqual([failing.id]);
      expect(await streamMessages(names.deadStream!)).toBe(1);

      const rest = await replayDead({ natsUrl: nats.url, names });
      expect(rest.replayed).toBe(1);
      await waitUntil(() => delivered.length === 2, 5000, 'the second replayed delivery');
      expect(delivered[1]).toBe(other.id);
      expect(await streamMessages(names.deadStream!)).toBe(0);
    } finally {
      await box.close();
    }
  });

  it('status splits waiting deliveries from those handed out and waiting to retry', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const box = await openOutbox(nats.url, log, { names, concurrency: 2 });
    try {
      for (let i = 0; i < 5; i++) await box.outbox.enqueue(makeDelivery(i, { name: 'a' }));
      for (let i = 0; i < 3; i++) await box.outbox.enqueue(makeDelivery(i, { name: 'b' }));
      let calls = 0;
      // Every attempt fails with a long retry delay: the handed-out ones wait in the consumer, the rest stay pending.
      box.outbox.start(async () => {
        calls++;
        return { result: 'retry', delayMs: 60_000, error: 'down' };
      });
      await waitUntil(() => calls >= 2, 5000, 'two attempts');
      await box.outbox.close(100);
      const status = await outboxStatus({ natsUrl: nats.url, names });
      expect(status.pending + status.inFlight).toBe(8);
      expect(status.inFlight).toBe(calls);
      expect(status.providers.reduce((n, p) => n + p.inFlight, 0)).toBe(calls);
      expect(status.providers.find((p) => p.provider === 'apps/a')!.pending + status.providers.find((p) => p.provider === 'apps/a')!.inFlight).toBe(5);
      expect(status.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(0);
    } finally {
      await box.close();
    }
  });

  it('keeps a slow delivery with its replica past the ack wait (progress signals), so no other replica sends it too', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const a = await openOutbox(nats.url, log, { names, ackWaitMs: 1000 });
    const b = await openOutbox(nats.url, log, { names, ackWaitMs: 1000 });
    try {
      for (let i = 0; i < 4; i++) await a.outbox.enqueue(makeDelivery(i));
      const handled: string[] = [];
      const slow: DeliveryHandler = async (d) => {
        handled.push(d.id);
        await new Promise((r) => setTimeout(r, 2500));
        return { result: 'delivered' };
      };
      a.outbox.start(slow);
      b.outbox.start(slow);
      await waitUntil(async () => handled.length >= 4 && (await streamMessages(names.outboxStream!)) === 0, 10_000, 'all four acked');
      expect(handled.length).toBe(4);
      expect(new Set(handled).size).toBe(4);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('on close hands in-flight deliveries back at once, and another replica takes them long before the ack wait', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const a = await openOutbox(nats.url, log, { names, ackWaitMs: 30_000 });
    const b = await openOutbox(nats.url, log, { names, ackWaitMs: 30_000 });
    try {
      for (let i = 0; i < 3; i++) await a.outbox.enqueue(makeDelivery(i));
      let aStarted = 0;
      a.outbox.start(async (_d, signal) => {
        aStarted++;
        // A send that would take far longer than the grace period; the worker hands it back when aborted.
        await new Promise((resolve) => {
          const t = setTimeout(resolve, 60_000);
          signal.addEventListener('abort', () => { clearTimeout(t); resolve(undefined); }, { once: true });
        });
        return signal.aborted ? { result: 'retry', delayMs: 0, error: 'shutting down' } : { result: 'delivered' };
      });
      await waitUntil(() => aStarted === 3, 5000, 'replica a to take all three');
      const tClose = Date.now();
      await a.close(200);
      expect(Date.now() - tClose).toBeLessThan(3000);
      const byB: string[] = [];
      b.outbox.start(async (d) => {
        byB.push(d.id);
        return { result: 'delivered' };
      });
      await waitUntil(() => byB.length === 3, 5000, 'replica b to deliver the handed-back deliveries');
      expect(Date.now() - tClose).toBeLessThan(8000);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('answers enqueue with JetStreamUnavailableError while NATS is down and recovers without losing what it stored', async () => {
    const { log, lines } = captureLog();
    const names = uniqueNames();
    const own = await startNatsServer({ jetstream: true });
    await own.halt();
    const box = await openOutbox(own.url, log, { names }, false);
    try {
      await expect(box.outbox.enqueue(makeDelivery(0))).rejects.toBeInstanceOf(JetStreamUnavailableError);
      await waitUntil(() => box.link.lastError.startsWith('cannot connect'), 5000, 'a failed connection attempt');
      await expect(box.outbox.enqueue(makeDelivery(0))).rejects.toThrow(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/);
      const delivered = new Set<string>();
      box.outbox.start(async (d) => {
        delivered.add(d.id);
        return { result: 'delivered' };
      });
      await own.start();
      await box.link.whenReady(AbortSignal.timeout(10_000));
      const first = makeDelivery(1);
      await box.outbox.enqueue(first);
      await waitUntil(() => delivered.has(first.id), 5000, 'the first delivery');

      // Stored while no worker can take it (a slow handler would not help: stop NATS right after storing).
      const stored: Delivery[] = [];
      await box.outbox.close(100);
      const box2 = await openOutbox(own.url, log, { names });
      for (let i = 0; i < 20; i++) {
        const d = makeDelivery(100 + i);
        await box2.outbox.enqueue(d);
        stored.push(d);
      }
      await own.halt();
      await waitUntil(() => !box2.link.ready, 5000, 'the link to notice');
      await expect(box2.outbox.enqueue(makeDelivery(999))).rejects.toBeInstanceOf(JetStreamUnavailableError);
      await own.start();
      await box2.link.whenReady(AbortSignal.timeout(15_000));
      box2.outbox.start(async (d) => {
        delivered.add(d.id);
        return { result: 'delivered' };
      });
      await waitUntil(() => stored.every((d) => delivered.has(d.id)), 15_000, 'every stored delivery after the outage');
      expect(lines.some((l) => l.msg === 'NATS connection lost, reconnecting')).toBe(true);
      await box2.close();
    } finally {
      await box.close();
      await own.stop();
    }
  });

  it('exports queue depth, oldest age and dead letters as gauges', async () => {
    const { log } = captureLog();
    const names = uniqueNames();
    const box = await openOutbox(nats.url, log, { names });
    try {
      for (let i = 0; i < 3; i++) await box.outbox.enqueue(makeDelivery(i));
      await new Promise((r) => setTimeout(r, 1100));
      const text = await client.register.metrics();
      expect(text).toMatch(/^herald_outbox_pending 3$/m);
      const age = Number(/^herald_outbox_oldest_pending_age_seconds ([\d.]+)$/m.exec(text)?.[1]);
      expect(age).toBeGreaterThanOrEqual(1);
      expect(age).toBeLessThan(10);
      expect(text).toMatch(/^herald_outbox_dead_letters 0$/m);
      box.outbox.start(async () => ({ result: 'failed', error: 'nope' }));
      await waitUntil(async () => (await streamMessages(names.deadStream!)) === 3, 5000, 'dead letters');
      await new Promise((r) => setTimeout(r, 1100));
      const after = await client.register.metrics();
      expect(after).toMatch(/^herald_outbox_pending 0$/m);
      expect(after).toMatch(/^herald_outbox_dead_letters 3$/m);
    } finally {
      await box.close();
    }
  });
});
