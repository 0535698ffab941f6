// Large manifest files: refused whole above the size limit with a clear error, parsed off the event loop below it, and
// applied in one step, while events keep being answered.
import { readdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempConfigDirs, webhookForKind } from '../../helpers/config-dir.js';
import { postEvent, startHerald } from '../../helpers/herald-process.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { maxLagMs } from '../../helpers/overload.js';

function configMaps(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n  namespace: apps\n  labels: { team: t${i % 10}, tier: backend }\ndata:\n  key: value-${i}`);
  return docs.join('\n---\n');
}

/** Whether the process runs a worker_threads Worker now (Linux: Node names those threads WorkerThread). */
function hasWorkerThread(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).some((t) => {
    try {
      return readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === 'WorkerThread';
    } catch {
      return false; // the thread ended while we looked
    }
  });
}

describe('large manifest files', () => {
  const configDir = tempConfigDirs('herald-big-');

  it('refuses a file over 16 MiB whole, loads a 6 MB one off the event loop, and keeps answering events', async () => {
    const hook = await startRecordingServer();
    const dir = configDir({ 'c.yaml': webhookForKind('hook', `${hook.url}/hook`, 'Kustomization') });
    const h = await startHerald({ configDir: dir });
    let stop = false;
    let flow: Promise<void> = Promise.resolve();
    try {
      const latencies: number[] = [];
      flow = (async () => {
        for (let i = 0; !stop; i++) {
          const t = performance.now();
          const r = await postEvent(h.eventsUrl, { involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: 'app' }, severity: 'info', message: `event ${i}` });
          expect(r.status).toBe(202);
          latencies.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();

      // Over the limit: 20 MB of objects plus an Alert that must not appear.
      const huge = `${configMaps(130_000)}\n---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata: { name: from-huge, namespace: flux-system }\nspec:\n  providerRef: { name: hook }\n  eventSources: [{ kind: GitRepository, name: '*' }]\n`;
      expect(huge.length).toBeGreaterThan(16 * 1024 * 1024);
      writeFileSync(path.join(dir, '.huge.tmp'), huge);
      renameSync(path.join(dir, '.huge.tmp'), path.join(dir, 'huge.yaml'));
      const refused = JSON.parse(await h.waitForLog('huge.yaml: file is', 10_000));
      expect(refused).toMatchObject({ level: 'error', limit: 16 * 1024 * 1024 });
      expect(String(refused.msg)).toMatch(/huge\.yaml: file is \d+ bytes, larger than the limit of 16777216 bytes \(16 MiB\); ignored; split it into smaller files/);

      await maxLagMs(h.metricsUrl); // resets the lag histogram
      // Under the limit: about 4.3 MB of ConfigMaps and a Secret with a 2 MB value, parsed in the worker.
      const big = `${configMaps(30_000)}
---
apiVersion: v1
kind: Secret
metadata: { name: blob, namespace: flux-system }
stringData:
  address: ${hook.url}/from-secret
  blob: ${'b'.repeat(2_000_000)}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: from-big, namespace: flux-system }
spec: { type: generic, secretRef: { name: blob } }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: from-big, namespace: flux-system }
spec:
  providerRef: { name: from-big }
  eventSources: [{ kind: GitRepository, name: '*' }]
`;
      // The parse runs in a worker thread, which is stopped once idle: its heap grew with the file and is not needed.
      let sawWorker = false;
      const watcher = setInterval(() => (sawWorker ||= hasWorkerThread(h.child.pid!)), 20);
      writeFileSync(path.join(dir, '.big.tmp'), big);
      renameSync(path.join(dir, '.big.tmp'), path.join(dir, 'big.yaml'));
      const loaded = JSON.parse(await h.waitForLog(/"msg":"config dir .* reloaded: 3 files, 2 alerts, 2 providers, 1 secrets, 30000 other objects/, 20_000));
      const lag = await maxLagMs(h.metricsUrl);
      for (let i = 0; i < 100 && hasWorkerThread(h.child.pid!); i++) await new Promise((r) => setTimeout(r, 50));
      clearInterval(watcher);
      expect(sawWorker).toBe(true);
      expect(hasWorkerThread(h.child.pid!)).toBe(false);
      // The next large file starts a new worker.
      const more = configMaps(5_000).replaceAll('cm-', 'more-');
      expect(more.length).toBeGreaterThan(256 * 1024);
      writeFileSync(path.join(dir, '.more.tmp'), more);
      renameSync(path.join(dir, '.more.tmp'), path.join(dir, 'more.yaml'));
      await h.waitForLog(/"msg":"config dir .* reloaded: 4 files, 2 alerts, 2 providers, 1 secrets, 35000 other objects/, 20_000);
      stop = true;
      await flow;
      expect(loaded.problems).toBe(1); // huge.yaml
      expect(loaded.alerts).toBe(2);
      // The Secret came back from the worker thread intact: the Provider reads its address from it.
      const r = await postEvent(h.eventsUrl, { involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'repo' }, severity: 'info', message: 'via secret' });
      expect(r.status).toBe(202);
      for (let i = 0; i < 100 && !hook.requests.some((q) => q.url === '/from-secret'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(hook.requests.some((q) => q.url === '/from-secret')).toBe(true);
      const sorted = [...latencies].sort((a, b) => a - b);
      const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
      console.log(`events ${latencies.length}, p99 ${p99.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; event loop lag max while loading ${lag.toFixed(1)} ms`);
      expect(p99).toBeLessThan(1000);
    } finally {
      stop = true;
      await flow.catch(() => undefined);
      await h.kill();
      await hook.close();
    }
  }, 60_000);
});
