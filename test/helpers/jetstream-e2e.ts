// End-to-end helpers for the JetStream outbox: config dirs, Flux events, posting many, counting arrivals at a sink.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cliPath, postEvent, startHerald, type HeraldProcess } from './herald-process.js';
import type { RecordedRequest } from './recording-server.js';

export interface SinkSpec {
  /** Provider (and Alert) name in namespace `apps`. */
  name: string;
  url: string;
  /** Provider timeout (default 5s). */
  timeout?: string;
}

/** One generic Provider and one Alert for Kustomization events per sink. */
export function writeConfigDir(sinks: SinkSpec[], dir = mkdtempSync(path.join(tmpdir(), 'herald-js-e2e-'))): string {
  const docs = sinks.flatMap((s) => [
    `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: ${s.name}, namespace: apps }
spec: { type: generic, address: '${s.url}/${s.name}', timeout: ${s.timeout ?? '5s'} }`,
    `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: ${s.name}, namespace: apps }
spec:
  providerRef: { name: ${s.name} }
  eventSources: [{ kind: Kustomization, name: '*' }]`,
  ]);
  writeFileSync(path.join(dir, 'herald.yaml'), docs.join('\n---\n') + '\n');
  return dir;
}

export function fluxEvent(key: string): Record<string, unknown> {
  return {
    involvedObject: { kind: 'Kustomization', namespace: 'apps', name: `app-${key}`, apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
    severity: 'info',
    timestamp: '2026-07-20T10:18:45Z',
    message: `event ${key}`,
    reason: 'ReconciliationSucceeded',
    metadata: { revision: `main@sha1:${key}` },
    reportingController: 'kustomize-controller',
  };
}

/** The event key a delivery at the sink carries (from its message). */
export function keyOf(r: RecordedRequest): string {
  const m = /^event (.+)$/.exec((JSON.parse(r.text) as { message: string }).message);
  if (!m) throw new Error(`unexpected body at the sink: ${r.text.slice(0, 200)}`);
  return m[1]!;
}

/** Arrivals per event key. */
export function countByKey(requests: RecordedRequest[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(keyOf(r), (counts.get(keyOf(r)) ?? 0) + 1);
  return counts;
}

/** Posts events with bounded parallelism; returns each key's status code. */
export async function postMany(targets: string[], keys: string[], parallel = 32): Promise<Map<string, number>> {
  const status = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const i = next++;
      const key = keys[i]!;
      const res = await postEvent(targets[i % targets.length]!, fluxEvent(key)).catch(() => undefined);
      await res?.arrayBuffer();
      status.set(key, res?.status ?? 0);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return status;
}

export function jetstreamArgs(natsUrl: string, extra: string[] = []): string[] {
  return ['--outbox', 'jetstream', '--nats-url', natsUrl, '--log-level', 'info', ...extra];
}

/** Starts `herald serve --outbox jetstream`; unless told not to, waits until its outbox can store (the event server answers 503 before). */
export async function startJetStreamHerald(configDir: string, natsUrl: string, extra: string[] = [], waitForNats = true): Promise<HeraldProcess> {
  // /readyz waits for NATS in jetstream mode, so a start during a NATS outage must not wait for it.
  const h = await startHerald({ configDir, args: jetstreamArgs(natsUrl, extra), timeoutMs: 20_000, waitReady: waitForNats });
  if (waitForNats) await h.waitForLog('NATS JetStream ready', 15_000);
  return h;
}

const run = promisify(execFile);

/** Runs `herald outbox ...` and returns stdout. */
export async function heraldOutbox(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [cliPath, 'outbox', ...args], { timeout: 20_000 });
  return stdout;
}

/** A metric's value from a Prometheus text exposition. */
export async function metricValue(metricsUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
