// Graceful shutdown with the memory outbox: SIGTERM refuses new work, finishes in-flight deliveries, exits 0 within the grace
// period plus 2 s even with slow, silent and hanging peers, and logs what it dropped.
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { tempConfigDirs, webhookForKind } from '../../helpers/config-dir.js';
import { postEvent, startHerald } from '../../helpers/herald-process.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { startHangingServer } from '../../helpers/overload.js';

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

/** Opens a raw connection to `url`, optionally writes `first`, then one byte of `trickle` per second. */
async function trickleClient(url: string, first: string, trickle: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  if (first) socket.write(first);
  let i = 0;
  const t = setInterval(() => {
    if (socket.destroyed || i >= trickle.length) return clearInterval(t);
    socket.write(trickle[i++]!);
  }, 1000);
  socket.once('close', () => clearInterval(t));
  return socket;
}

describe('SIGTERM with slow, silent and hanging peers', () => {
  const configDir = tempConfigDirs('herald-shutdown-slow-');

  it('exits 0 within the grace period plus 2 s and logs how many deliveries it dropped', async () => {
    const hook = await startHangingServer();
    const dir = configDir({ 'c.yaml': webhookForKind('hang', `${hook.url}/hang`, 'GitRepository') });
    const graceMs = 3000;
    const h = await startHerald({ configDir: dir, args: ['--shutdown-grace-period', `${graceMs}ms`] });
    const clients: Socket[] = [];
    try {
      // Deliveries that never finish: one in flight per provider slot and a few waiting.
      for (let i = 0; i < 20; i++) {
        const res = await postEvent(h.eventsUrl, { involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'r' }, severity: 'info', message: `event ${i}` });
        expect(res.status).toBe(202);
      }
      const body = JSON.stringify({ involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'slow' }, message: 'x'.repeat(200) });
      clients.push(await trickleClient(h.eventsUrl, 'POST / HTTP/1.1\r\nHost: herald\r\n', 'X-Slow: ' + 'a'.repeat(100)));
      clients.push(await trickleClient(h.eventsUrl, `POST / HTTP/1.1\r\nHost: herald\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body));
      clients.push(await trickleClient(h.eventsUrl, '', ''));
      await new Promise((r) => setTimeout(r, 1500));
      expect(hook.connections()).toBeGreaterThan(0);

      const started = Date.now();
      const silentClosed = new Promise<number>((r) => clients[2]!.once('close', () => r(Date.now() - started)));
      const code = await h.stop();
      const took = Date.now() - started;
      console.log(`SIGTERM to exit: ${took} ms (grace ${graceMs} ms)`);
      // The silent connection is closed at once, not after the in-flight bound.
      expect(await silentClosed).toBeLessThan(1000);
      expect(code).toBe(0);
      expect(took).toBeLessThan(graceMs + 2000);
      // Every client connection was closed by Herald.
      expect(clients.every((c) => c.destroyed || c.readableEnded)).toBe(true);
      const stopped = h.records().find((r) => r.msg === 'stopped');
      expect(stopped).toMatchObject({ outbox: 'memory', dropped: 20 });
      const dropLine = h.records().find((r) => typeof r.msg === 'string' && r.msg.startsWith('memory outbox closed: 20 deliveries dropped'));
      expect(dropLine).toMatchObject({ level: 'error', dropped: 20 });
      expect(h.records().find((r) => r.msg === 'event server closed: connections still reading a request were cut')).toMatchObject({ connections: 2 });
    } finally {
      for (const c of clients) c.destroy();
      await h.kill();
      await hook.close();
    }
  });

  it('on a second SIGTERM exits at once and says how many deliveries it dropped', async () => {
    const hook = await startHangingServer();
    const dir = configDir({ 'c.yaml': webhookForKind('hang', `${hook.url}/hang`, 'GitRepository') });
    const h = await startHerald({ configDir: dir, args: ['--shutdown-grace-period', '20s'] });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await postEvent(h.eventsUrl, { involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'r' }, severity: 'info', message: `event ${i}` });
        expect(res.status).toBe(202);
      }
      const started = Date.now();
      h.child.kill('SIGTERM');
      await h.waitForLog('shutting down');
      h.child.kill('SIGTERM');
      const code = await h.stop();
      expect(Date.now() - started).toBeLessThan(3000);
      expect(code).toBe(1);
      expect(h.records().find((r) => r.msg === 'second signal, exiting now: 3 accepted deliveries dropped')).toMatchObject({ dropped: 3 });
    } finally {
      await h.kill();
      await hook.close();
    }
  });
});
