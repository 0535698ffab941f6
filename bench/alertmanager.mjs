// Herald vs Alertmanager (issue 15): "HTTP in, webhook out" side by side, same load generator, same webhook process.
// Herald: one Alert + one generic Provider. Alertmanager: one webhook receiver, every alert its own group
// (group_by ['...'], group_wait 0s). Rounds alternate between the two; per round a saturating phase (delivered/s,
// CPU per delivered notification, RSS) and a fixed 1,000 events/s phase (end-to-end latency at the webhook).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { cpuSeconds, freePort, imageNodeFlags, machine, root, startChild, stopChild, webhookManifests, writeSection } from './lib.mjs';

const AM_BIN = process.env.BENCH_ALERTMANAGER ?? '/usr/bin/prometheus-alertmanager';
const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const fixedRate = Number(process.env.BENCH_RATE ?? 1000);
/** Extra `herald serve` flags, e.g. BENCH_HERALD_ARGS='--delivery-concurrency 64' (default: none, the defaults). */
const heraldArgs = (process.env.BENCH_HERALD_ARGS ?? '').split(' ').filter(Boolean);
/** The Node floor (bench/relay-floor.mjs) as a third row; BENCH_FLOOR=0 leaves it out. */
const withFloor = process.env.BENCH_FLOOR !== '0';
const FLOOR = 'Node relay (floor)';
/**
 * Optional before-and-after row: another built checkout run the same way (BENCH_BASELINE_ROOT), with its own image
 * flags (BENCH_BASELINE_NODE_FLAGS, default this one's) and flags (BENCH_BASELINE_ARGS); BENCH_BASELINE_LABEL names it.
 */
const baselineRoot = process.env.BENCH_BASELINE_ROOT;
const BASELINE = `Herald ${process.env.BENCH_BASELINE_LABEL ?? 'baseline'}`;
const words = (v) => (v ?? '').split(' ').filter(Boolean);

function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function waitFor(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let seq = 0;
/** A new event per request: unique revision (no 429) and the send time, which the webhook subtracts on arrival. */
function heraldBody() {
  const id = `${process.pid}-${++seq}`;
  return JSON.stringify({
    involvedObject: { kind: 'Kustomization', namespace: 'bench', name: 'apps', uid: '234b7bd9-86a5-4bf1-aede-08062828d1eb', apiVersion: 'kustomize.toolkit.fluxcd.io/v1', resourceVersion: '918273' },
    severity: 'info', timestamp: '2026-07-20T10:15:30Z',
    message: 'Deployment/apps/podinfo configured\nService/apps/podinfo configured',
    reason: 'Progressing',
    metadata: { 'kustomize.toolkit.fluxcd.io/revision': `main@sha1:${id}`, 'kustomize.toolkit.fluxcd.io/sent': String(Date.now()) },
    reportingController: 'kustomize-controller', reportingInstance: 'kustomize-controller-6b8d9f7c5-tq2wz',
  });
}

/** The same content as one Alertmanager alert; the unique `id` label makes it its own group. */
function alertmanagerBody() {
  const id = `${process.pid}-${++seq}`;
  return JSON.stringify([{
    labels: { alertname: 'KustomizationProgressing', namespace: 'bench', name: 'apps', reason: 'Progressing', id },
    annotations: { summary: 'Deployment/apps/podinfo configured\nService/apps/podinfo configured', revision: `main@sha1:${id}`, sent: String(Date.now()) },
  }]);
}

/** `herald serve` from a checkout (this one, or BENCH_BASELINE_ROOT for the before-and-after row). */
async function startHerald(dir, webhook, { name = 'Herald', cwd = root, nodeFlags = imageNodeFlags, args = heraldArgs } = {}) {
  writeFileSync(path.join(dir, 'herald.yaml'), webhookManifests('bench', `${webhook}/hook`));
  const [events, metrics, health] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [...nodeFlags, 'dist/cli.js', 'serve', '--config-dir', dir, '--log-level', 'error',
    '--events-addr', `127.0.0.1:${events}`, '--metrics-addr', `127.0.0.1:${metrics}`, '--health-addr', `127.0.0.1:${health}`, ...args], { cwd, stdio: 'ignore' });
  const url = `http://127.0.0.1:${events}`;
  // A malformed body is answered 400 without touching any Alert: the server is up.
  await waitFor(async () => (await fetch(`${url}/`, { method: 'POST', body: '{' })).status === 400, name);
  return { name, child, url, path: '/', body: heraldBody };
}

