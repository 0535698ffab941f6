// Graceful shutdown with the memory outbox: SIGTERM refuses new work, finishes in-flight deliveries, exits 0.
import { describe, expect, it } from 'vitest';
import { tempConfigDirs, webhookForKind } from '../../helpers/config-dir.js';
import { postEvent, startHerald } from '../../helpers/herald-process.js';
import { startRecordingServer } from '../../helpers/recording-server.js';

describe('SIGTERM with the memory outbox', () => {
  const configDir = tempConfigDirs('herald-shutdown-');

  it('lets in-flight deliveries finish within the grace period and exits 0', async () => {
    // Each request takes 800 ms: the deliveries are still in flight when SIGTERM arrives.
    const hook = await startRecordingServer({ respond: () => new Promise((r) => setTimeout(() => r({ status: 200 }), 800)) });
    const dir = configDir({ 'c.yaml': webhookForKind('slow', `${hook.url}/slow`, 'GitRepository') });
    const h = await startHerald({ configDir: dir, args: ['--shutdown-grace-period', '5s'] });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await postEvent(h.eventsUrl, { involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'r' }, severity: 'info', message: `event ${i}` });
        expect(res.status).toBe(202);
      }
      const started = Date.now();
      const code = await h.stop();
      expect(code).toBe(0);
      expect(hook.requests.length).toBe(5);
      // Completed, not just started: the worker logged each success before the process exited.
      expect(h.logs.filter((l) => l.includes('"msg":"notification delivered"'))).toHaveLength(5);
      const metricsAfter = await fetch(`${h.eventsUrl}/`, { method: 'POST', body: '{}' }).then(() => 'answered', () => 'closed');
      expect(metricsAfter).toBe('closed');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(h.logs.some((l) => l.includes('shutting down'))).toBe(true);
      expect(h.logs.some((l) => l.includes('deliveries not sent'))).toBe(false);
    } finally {
      await h.kill();
      await hook.close();
    }
  });
});
