// The event server's request metrics: in-flight requests counted while an event is being stored, back to 0 once it is
// answered, and the duration histogram observed per status code (the counts are kept outside prom-client's hot path).
import { afterEach, describe, expect, it } from 'vitest';
import { createEventServer } from '../../../src/server/event-server.js';
import { MemoryDedupStore } from '../../../src/server/dedup.js';
import { createLogger } from '../../../src/logger.js';
import { registry } from '../../../src/metrics.js';
import type { FluxEvent } from '../../../src/api/event.js';

const event = (revision: string) => JSON.stringify({
  involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'web', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
  severity: 'info', message: 'hello', reason: 'Progressing', metadata: { 'kustomize.toolkit.fluxcd.io/revision': revision },
});

async function metric(name: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(name));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('event server request metrics', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('counts a request in flight until it is answered', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const stored: FluxEvent[] = [];
    const dedup = new MemoryDedupStore(60_000);
    const app = createEventServer({
      dedup, log: createLogger({ level: 'error' }),
      dispatcher: { dispatch: async (e) => { stored.push(e); await held; } },
    });
    closers.push(async () => { await app.close(); await dedup.close?.(); });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`;
    const before = (await metric('gotk_event_http_request_duration_seconds_count{service="",handler="/",method="POST",code="202"}')) ?? 0;

    const pending = fetch(url, { method: 'POST', body: event('r1') });
    for (let i = 0; i < 100 && stored.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stored).toHaveLength(1);
    expect(await metric('gotk_event_http_requests_inflight{service="",handler="/"}')).toBe(1);

    release();
    expect((await pending).status).toBe(202);
    // The count drops once the answer is written: poll briefly for it.
    let inflight: number | undefined;
    for (let i = 0; i < 50; i++) {
      inflight = await metric('gotk_event_http_requests_inflight{service="",handler="/"}');
      if (inflight === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(inflight).toBe(0);
    expect(await metric('gotk_event_http_request_duration_seconds_count{service="",handler="/",method="POST",code="202"}')).toBe(before + 1);
  });
});
