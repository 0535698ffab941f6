// The memory outbox's bounds: per provider (count and bytes), global, and the reserve that keeps small providers served.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MemoryOutbox, notificationBytes, OutboxFullError } from '../../../src/delivery/memory.js';
import type { Delivery } from '../../../src/delivery/outbox.js';

const log = pino({ level: 'silent' });
let seq = 0;
function delivery(provider: string, message = 'hello'): Delivery {
  return {
    id: String(++seq),
    acceptedAt: Date.now(),
    notification: {
      event: { involvedObject: { kind: 'GitRepository', namespace: 'ns', name: 'r' } as never, severity: 'info', timestamp: null, message, reason: 'r', metadata: {}, reportingController: 'c' },
      alert: { namespace: 'ns', name: 'a', uid: 'u' },
      provider: { namespace: 'ns', name: provider, uid: 'p', type: 'generic' },
    },
  };
}
const never = () => new Promise<never>(() => undefined);

describe('MemoryOutbox bounds', () => {
  it('refuses a provider over its count share and keeps taking the others', async () => {
    const o = new MemoryOutbox({ log, perProviderConcurrency: 2, limits: { providerMaxPending: 10 } });
    o.start(never);
    for (let i = 0; i < 10; i++) await o.enqueue(delivery('stuck'));
    await expect(o.enqueue(delivery('stuck'))).rejects.toThrow(OutboxFullError);
    await expect(o.enqueue(delivery('stuck'))).rejects.toThrow(/outbox full for provider ns\/stuck: provider holds 10 deliveries \(limit --outbox-provider-max-pending 10\)/);
    await o.enqueue(delivery('healthy'));
    expect(o.held('ns/stuck').count).toBe(10);
    expect(o.held('ns/healthy').count).toBe(1);
  });

  it('bounds a provider by bytes, counted from the notification size', async () => {
    const o = new MemoryOutbox({ log, limits: { providerMaxBytes: 100_000 } });
    o.start(never);
    const big = 'x'.repeat(30_000);
    expect(notificationBytes(delivery('p', big).notification)).toBeGreaterThan(30_000);
    for (let i = 0; i < 3; i++) await o.enqueue(delivery('stuck', big));
    await expect(o.enqueue(delivery('stuck', big))).rejects.toThrow(/provider holds \d+ bytes \(limit --outbox-provider-max-bytes 100000\)/);
    expect(o.held('ns/stuck').bytes).toBeLessThanOrEqual(100_000);
    // A single delivery above the share is taken when the provider holds nothing.
    await o.enqueue(delivery('other', 'y'.repeat(200_000)));
  });

  it('when the global bound is reached, refuses the large holders and still takes a small provider', async () => {
    const o = new MemoryOutbox({ log, limits: { maxPending: 50, providerMaxPending: 200 } });
    o.start(never);
    for (let i = 0; i < 50; i++) await o.enqueue(delivery('stuck'));
    await expect(o.enqueue(delivery('stuck'))).rejects.toThrow(/outbox holds 50 deliveries \(limit --outbox-max-pending 50\)/);
    // ns/healthy holds less than 1/8 of its own share: served from the reserve.
    for (let i = 0; i < 5; i++) await o.enqueue(delivery('healthy'));
    expect(o.size).toBe(55);
  });

  it('releases the share when deliveries finish', async () => {
    let finish!: () => void;
    const gate = new Promise<void>((r) => { finish = r; });
    const o = new MemoryOutbox({ log, limits: { providerMaxPending: 2 } });
    o.start(async () => { await gate; return { result: 'delivered' }; });
    await o.enqueue(delivery('p'));
    await o.enqueue(delivery('p'));
    await expect(o.enqueue(delivery('p'))).rejects.toThrow(OutboxFullError);
    finish();
    await new Promise((r) => setTimeout(r, 10));
    expect(o.held('ns/p')).toEqual({ count: 0, bytes: 0 });
    expect(o.bytes).toBe(0);
    await o.enqueue(delivery('p'));
  });
});
