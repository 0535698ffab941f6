// Probes and metrics: one server when --health-addr and --metrics-addr name the same address, as in many Deployments.
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startHerald, type HeraldProcess } from '../../helpers/herald-process.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('shared health and metrics address', () => {
  let h: HeraldProcess | undefined;
  afterAll(async () => { await h?.stop(); });

  it('serves /healthz, /readyz and /metrics from one listener', async () => {
    const port = await freePort();
    h = await startHerald({ configDir: 'examples', args: ['--health-addr', `127.0.0.1:${port}`, '--metrics-addr', `127.0.0.1:${port}`] });
    expect(h.healthUrl).toBe(`http://127.0.0.1:${port}`);
    expect(h.metricsUrl).toBe(h.healthUrl);
    expect((await fetch(`${h.healthUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.healthUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${h.healthUrl}/metrics`)).text()).toContain('gotk_event_http_request_duration_seconds');
    expect((await fetch(`${h.healthUrl}/nothing`)).status).toBe(404);
  });
});
