// Shared bench plumbing: child processes that announce their address, autocannon runs, RESULTS.md sections.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Node flags the image runs Herald with (the Dockerfile's NODE_OPTIONS), so that benchmarks measure the same. */
export const imageNodeFlags = /^ENV NODE_OPTIONS=(.*)$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1]?.split(' ').filter(Boolean) ?? [];

/** Starts a node child and resolves with its first logged {address} and the process. */
export function startChild(args, { match = /"msg":"listening"/, pick = (rec) => rec.address, env = {} } = {}) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        lines.push(line);
        if (match.test(line)) {
          try {
            const rec = JSON.parse(line);
            const v = pick(rec);
            if (v) resolve({ child, url: v, lines });
          } catch { /* not JSON */ }
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}:\n${lines.slice(-20).join('\n')}`)));
  });
}

export async function stopChild(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Runs autocannon; `[<id>]` in the body is replaced per request so dedup never answers 429. */
export async function load(url, { body, duration = 10, connections = 32, expectStatus = 202 }) {
  const result = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, idReplacement: true, duration, connections });
  const codes = { '2xx': result['2xx'], non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts };
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    codes,
    ok: result.non2xx === 0 && result.errors === 0 && expectStatus === 202,
  };
}

export async function rssOf(metricsUrl) {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const m = /^process_resident_memory_bytes (\S+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

export function machine() {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, ${os.type()} ${os.release()}`;
}

/** Replaces (or appends) the section between <!-- name:start --> and <!-- name:end --> in bench/RESULTS.md. */
export function writeSection(name, markdown) {
  const file = path.join(root, 'bench/RESULTS.md');
  const start = `<!-- ${name}:start -->`, end = `<!-- ${name}:end -->`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nWritten by `npm run bench`; every ratio compares figures measured in the same run.\n';
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = text.indexOf(start), j = text.indexOf(end);
  text = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}

/**
 * A Kustomization event as kustomize-controller sends it, in `namespace`; `[<id>]` in the revision is replaced per
 * request by autocannon (idReplacement) so no event is a duplicate (no 429).
 */
export function benchEvent(namespace) {
  return JSON.stringify({
    involvedObject: { kind: 'Kustomization', namespace, name: 'apps', uid: '234b7bd9-86a5-4bf1-aede-08062828d1eb', apiVersion: 'kustomize.toolkit.fluxcd.io/v1', resourceVersion: '918273' },
    severity: 'info', timestamp: '2026-07-20T10:15:30Z',
    message: 'Deployment/apps/podinfo configured\nService/apps/podinfo configured',
    reason: 'Progressing',
    metadata: { 'kustomize.toolkit.fluxcd.io/revision': 'main@sha1:[<id>]' },
    reportingController: 'kustomize-controller', reportingInstance: 'kustomize-controller-6b8d9f7c5-tq2wz',
  });
}

/** User+system CPU seconds a process has used so far, from /proc/<pid>/stat (Linux; clock ticks of 1/100 s). */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A loopback port free right now. */
export async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** One generic Provider posting to `address` and one Alert sending it every Kustomization event in `namespace`. */
export function webhookManifests(namespace, address) {
  return `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: hook, namespace: ${namespace} }
spec: { type: generic, address: "${address}" }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: all, namespace: ${namespace} }
spec:
  providerRef: { name: hook }
  eventSources: [{ kind: Kustomization, name: '*' }]
`;
}
