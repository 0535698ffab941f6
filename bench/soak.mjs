// Overload soak (issue 12): Herald with its default flags, the image's Node flags, and endpoints that fail or hang.
//   A. 100 events/s of 256 KiB to a webhook answering 500: resident memory, accepted and refused events.
//   B. A webhook that never answers behind 50 Alerts while events for a healthy webhook keep coming: the healthy
//      events accepted and delivered, the stuck provider's share, resident memory.
// Usage: npm run build && node bench/soak.mjs [seconds per scenario, default 15]
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { imageNodeFlags, machine, rssOf, startChild, stopChild, writeSection } from './lib.mjs';

const seconds = Number(process.argv[2] ?? 15);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function listen(server) {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${server.address().port}`;
}

function provider(name, url) {
  return `apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata: { name: ${name}, namespace: flux-system }\nspec: { type: generic, address: '${url}/hook' }\n---\n`;
}
function alert(name, providerName, kind) {
  return `apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata: { name: ${name}, namespace: flux-system }\nspec:\n  providerRef: { name: ${providerName} }\n  eventSources: [{ kind: ${kind}, name: '*' }]\n---\n`;
}

async function startHerald(yaml) {
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-soak-'));
  writeFileSync(path.join(dir, 'c.yaml'), yaml);
  const events = await startChild([...imageNodeFlags, 'dist/cli.js', 'serve', '--config-dir', dir, '--events-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0'], { match: /"server":"events".*"msg":"listening"/ });
  const metricsLine = events.lines.find((l) => /"server":"metrics"/.test(l));
  return { ...events, metricsUrl: JSON.parse(metricsLine).address, dir };
}

/** Posts `perSecond` events a second for `seconds`, `make(i)` giving each body; counts answers by status. */
async function drive(url, perSecond, make, metricsUrl) {
  const statuses = {};
  let maxRss = 0;
  const inflight = new Set();
  const sampler = setInterval(async () => { maxRss = Math.max(maxRss, await rssOf(metricsUrl).catch(() => 0)); }, 500);
  const started = Date.now();
  for (let i = 0; Date.now() - started < seconds * 1000; i++) {
    const due = started + (i * 1000) / perSecond;
    if (due > Date.now()) await sleep(due - Date.now());
    const { body, tag } = make(i);
    const p = fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then((r) => { r.body?.cancel(); const k = `${tag}:${r.status}`; statuses[k] = (statuses[k] ?? 0) + 1; }, () => { statuses[`${tag}:error`] = (statuses[`${tag}:error`] ?? 0) + 1; })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  clearInterval(sampler);
  maxRss = Math.max(maxRss, await rssOf(metricsUrl));
  return { statuses, maxRss };
}

function metric(text, name) {
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;

// A. 256 KiB events to a webhook answering 500.
const failing = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(500).end('failing')); });
const failingUrl = await listen(failing);
const a = await startHerald(provider('failing', failingUrl) + alert('all', 'failing', 'GitRepository'));
const big = 'x'.repeat(256 * 1024);
const ra = await drive(a.url, 100, (i) => ({ tag: 'event', body: JSON.stringify({ involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'repo' }, severity: 'info', message: `${i} ${big}` }) }), a.metricsUrl);
const ma = await (await fetch(`${a.metricsUrl}/metrics`)).text();
await stopChild(a.child);
failing.close();
rmSync(a.dir, { recursive: true, force: true });

// B. A hanging webhook behind 50 Alerts, a healthy one beside it.
const sockets = new Set();
const hanging = createNetServer((s) => { sockets.add(s); s.on('error', () => {}); });
const hangingUrl = await listen(hanging);
let delivered = 0;
const healthy = createServer((req, res) => { req.resume(); req.on('end', () => { delivered++; res.writeHead(200).end(); }); });
const healthyUrl = await listen(healthy);
let yaml = provider('stuck', hangingUrl) + provider('healthy', healthyUrl) + alert('healthy', 'healthy', 'Kustomization');
for (let i = 0; i < 50; i++) yaml += alert(`stuck-${i}`, 'stuck', 'GitRepository');
const b = await startHerald(yaml);
const rb = await drive(b.url, 200, (i) => (i % 2 === 0
  ? { tag: 'stuck', body: JSON.stringify({ involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'repo' }, severity: 'info', message: `stuck ${i} ${'s'.repeat(2048)}` }) }
  : { tag: 'healthy', body: JSON.stringify({ involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: 'app' }, severity: 'info', message: `healthy ${i}` }) }), b.metricsUrl);
await sleep(1000);
const mb = await (await fetch(`${b.metricsUrl}/metrics`)).text();
await stopChild(b.child);
for (const s of sockets) s.destroy();
hanging.close();
healthy.close();
rmSync(b.dir, { recursive: true, force: true });

const healthySent = Object.entries(rb.statuses).filter(([k]) => k.startsWith('healthy:')).reduce((s, [, v]) => s + v, 0);
const md = `## Overload soak (issue 12)

- Machine: ${machine()}. Command: \`npm run build && node bench/soak.mjs ${seconds}\` (${new Date().toISOString().slice(0, 10)}); Herald with default flags and the image's \`${imageNodeFlags.join(' ')}\`; load from the bench process.
- A. 100 events/s of 256 KiB for ${seconds} s to a webhook answering 500 (retried per Flux's schedule): answers ${JSON.stringify(ra.statuses)}; max RSS **${mib(ra.maxRss)}**; held at the end ${metric(ma, 'herald_outbox_pending_deliveries')} deliveries, ${mib(metric(ma, 'herald_outbox_pending_bytes'))} (provider share 64 MiB); refused ${metric(ma, 'herald_outbox_refused_total')}.
- B. 100 events/s for a webhook that never answers, behind 50 Alerts (5,000 deliveries/s), and 100 events/s for a healthy webhook, for ${seconds} s: answers ${JSON.stringify(rb.statuses)}; healthy events delivered **${delivered}/${healthySent}**; stuck provider held ${metric(mb, 'herald_outbox_pending_deliveries')} deliveries (share 10,000), refused ${metric(mb, 'herald_outbox_refused_total')}; max RSS **${mib(rb.maxRss)}**.
- Before issue 12 (main c2d1bab, from the issue): A reached 833–955 MiB RSS; in B every event got 503 after about 2 s.
`;
console.log(md);
writeSection('soak', md);
