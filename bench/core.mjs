// Core event path benchmark (issue 2): bare fastify vs Herald with 10 and 10,000 Alerts, and Herald delivering to a webhook.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchEvent, imageNodeFlags, load, machine, rssOf, startChild, stopChild, writeSection } from './lib.mjs';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** Node flags for the Herald processes: by default the ones the container image ships with (Dockerfile NODE_OPTIONS). */
const heraldNodeFlags = process.env.BENCH_HERALD_NODE_FLAGS !== undefined ? process.env.BENCH_HERALD_NODE_FLAGS.split(' ').filter(Boolean) : imageNodeFlags;

/** An event no Alert matches, and one the delivery Alert matches. */
const unmatchedEvent = benchEvent('bench');
const deliveredEvent = benchEvent('delivery');

/** Case (c): this many of its 10,000 Alerts are all-namespace (issue 13), allowed by --cross-namespace-alert-namespaces. */
const allNamespaceAlerts = Number(process.env.BENCH_ALL_NAMESPACE_ALERTS ?? 50);

function alerts(n, { webhook, wide = 0 } = {}) {
  const docs = [`apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: hook, namespace: delivery }
spec: { type: generic, address: '${webhook ?? 'http://127.0.0.1:9/unused'}' }`];
  // Alerts spread over namespaces and kinds like a large multi-tenant cluster; none selects the bench namespace.
  const kinds = ['Kustomization', 'HelmRelease', 'GitRepository', 'OCIRepository'];
  // All-namespace Alerts in the allowed namespace: every Kustomization event is checked against those of its kind
  // (errors only, as a platform team would write them, so the bench's info event is a candidate but no match).
  for (let i = 0; i < wide; i++) {
    docs.push(`apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: wide-${i}, namespace: platform }
spec:
  providerRef: { name: hook }
  eventSeverity: error
  eventSources:
    - { kind: ${i % 2 === 0 ? 'Kustomization' : 'HelmRelease'}, name: '*', namespace: '*' }
  exclusionList: ['^Dependencies do not meet']`);
  }
  for (let i = 0; i < n - wide; i++) {
    docs.push(`apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: alert-${i}, namespace: tenant-${i % 500} }
spec:
  providerRef: { name: hook }
  eventSources:
    - { kind: ${kinds[i % kinds.length]}, name: '*' }
    - { kind: HelmRelease, name: 'app-${i}', namespace: apps }
  exclusionList: ['^Dependencies do not meet']`);
  }
  if (webhook) {
    docs.push(`apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: deliver, namespace: delivery }
spec:
  providerRef: { name: hook }
  eventSources: [{ kind: Kustomization, name: '*' }]`);
  }
  return docs.join('\n---\n') + '\n';
}

async function herald(dir, extraArgs = []) {
  // Info level, as deployed: Herald logs each dispatched event (as Flux does) but nothing for unmatched ones.
  const proc = await startChild([...heraldNodeFlags, 'dist/cli.js', 'serve', '--config-dir', dir, '--events-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0', ...extraArgs], { match: /"server":"events"/ });
  const metricsLine = proc.lines.find((l) => /"server":"metrics"/.test(l));
  return { ...proc, metricsUrl: metricsLine ? JSON.parse(metricsLine).address : undefined };
}

const dirs = [];
function configDir(text) {
  const d = mkdtempSync(path.join(tmpdir(), 'herald-bench-'));
  writeFileSync(path.join(d, 'alerts.yaml'), text);
  dirs.push(d);
  return d;
}

