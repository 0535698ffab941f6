// Outbox benchmark (issue 6): deliveries per second to a local webhook, memory vs JetStream outbox, 1 and 3 replicas.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { benchEvent, imageNodeFlags, machine, stopChild, writeSection } from './lib.mjs';
import { freePort, startNatsServer } from '../test/helpers/nats-server.ts';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

/** Matched by the one Alert. */
const event = benchEvent('delivery');

function manifests(webhook) {
  return `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: hook, namespace: delivery }
spec: { type: generic, address: '${webhook}' }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: deliver, namespace: delivery }
spec:
  providerRef: { name: hook }
  eventSources: [{ kind: Kustomization, name: '*' }]
`;
}

/** Herald on fixed free ports with --log-level error (no per-event log lines), ready once an event is accepted. */
async function startHerald(dir, extra) {
  const events = await freePort();
  const metrics = await freePort();
  const health = await freePort();
  const child = spawn(process.execPath, [...imageNodeFlags, 'dist/cli.js', 'serve', '--config-dir', dir, '--events-addr', `127.0.0.1:${events}`, '--metrics-addr', `127.0.0.1:${metrics}`, '--health-addr', `127.0.0.1:${health}`, '--log-level', 'error', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Until NATS is connected the warm-up events are refused (and logged); keep the log for a crash report only.
  const errors = [];
  child.stderr.on('data', (chunk) => {
    errors.push(...chunk.toString().split('\n').filter(Boolean));
    errors.splice(0, Math.max(0, errors.length - 20));
  });
  const url = `http://127.0.0.1:${events}/`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`herald exited ${child.exitCode}:\n${errors.slice(-20).join('\n')}`);
    const status = await fetch(url, { method: 'POST', body: event.replace('[<id>]', `warmup-${Math.random()}`) }).then((r) => r.status, () => 0);
    if (status === 202) return { child, url };
    if (Date.now() > deadline) throw new Error(`herald not accepting events (last status ${status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The pid of the nats-server listening on `port` (the test helper does not expose it). */
function natsPid(port) {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (/nats-server$/.test(args[0]) && args[args.indexOf('-p') + 1] === String(port)) return Number(pid);
    } catch { /* gone */ }
  }
  return undefined;
}

async function runCase(sink, { outbox, replicas }) {
  const nats = outbox === 'jetstream' ? await startNatsServer({ jetstream: true }) : undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-bench-outbox-'));
  writeFileSync(path.join(dir, 'alerts.yaml'), manifests(sink.url));
  const args = outbox === 'jetstream' ? ['--outbox', 'jetstream', '--nats-url', nats.url] : [];
  const heralds = [];
  try {
    for (let i = 0; i < replicas; i++) heralds.push(await startHerald(dir, args));
    const run = (secs) => Promise.all(heralds.map((h) => autocannon({
      url: h.url, method: 'POST', headers: { 'content-type': 'application/json' }, body: event, idReplacement: true,
      duration: secs, connections: Math.max(1, Math.round(connections / replicas)),
    })));
    // Warm-up, then let it drain.
    await run(2);
    await sink.drain(30_000);
    sink.reset();
    const pids = { herald: heralds.map((h) => h.child.pid), nats: nats ? [natsPid(nats.port)].filter(Boolean) : [] };
    const cpu = () => Object.fromEntries(Object.entries(pids).map(([k, list]) => [k, list.reduce((n, pid) => n + cpuSeconds(pid), 0)]));
    const cpuBefore = cpu();
    const start = Date.now();
    const results = await run(duration);
    const accepted = results.reduce((n, r) => n + r['2xx'], 0);
    const refused = results.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
    const acceptedBy = Date.now();
    await sink.waitFor(accepted, 180_000);
    const lastAt = sink.lastAt();
    const cpuAfter = cpu();
    // CPU milliseconds per delivery, Herald (all replicas) and nats-server.
    const cpuPer = (k) => ((cpuAfter[k] - cpuBefore[k]) * 1000) / accepted;
    const p99 = Math.max(...results.map((r) => r.latency.p99));
    return {
      outbox, replicas, accepted, refused, received: sink.count(),
      deliveriesPerSecond: accepted / ((lastAt - start) / 1000),
      acceptRate: accepted / ((acceptedBy - start) / 1000),
      backlogSeconds: Math.max(0, (lastAt - acceptedBy) / 1000),
      p99,
      heraldCpuMs: cpuPer('herald'),
      natsCpuMs: pids.nats.length ? cpuPer('nats') : undefined,
    };
  } finally {
    for (const h of heralds) await stopChild(h.child);
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startSink() {
  let count = 0;
  let last = 0;
  const waiters = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      last = Date.now();
      res.writeHead(200).end();
      for (const w of [...waiters]) if (count >= w.n) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    count: () => count,
    lastAt: () => last,
    reset() { count = 0; last = 0; },
    /** Resolves once no request arrived for half a second. */
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && (last === 0 || Date.now() - last < 500)) await new Promise((r) => setTimeout(r, 100));
    },
    waitFor(n, timeoutMs) {
      if (count >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`sink: ${count} of ${n} deliveries after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => { clearTimeout(t); resolve(); } });
      });
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

