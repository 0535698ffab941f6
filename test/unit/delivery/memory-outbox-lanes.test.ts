import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MemoryOutbox } from '../../../src/delivery/memory.js';
import type { Delivery, DeliveryOutcome } from '../../../src/delivery/outbox.js';
import { createLogger } from '../../../src/logger.js';
import { canonicalEvent } from '../../helpers/providers.js';

const log = createLogger({ level: 'error', destination: new Writable({ write(_c, _e, cb) { cb(); } }) });

const delivery = (id: string, provider = 'hook'): Delivery => ({
  id, acceptedAt: Date.now(),
  notification: {
    event: canonicalEvent(),
    alert: { namespace: 'apps', name: 'all', uid: 'a1' },
    provider: { namespace: 'apps', name: provider, uid: 'p1', type: 'generic' },
  },
});

describe('MemoryOutbox with the ring-buffer lanes and the retry wheel', () => {
  it('hands a lane its deliveries in order, one at a time at concurrency 1, and retries after the delay', async () => {
    const outbox = new MemoryOutbox({ perProviderConcurrency: 1, log });
    const seen: string[] = [];
    const retried = new Map<string, number>();
    let finished = 0;
    const done = new Promise<void>((resolve) => {
      outbox.start(async (d): Promise<DeliveryOutcome> => {
        seen.push(d.id);
        // d-1 fails once and is retried 60 ms later, behind the rest of the lane.
        if (d.id === 'd-1' && !retried.has(d.id)) {
          retried.set(d.id, Date.now());
          return { result: 'retry', delayMs: 60, error: 'boom' };
        }
        if (d.id === 'd-1') expect(Date.now() - retried.get(d.id)!).toBeGreaterThanOrEqual(60);
        if (++finished === 500) resolve();
        return { result: 'delivered' };
      });
    });
    for (let i = 0; i < 500; i++) await outbox.enqueue(delivery(`d-${i}`));
    await done;
    expect(seen.slice(0, 3)).toEqual(['d-0', 'd-1', 'd-2']);
    expect(seen.at(-1)).toBe('d-1');
    expect(seen.filter((s) => s !== 'd-1')).toEqual(Array.from({ length: 500 }, (_, i) => `d-${i}`).filter((s) => s !== 'd-1'));
    // Settles pending after the last handler returned.
    await new Promise((r) => setImmediate(r));
    expect(outbox.size).toBe(0);
    await outbox.close(100);
  });

  it('close drops retries still waiting and reports them pending', async () => {
    const outbox = new MemoryOutbox({ log });
    let calls = 0;
    outbox.start(async () => {
      calls++;
      return { result: 'retry', delayMs: 60_000, error: 'later' };
    });
    await outbox.enqueue(delivery('x'));
    await new Promise((r) => setTimeout(r, 20));
    expect(outbox.size).toBe(1);
    await outbox.close(50);
    expect(calls).toBe(1);
    await expect(outbox.enqueue(delivery('y'))).rejects.toThrow('outbox is closed');
  });
});
