// The live trace end to end: the real `herald serve`, a webhook that fails once, a duplicate and an excluded event;
// then /debug/events, `herald trace` (with --follow) and the page in Debian's chromium, with no Secret value anywhere.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, postEvent, startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import { startRecordingServer, type RecordingServer } from '../../helpers/recording-server.js';
import { tempConfigDirs } from '../../helpers/config-dir.js';
import type { TraceRecord } from '../../../src/trace/buffer.js';

const CHROMIUM = '/usr/bin/chromium';
const PATH_TOKEN = 'pathtoken-7f3a9c1e';
const HEADER_TOKEN = 'headertoken-b82d40aa';
const configDir = tempConfigDirs('herald-trace-');

function manifests(sinkUrl: string): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: hook-secret, namespace: flux-system }
stringData:
  address: ${sinkUrl}/hooks/${PATH_TOKEN}
  headers: |
    Authorization: Bearer ${HEADER_TOKEN}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: hook, namespace: flux-system }
spec: { type: generic, secretRef: { name: hook-secret } }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: on-call, namespace: flux-system }
spec:
  providerRef: { name: hook }
  eventSources: [{ kind: Kustomization, name: apps }]
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: quiet, namespace: flux-system }
spec:
  providerRef: { name: hook }
  eventSources: [{ kind: Kustomization, name: '*' }]
  exclusionList: ['^Dependencies do not meet']