async function main() {
  const sink = await startSink();
  const only = process.env.BENCH_OUTBOX_CASES?.split(',');
  const cases = [
    { outbox: 'memory', replicas: 1 },
    { outbox: 'jetstream', replicas: 1 },
    { outbox: 'memory', replicas: 3 },
    { outbox: 'jetstream', replicas: 3 },
  ].filter((c) => !only || only.includes(`${c.outbox}:${c.replicas}`));
  const results = [];
  for (const c of cases) {
    const r = await runCase(sink, c);
    results.push(r);
    console.log(`${c.outbox} × ${c.replicas}: ${r.deliveriesPerSecond.toFixed(0)} deliveries/s (${r.accepted} accepted, ${r.received} received; CPU ms per delivery: Herald ${r.heraldCpuMs.toFixed(3)}, nats-server ${r.natsCpuMs?.toFixed(3) ?? '-'})`);
  }
  await sink.close();
  if (only) return;
  const find = (o, n) => results.find((r) => r.outbox === o && r.replicas === n);
  const ratio = find('jetstream', 1).deliveriesPerSecond / find('memory', 1).deliveriesPerSecond;
  const row = (r) => `| ${r.outbox} | ${r.replicas} | **${r.deliveriesPerSecond.toFixed(0)}** | ${r.acceptRate.toFixed(0)} | ${r.p99} | ${r.accepted} | ${r.received} | ${r.refused} | ${r.backlogSeconds.toFixed(1)} | ${r.heraldCpuMs.toFixed(2)} | ${r.natsCpuMs === undefined ? '–' : r.natsCpuMs.toFixed(2)} |`;
  const md = `## Outbox: memory vs JetStream (issue 6)

Machine: ${machine()}. Command: \`npm run bench -- outbox\` (bench/outbox.mjs; ${duration} s of load after a 2 s warm-up, ${connections} autocannon connections split over the replicas, one generic Provider posting to a local webhook in the bench process; Herald with \`--log-level error\` and the image's \`${imageNodeFlags.join(' ')}\`, default \`--delivery-concurrency\`; JetStream cases against a fresh nats-server (file storage) on loopback, started by the benchmark). Every event is new (no 429) and matches one Alert, so one event is one delivery. Deliveries/s = accepted events ÷ time from the start of the load until the last of them reached the webhook.

| outbox | replicas | deliveries/s | events accepted/s | p99 accept ms | accepted | delivered | refused | backlog after load s | Herald CPU ms/delivery | nats-server CPU ms/delivery |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${results.map(row).join('\n')}

- JetStream / memory on one replica: **${(ratio * 100).toFixed(0)}%** (target ≥ 50%).
- Every accepted event was delivered in every case (delivered ≥ accepted; delivered counts the webhook's requests during the measured run).
- All processes (Herald replicas, nats-server, load generator and webhook) share the same ${machine().split(' ')[0]} cores, so three replicas measure contention on one machine, not scale-out across nodes.
`;
  writeSection('outbox', md);
  console.log(md);
}

main().catch((err) => { console.error(err); process.exit(1); });