async function startAlertmanager(dir, webhook) {
  writeFileSync(path.join(dir, 'alertmanager.yml'), `route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 24h
receivers:
  - name: hook
    webhook_configs:
      - url: "${webhook}/hook"
        send_resolved: false
`);
  const port = await freePort();
  const child = spawn(AM_BIN, [`--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=error'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/-/ready`)).status === 200, 'alertmanager');
  return { name: 'Alertmanager', child, url, path: '/api/v2/alerts', body: alertmanagerBody };
}

async function stats(webhook) {
  return (await fetch(`${webhook}/__stats`)).json();
}

/** Waits until the webhook has `n` notifications, or nothing arrived for 5 s. */
async function drain(webhook, n) {
  let last = -1, since = Date.now();
  for (;;) {
    const s = await stats(webhook);
    if (s.count >= n) return s;
    if (s.count !== last) { last = s.count; since = Date.now(); }
    if (Date.now() - since > 5000) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function phase(target, webhook, webhookPid, opts) {
  await fetch(`${webhook}/__reset`, { method: 'POST' });
  const cpu0 = { target: cpuSeconds(target.child.pid), webhook: cpuSeconds(webhookPid) };
  const t0 = Date.now();
  const r = await autocannon({
    url: target.url, duration, connections: opts.connections, ...(opts.rate ? { overallRate: opts.rate } : {}),
    requests: [{ method: 'POST', path: target.path, headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: target.body() }) }],
  });
  const accepted = r['2xx'];
  const s = await drain(webhook, accepted);
  const cpu1 = { target: cpuSeconds(target.child.pid), webhook: cpuSeconds(webhookPid) };
  const delivered = s.count;
  return {
    accepted, refused: r.non2xx + r.errors + r.timeouts, delivered,
    perSecond: delivered / Math.max(0.001, (s.lastAt - t0) / 1000),
    cpuMs: ((cpu1.target - cpu0.target) * 1000) / Math.max(1, delivered),
    webhookCpuMs: ((cpu1.webhook - cpu0.webhook) * 1000) / Math.max(1, delivered),
    p50: s.p50, p99: s.p99,
    rss: rssBytes(target.child.pid),
  };
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

async function main() {
  const haveAm = existsSync(AM_BIN);
  if (!haveAm) console.log(`Alertmanager not found at ${AM_BIN}: install it with \`sudo apt-get install prometheus-alertmanager\` (or set BENCH_ALERTMANAGER); skipping the peer rows.`);
  const hook = await startChild(['bench/latency-webhook.mjs']);
  const webhook = hook.url;
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-bench-am-'));
  const targets = [];
  let baseDir;
  const load = [];
  try {
    targets.push(await startHerald(dir, webhook));
    if (baselineRoot) {
      baseDir = mkdtempSync(path.join(tmpdir(), 'herald-bench-am-base-'));
      targets.push(await startHerald(baseDir, webhook, {
        name: BASELINE, cwd: path.resolve(baselineRoot), args: words(process.env.BENCH_BASELINE_ARGS),
        nodeFlags: process.env.BENCH_BASELINE_NODE_FLAGS !== undefined ? words(process.env.BENCH_BASELINE_NODE_FLAGS) : imageNodeFlags,
      }));
    }
    if (haveAm) targets.push(await startAlertmanager(dir, webhook));
    if (withFloor) {
      const relay = await startChild(['bench/relay-floor.mjs', `${webhook}/hook`]);
      targets.push({ name: FLOOR, child: relay.child, url: relay.url, path: '/', body: heraldBody });
    }
    const results = Object.fromEntries(targets.map((t) => [t.name, { max: [], fixed: [] }]));
    // Warm-up (JIT, connection pools), not measured.
    for (const t of targets) await phase(t, webhook, hook.child.pid, { connections });
    for (let round = 0; round < rounds; round++) {
      load.push(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const max = await phase(t, webhook, hook.child.pid, { connections });
        const fixed = await phase(t, webhook, hook.child.pid, { connections: 10, rate: fixedRate });
        results[t.name].max.push(max);
        results[t.name].fixed.push(fixed);
        console.log(`${t.name} round ${round + 1}: ${max.delivered}/${max.accepted} delivered at ${max.perSecond.toFixed(0)}/s, ${max.cpuMs.toFixed(3)} ms CPU each (webhook ${max.webhookCpuMs.toFixed(3)}), RSS ${(max.rss / 2 ** 20).toFixed(0)} MB; at ${fixedRate}/s: ${fixed.delivered}/${fixed.accepted} delivered, p50 ${fixed.p50} ms, p99 ${fixed.p99} ms, ${fixed.cpuMs.toFixed(3)} ms CPU each`);
      }
    }
    load.push(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
    const m = (name, ph, k) => median(results[name][ph].map((x) => x[k]));
    // Median of the per-round ratios: the systems of one round run within a minute of each other, so a machine whose
    // speed drifts over minutes (a shared VM) moves them alike; read these when the rounds' absolute values spread.
    const paired = (a, b, k) => median(results[a].max.map((x, i) => x[k] / results[b].max[i][k]));
    const pairedText = (a, b) => `per-round ratios: CPU ${(paired(a, b, 'cpuMs') * 100).toFixed(0)}%, delivered/s ${paired(a, b, 'perSecond').toFixed(2)}×`;
    const row = (name) => `| ${name} | **${m(name, 'max', 'perSecond').toFixed(0)}** | ${results[name].max.map((x) => x.perSecond.toFixed(0)).join(' / ')} | **${m(name, 'max', 'cpuMs').toFixed(3)}** | ${m(name, 'max', 'webhookCpuMs').toFixed(3)} | ${m(name, 'max', 'p50')} / ${m(name, 'max', 'p99')} | ${m(name, 'fixed', 'p50')} / **${m(name, 'fixed', 'p99')}** | ${m(name, 'fixed', 'cpuMs').toFixed(3)} | ${(m(name, 'max', 'rss') / 2 ** 20).toFixed(0)} MB | ${results[name].max.reduce((n, x) => n + x.delivered, 0)} of ${results[name].max.reduce((n, x) => n + x.accepted, 0)} |`;
    const lines = [];
    const hp99 = m('Herald', 'fixed', 'p99');
    if (haveAm) {
      const cpuRatio = m('Herald', 'max', 'cpuMs') / m('Alertmanager', 'max', 'cpuMs');
      const rateRatio = m('Herald', 'max', 'perSecond') / m('Alertmanager', 'max', 'perSecond');
      lines.push(`- CPU per delivered notification, Herald / Alertmanager: **${(cpuRatio * 100).toFixed(0)}%** (target ≤ 25%: ${cpuRatio <= 0.25 ? 'met' : 'not met'}).`);
      lines.push(`- Delivered/s, Herald / Alertmanager: **${rateRatio.toFixed(2)}×** (target ≥ 2×: ${rateRatio >= 2 ? 'met' : 'not met'}).`);
      lines.push(`- Herald / Alertmanager, median of the ${pairedText('Herald', 'Alertmanager')}.`);
    } else {
      lines.push(`- Alertmanager not installed (\`sudo apt-get install prometheus-alertmanager\`): peer rows skipped.`);
    }
    lines.push(`- Herald p99 end-to-end at ${fixedRate} events/s: **${hp99} ms** (target ≤ 20 ms: ${hp99 <= 20 ? 'met' : 'not met'}).`);
    if (baselineRoot) {
      lines.push(`- Herald / ${BASELINE}, same run: CPU per notification **${((m('Herald', 'max', 'cpuMs') / m(BASELINE, 'max', 'cpuMs')) * 100).toFixed(0)}%**, delivered/s **${(m('Herald', 'max', 'perSecond') / m(BASELINE, 'max', 'perSecond')).toFixed(2)}×**, p99 at ${fixedRate}/s ${m(BASELINE, 'fixed', 'p99')} → ${hp99} ms; median of the ${pairedText('Herald', BASELINE)}.`);
      if (haveAm) lines.push(`- ${BASELINE} / Alertmanager: CPU per notification **${((m(BASELINE, 'max', 'cpuMs') / m('Alertmanager', 'max', 'cpuMs')) * 100).toFixed(0)}%**, delivered/s **${(m(BASELINE, 'max', 'perSecond') / m('Alertmanager', 'max', 'perSecond')).toFixed(2)}×**.`);
    }
    if (withFloor) {
      const floorCpu = m(FLOOR, 'max', 'cpuMs');
      lines.push(`- Herald CPU per notification / the Node relay floor's: **${(m('Herald', 'max', 'cpuMs') / floorCpu).toFixed(2)}×**; delivered/s, Herald / floor: **${(m('Herald', 'max', 'perSecond') / m(FLOOR, 'max', 'perSecond')).toFixed(2)}×**; median of the ${pairedText('Herald', FLOOR)}.`);
      if (haveAm) lines.push(`- The floor itself (Node's HTTP server and undici, no Herald code) / Alertmanager: CPU per notification **${((floorCpu / m('Alertmanager', 'max', 'cpuMs')) * 100).toFixed(0)}%**, delivered/s **${(m(FLOOR, 'max', 'perSecond') / m('Alertmanager', 'max', 'perSecond')).toFixed(2)}×**.`);
    }
    const md = `## Herald vs Alertmanager: HTTP in, webhook out (issue 15)

Machine: ${machine()}${haveAm ? `; Alertmanager ${amVersion()}` : ''}. Command: \`npm run build && node bench/alertmanager.mjs\` (also \`npm run bench -- alertmanager\`). One warm-up phase each, then ${rounds} alternating rounds; per round and system a saturating phase (${duration} s, ${connections} autocannon connections in the bench process) and a fixed-rate phase (${duration} s at ${fixedRate} events/s, 10 connections). The webhook runs in its own process and timestamps arrivals; each event/alert carries its send time, so latency is load generator → webhook. Herald: one Alert, one generic Provider, \`--log-level error\`, \`${imageNodeFlags.join(' ')}\`, memory outbox, ${heraldArgs.length ? `\`${heraldArgs.join(' ')}\`` : 'default `--delivery-concurrency`'}. Alertmanager: one webhook receiver, \`group_by: ['...']\`, \`group_wait: 0s\`, no cluster.${baselineRoot ? ` ${BASELINE}: \`${baselineRoot}\` run the same way with Node flags \`${(process.env.BENCH_BASELINE_NODE_FLAGS !== undefined ? words(process.env.BENCH_BASELINE_NODE_FLAGS) : imageNodeFlags).join(' ') || '(none)'}\`${process.env.BENCH_BASELINE_ARGS ? ` and \`${process.env.BENCH_BASELINE_ARGS}\`` : ''}.` : ''}${withFloor ? ` ${FLOOR}: \`bench/relay-floor.mjs\`, node:http in, JSON parsed and re-encoded, 202, undici keep-alive POST out; none of Herald's validation, matching, dedup, outbox, retries, metrics or logs: what Node's HTTP stack alone costs.` : ''} Delivered/s = webhook notifications ÷ time from the start of the load to the last arrival. CPU from /proc/<pid>/stat (user + system) ÷ notifications delivered in the phase. Medians over rounds. 1-minute load average per round: ${load.join(' → ')} (the machine is shared: other work ran during the benchmark, and it hits both systems alike only on average).

| system | delivered/s (median) | per round | CPU ms per notification | webhook CPU ms per notification | p50 / p99 ms, saturated | p50 / p99 ms at ${fixedRate}/s | CPU ms per notification at ${fixedRate}/s | RSS after load | delivered of accepted (saturated) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${targets.map((t) => row(t.name)).join('\n')}

${lines.join('\n')}
`;
    console.log(md);
    if (process.env.BENCH_WRITE !== '0') writeSection('alertmanager', md);
  } finally {
    for (const t of targets) await stopChild(t.child);
    await stopChild(hook.child);
    rmSync(dir, { recursive: true, force: true });
    if (baseDir) rmSync(baseDir, { recursive: true, force: true });
  }
}

function amVersion() {
  try {
    const out = spawnSync(AM_BIN, ['--version'], { encoding: 'utf8' });
    return /version (\S+)/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? '?';
  } catch {
    return '?';
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