async function main() {
  let received = 0;
  const sink = createServer((req, res) => { req.resume(); req.on('end', () => { received++; res.writeHead(200).end(); }); });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const webhook = `http://127.0.0.1:${sink.address().port}/hook`;
  const results = {};

  // All three servers stay up and are measured in interleaved rounds, so a burst of load from elsewhere on
  // the machine hits every case alike; each case reports its median round.
  const bare = await startChild(['bench/bare-fastify.mjs']);
  const hb = await herald(configDir(alerts(10)));
  const hc = await herald(configDir(alerts(10_000, { wide: allNamespaceAlerts })), ['--cross-namespace-alert-namespaces', 'platform']);
  const idleRssC = await rssOf(hc.metricsUrl);
  const targets = { a: bare.url, b: hb.url, c: hc.url };
  for (const url of Object.values(targets)) await load(url + '/', { body: unmatchedEvent, duration: 2, connections });
  const runs = { a: [], b: [], c: [] };
  for (let round = 0; round < rounds; round++) {
    for (const key of ['a', 'b', 'c']) runs[key].push(await load(targets[key] + '/', { body: unmatchedEvent, duration, connections }));
  }
  const median = (list) => [...list].sort((x, y) => x.rps - y.rps)[Math.floor(list.length / 2)];
  for (const key of ['a', 'b', 'c']) results[key] = { ...median(runs[key]), all: runs[key].map((r) => Math.round(r.rps)) };
  results.b.rss = await rssOf(hb.metricsUrl);
  results.c.rss = await rssOf(hc.metricsUrl);
  results.c.idleRss = idleRssC;
  await Promise.all([stopChild(bare.child), stopChild(hb.child), stopChild(hc.child)]);

  const d = await herald(configDir(alerts(10, { webhook })));
  received = 0;
  results.d = await load(d.url + '/', { body: deliveredEvent, duration, connections });
  const accepted = results.d.codes['2xx'];
  const deadline = Date.now() + 30_000;
  while (received < accepted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  results.d.delivered = received;
  await stopChild(d.child);
  sink.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });

  const ratioB = results.b.rps / results.a.rps;
  const ratioC = results.c.p99 / Math.max(results.b.p99, 1);
  const mb = (x) => (x / 2 ** 20).toFixed(0);
  const row = (name, r) => `| ${name} | ${r.rps.toFixed(0)} | ${r.all ? r.all.join(' / ') : '–'} | ${r.p50} | ${r.p99} | ${r.codes['2xx']} | ${r.codes.non2xx + r.codes.errors} |${r.rss ? ` ${mb(r.rss)} MB` : ' –'} |`;
  const md = `## Core event path (issue 2)

Machine: ${machine()}. Command: \`npm run bench\` (bench/core.mjs; ${rounds} interleaved rounds of ${duration} s per case after a 2 s warm-up, ${connections} connections, autocannon in the bench process, each server in its own process; Herald runs with the Node flags the image ships, \`${heraldNodeFlags.join(' ') || 'none'}\`, the bare server with none). Events vary their revision so no request is a duplicate.

| case | req/s (median round) | req/s per round | p50 ms | p99 ms | 2xx | errors/non-2xx | RSS after load |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${row('(a) bare fastify, 202', results.a)}
${row('(b) Herald, 10 Alerts, no match', results.b)}
${row(`(c) Herald, 10,000 Alerts (${allNamespaceAlerts} of them all-namespace), no match`, results.c)}
${row('(d) Herald, delivering each event to a local webhook', results.d)}

- (b) / (a) throughput: **${(ratioB * 100).toFixed(0)}%** (target ≥ 60%).
- (c) p99 / (b) p99: **${ratioC.toFixed(2)}×** (target ≤ 1.5×; p99 is in whole ms, so a 1 ms floor is used for (b)).
- RSS with 10,000 Alerts: **${mb(results.c.idleRss)} MB** once loaded, before traffic (target ≤ 150 MB); ${mb(results.c.rss)} MB right after the load rounds, which is mostly garbage V8 has not collected yet. Herald runs with the image's \`${heraldNodeFlags.join(' ') || '(no flags)'}\`; the young generation it allows holds part of this RSS (run with \`BENCH_HERALD_NODE_FLAGS=\` for V8's own sizing, or another flag to compare).
- (d) every accepted event delivered: ${results.d.delivered} of ${accepted} received by the webhook.
`;
  writeSection('core', md);
  console.log(md);
}

main().catch((err) => { console.error(err); process.exit(1); });