`;
}

function event(name: string, message: string, revision = 'main@sha1:1') {
  return {
    involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name, apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
    severity: 'error', timestamp: '2026-07-20T10:15:30Z', message, reason: 'HealthCheckFailed',
    metadata: { revision }, reportingController: 'kustomize-controller',
  };
}

async function traceOf(h: HeraldProcess, query = ''): Promise<TraceRecord[]> {
  const res = await fetch(`${h.metricsUrl}/debug/events${query}`);
  expect(res.headers.get('content-type')).toBe('application/json');
  return ((await res.json()) as { events: TraceRecord[] }).events;
}

describe('the live trace of herald serve', () => {
  let sink: RecordingServer;
  let h: HeraldProcess;
  beforeAll(async () => {
    let flaky = 0;
    sink = await startRecordingServer({
      respond: (req, n) => (n === 0 || (req.body.toString().includes('flaky') && flaky++ === 0)
        ? { status: 500, body: `upstream broke for Bearer ${HEADER_TOKEN}` }
        : { status: 200 }),
    });
    h = await startHerald({ configDir: configDir({ 'a.yaml': manifests(sink.url) }), args: ['--trace-events', '50'] });
    // Matched by both Alerts; the first attempt fails (500), the retry succeeds.
    expect((await postEvent(h.eventsUrl, event('apps', 'Health check failed'))).status).toBe(202);
    // The same event again: a duplicate.
    expect((await postEvent(h.eventsUrl, event('apps', 'Health check failed'))).status).toBe(429);
    // Another object: not a source of on-call, excluded by quiet's exclusionList.
    expect((await postEvent(h.eventsUrl, event('infra', 'Dependencies do not meet ready condition'))).status).toBe(202);
    await sink.waitFor(3, 15_000);
    // Let the worker record the last answer.
    for (let i = 0; i < 50; i++) {
      const [, , first] = await traceOf(h);
      if (first?.deliveries.every((d) => d.state === 'delivered')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);
  afterAll(async () => {
    await h?.stop();
    await sink?.close();
  });

  it('serves the matched, the deduplicated and the excluded event with each Alert and delivery', async () => {
    const [excluded, duplicate, matched] = await traceOf(h);
    expect(matched).toMatchObject({
      object: 'Kustomization/flux-system/apps', dedup: 'passed', message: 'Health check failed',
      alerts: [
        { alert: 'flux-system/on-call', matched: true, rule: 'source Kustomization/flux-system/apps' },
        { alert: 'flux-system/quiet', matched: true, rule: 'source Kustomization/flux-system/*' },
      ],
    });
    expect(matched!.deliveries).toHaveLength(2);
    const attempts = matched!.deliveries.flatMap((d) => d.attempts);
    expect(attempts.map((a) => a.result).sort()).toEqual(['delivered', 'delivered', 'retry']);
    const failed = attempts.find((a) => a.result === 'retry')!;
    expect(failed.error).toMatch(/500/);
    // The webhook echoed the bearer token in its error body: the worker masked it before the trace kept it.
    expect(failed.error).toContain('upstream broke for *****');
    expect(matched!.deliveries.every((d) => d.provider === 'flux-system/hook' && d.type === 'generic' && d.state === 'delivered')).toBe(true);
    expect(duplicate).toMatchObject({ object: 'Kustomization/flux-system/apps', dedup: 'duplicate', alerts: [], deliveries: [] });
    expect(excluded).toMatchObject({
      object: 'Kustomization/flux-system/infra', dedup: 'passed', deliveries: [],
      alerts: [
        { alert: 'flux-system/on-call', matched: false, rule: 'eventSources[Kustomization/apps]: name infra is not apps' },
        { alert: 'flux-system/quiet', matched: false, rule: 'message matches exclusionList pattern "^Dependencies do not meet"' },
      ],
    });
    expect((await traceOf(h, '?object=infra')).map((r) => r.object)).toEqual(['Kustomization/flux-system/infra']);
    expect((await traceOf(h, '?provider=generic'))).toHaveLength(1);
    const raw = await (await fetch(`${h.metricsUrl}/debug/events`)).text();
    expect(raw).not.toContain(PATH_TOKEN);
    expect(raw).not.toContain(HEADER_TOKEN);
    expect((await fetch(`${h.metricsUrl}/debug/events`, { method: 'POST' })).status).toBe(405);
  });

  it('herald trace prints it oldest first, filtered by Alert, and follows new events and their later attempts', async () => {
    const r = spawnSync(process.execPath, [cliPath, 'trace', '--metrics-url', h.metricsUrl, '--alert', 'flux-system/quiet'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^#1 \S+ Kustomization\/flux-system\/apps error HealthCheckFailed: Health check failed$/);
    expect(lines).toContain('  alert flux-system/quiet: no match: message matches exclusionList pattern "^Dependencies do not meet"');
    expect(lines.some((l) => /^ {4}attempt 1 .*: retry: .*500/.test(l))).toBe(true);
    expect(r.stdout).not.toContain('dedup: duplicate');
    expect(r.stdout).not.toContain(PATH_TOKEN);

    const follow = spawn(process.execPath, [cliPath, 'trace', '--metrics-url', h.metricsUrl, '--follow', '--interval', '200', '--object', 'followed'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    follow.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
    try {
      await new Promise((res) => setTimeout(res, 500));
      expect(out).toBe('');
      expect((await postEvent(h.eventsUrl, event('followed', 'flaky webhook', 'r2'))).status).toBe(202);
      for (let i = 0; i < 50 && !out.includes('followed'); i++) await new Promise((res) => setTimeout(res, 100));
      expect(out).toMatch(/^#4 \S+ Kustomization\/flux-system\/followed error HealthCheckFailed: flaky webhook$/m);
      // The retry lands about 2 s later and is printed as an update of #4.
      for (let i = 0; i < 80 && !/: delivered$/m.test(out); i++) await new Promise((res) => setTimeout(res, 100));
      expect(out).toMatch(/^#4 Kustomization\/flux-system\/followed: delivery flux-system\/hook \(generic\) for flux-system\/quiet: delivered\n {4}attempt 2 \S+: delivered$/m);
      expect(out.match(/attempt 1 .*retry: .*upstream broke for \*{5}/g)).toHaveLength(1);
    } finally {
      follow.kill('SIGTERM');
    }

    await sink.waitFor(5);
    const bad = spawnSync(process.execPath, [cliPath, 'trace', '--metrics-url', 'http://127.0.0.1:9'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/herald trace: cannot reach http:\/\/127.0.0.1:9/);
  });

  it.skipIf(!existsSync(CHROMIUM))(`the page in chromium lists and filters events, loads nothing external and shows no Secret value${existsSync(CHROMIUM) ? '' : ` (skipped: ${CHROMIUM} is absent; apt-get install chromium)`}`, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const origins = new Set<string>();
      page.on('request', (req) => origins.add(new URL(req.url()).origin));
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const res = await page.goto(`${h.metricsUrl}/debug/events/ui`);
      expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");
      await page.waitForSelector('.event');
      const all = await page.locator('.event').count();
      expect(all).toBeGreaterThanOrEqual(3);
      await expect.poll(() => page.locator('.event.duplicate').count()).toBe(1);
      const text = await page.locator('#events').innerText();
      expect(text).toContain('flux-system/quiet: not matched: message matches exclusionList pattern "^Dependencies do not meet"');
      expect(text).toMatch(/delivery to flux-system\/hook \(generic\) for flux-system\/on-call: delivered, 2 attempt\(s\)/);

      await page.fill('#object', 'infra');
      await expect.poll(() => page.locator('.event').count()).toBe(1);
      await page.fill('#object', '');
      await page.fill('#alert', 'flux-system/on-call');
      await expect.poll(async () => (await page.locator('#events').innerText()).includes('infra') && !(await page.locator('#events').innerText()).includes('dedup: duplicate')).toBe(true);
      await page.fill('#alert', '');
      await page.fill('#provider', 'no-such-provider');
      await expect.poll(() => page.locator('.event').count()).toBe(0);

      const html = await page.content();
      expect(html).not.toContain(PATH_TOKEN);
      expect(html).not.toContain(HEADER_TOKEN);
      expect([...origins]).toEqual([new URL(h.metricsUrl).origin]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
