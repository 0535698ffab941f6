// Log lines stay small whatever the event or the endpoint sends: the per-event info line quotes a bounded excerpt of
// the message with its full length, failure lines a bounded error.
import { describe, expect, it } from 'vitest';
import { tempConfigDirs, webhookForKind } from '../../helpers/config-dir.js';
import { postEvent, startHerald } from '../../helpers/herald-process.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { excerpt, MAX_LOGGED_ERROR, MAX_LOGGED_MESSAGE } from '../../../src/logger.js';

describe('bounded log lines', () => {
  const configDir = tempConfigDirs('herald-logs-');

  it('excerpt keeps short texts, cuts long ones and says how much was cut', () => {
    expect(excerpt('short', 10)).toBe('short');
    expect(excerpt('x'.repeat(25), 10)).toBe(`${'x'.repeat(10)}... (15 more characters)`);
    // A surrogate pair is not split.
    expect(excerpt(`${'x'.repeat(9)}😀yyy`, 10)).toBe(`${'x'.repeat(9)}... (5 more characters)`);
  });

  it('quotes at most 1 KiB of a 3 MB message and a bounded error from a failing endpoint', async () => {
    // 400 is final: one attempt, one failure line. The body is 1 MB of text.
    const hook = await startRecordingServer({ respond: () => ({ status: 400, body: 'e'.repeat(1_000_000) }) });
    const h = await startHerald({ configDir: configDir({ 'c.yaml': webhookForKind('hook', `${hook.url}/hook`, 'GitRepository') }) });
    try {
      const message = 'm'.repeat(3_000_000);
      const res = await postEvent(h.eventsUrl, { involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'r' }, severity: 'info', message });
      expect(res.status).toBe(202);
      await h.waitForLog('failed to send notification');
      const dispatching = h.records().find((r) => r.msg === 'dispatching event')!;
      expect(dispatching.messageLength).toBe(3_000_000);
      expect(String(dispatching.message)).toBe(`${'m'.repeat(MAX_LOGGED_MESSAGE)}... (${3_000_000 - MAX_LOGGED_MESSAGE} more characters)`);
      const failed = h.records().find((r) => r.msg === 'failed to send notification')!;
      expect(String(failed.error)).toContain('request failed with status code 400');
      expect(String(failed.error).length).toBeLessThanOrEqual(MAX_LOGGED_ERROR + 40);
      // No line of the whole run is larger than a few KiB.
      expect(Math.max(...h.logs.map((l) => l.length))).toBeLessThan(16 * 1024);
    } finally {
      await h.kill();
      await hook.close();
    }
  });
});
