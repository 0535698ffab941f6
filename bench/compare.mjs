// A/B of the delivery path: this build against another checkout's build (BENCH_BASELINE_ROOT, built), in one run.
// Each Herald posts every event to the same local webhook; rounds alternate between the two builds so that load
// from elsewhere on the machine hits both alike. Reports delivered/s and Herald CPU per delivered notification.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { benchEvent, cpuSeconds, freePort, imageNodeFlags, machine, root, webhookManifests, writeSection } from './lib.mjs';

const baseline = process.env.BENCH_BASELINE_ROOT;
if (!baseline) {
  console.error('set BENCH_BASELINE_ROOT to a built checkout to compare against (git worktree add /tmp/base <rev> && cd /tmp/base && npm ci && npm run build)');
  process.exit(2);
}
const duration = Number(process.env.BENCH_DURATION ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

/** Starts `herald serve` from a checkout's dist/; `extra` are flags for that build only (BENCH_CURRENT_ARGS). */
async function startHerald(dir, configDir, extra = [], nodeFlags = imageNodeFlags) {
  const [events, metrics, health] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [...nodeFlags, 'dist/cli.js', 'serve', '--config-dir', configDir, '--log-level', 'error',
    '--events-addr', `127.0.0.1:${events}`, '--metrics-addr', `127.0.0.1:${metrics}`, '--health-addr', `127.0.0.1:${health}`, ...extra], { cwd: dir, stdio: 'ignore' });
  const url = `http://127.0.0.1:${events}/`;
  for (let i = 0; i < 100; i++) {
    // A malformed body is answered 400 without touching any Alert: the server is up.
    const res = await fetch(url, { method: 'POST', body: '{' }).catch(() => undefined);
    if (res?.status === 400) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`herald in ${dir} did not start`);
}

async function main() {
  let received = 0;
  const sink = createServer((req, res) => { req.resume(); req.on('end', () => { received++; res.writeHead(200).end(); }); });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-compare-'));
  writeFileSync(path.join(dir, 'herald.yaml'), webhookManifests('bench', `http://127.0.0.1:${sink.address().port}/hook`));
  const builds = { current: root, baseline: path.resolve(baseline) };
  const procs = {};
  for (const [name, d] of Object.entries(builds)) {
    const words = (v) => (v ?? '').split(' ').filter(Boolean);
    procs[name] = name === 'current'
      ? await startHerald(d, dir, words(process.env.BENCH_CURRENT_ARGS))
      : await startHerald(d, dir, words(process.env.BENCH_BASELINE_ARGS), process.env.BENCH_BASELINE_NODE_FLAGS !== undefined ? words(process.env.BENCH_BASELINE_NODE_FLAGS) : imageNodeFlags);
  }
  const body = benchEvent('bench');
  const results = { current: [], baseline: [] };
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? ['baseline', 'current'] : ['current', 'baseline']) {
      const { child, url } = procs[name];
      received = 0;
      const cpu0 = cpuSeconds(child.pid);
      const t0 = Date.now();
      const r = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, idReplacement: true, duration, connections });
      const accepted = r['2xx'];
      const deadline = Date.now() + 60_000;
      while (received < accepted && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      const seconds = (Date.now() - t0) / 1000;
      const cpu = cpuSeconds(child.pid) - cpu0;
      results[name].push({ delivered: received, perSecond: received / seconds, cpuMs: (cpu * 1000) / Math.max(received, 1), accepted });
      console.log(`${name} round ${round + 1}: ${received} delivered of ${accepted} accepted, ${(received / seconds).toFixed(0)}/s, ${((cpu * 1000) / received).toFixed(3)} ms CPU each`);
    }
  }
  for (const { child } of Object.values(procs)) child.kill('SIGTERM');
  sink.close();
  rmSync(dir, { recursive: true, force: true });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (name) => {
    const r = results[name];
    return `| ${name} | ${median(r.map((x) => x.perSecond)).toFixed(0)} | ${r.map((x) => x.perSecond.toFixed(0)).join(' / ')} | ${median(r.map((x) => x.cpuMs)).toFixed(3)} |`;
  };
  const ratio = median(results.current.map((x) => x.perSecond)) / median(results.baseline.map((x) => x.perSecond));
  const cpuRatio = median(results.current.map((x) => x.cpuMs)) / median(results.baseline.map((x) => x.cpuMs));
  // The two builds of one round ran back to back, so a machine whose speed drifts over minutes (a shared VM) moves
  // both alike: the median of the per-round ratios is the figure to read when the rounds' absolute values spread.
  const paired = (f) => median(results.current.map((x, i) => f(x) / f(results.baseline[i])));
  const pairedRatio = paired((x) => x.perSecond);
  const pairedCpu = paired((x) => x.cpuMs);
  const baseFlags = process.env.BENCH_BASELINE_NODE_FLAGS;
  const baseArgs = process.env.BENCH_BASELINE_ARGS;
  const baselineSetup = `${baseFlags !== undefined ? ` It runs with the Node flags \`${baseFlags || '(none)'}\`` : ''}${baseArgs ? `${baseFlags !== undefined ? ' and' : ' It runs with'} \`${baseArgs}\`` : ''}${baseFlags !== undefined || baseArgs ? `${process.env.BENCH_BASELINE_WHY ? ` (${process.env.BENCH_BASELINE_WHY})` : ''}.` : ''}`;
  const md = `## Delivery path A/B (${process.env.BENCH_TITLE ?? 'provider kit'})

Machine: ${machine()}. Command: \`BENCH_BASELINE_ROOT=<built checkout> node bench/compare.mjs\` (${rounds} alternating rounds of ${duration} s per build, ${connections} connections; one Alert, one generic Provider posting to a webhook in the bench process; Herald with \`--log-level error\` and the image's \`${imageNodeFlags.join(' ')}\`; delivered/s = webhook requests ÷ time from the start of a round until every accepted event arrived). Baseline: ${process.env.BENCH_BASELINE_LABEL ?? builds.baseline}.${baselineSetup}${process.env.BENCH_CURRENT_ARGS ? ` The current build runs with \`${process.env.BENCH_CURRENT_ARGS}\`${process.env.BENCH_CURRENT_ARGS_WHY ? ` (${process.env.BENCH_CURRENT_ARGS_WHY})` : ''}.` : ''}

| build | delivered/s (median) | per round | Herald CPU ms per delivery (median) |
| --- | ---: | ---: | ---: |
${row('baseline')}
${row('current')}

- current / baseline, median of the per-round ratios: delivered/s **${(pairedRatio * 100).toFixed(0)}%**, CPU per delivery **${(pairedCpu * 100).toFixed(0)}%** of the baseline's (per round: ${results.current.map((x, i) => `${(100 * x.cpuMs / results.baseline[i].cpuMs).toFixed(0)}%`).join(' / ')}).
- Ratio of the medians: delivered/s **${(ratio * 100).toFixed(0)}%**, CPU per delivery **${(cpuRatio * 100).toFixed(0)}%**.
`;
  console.log(md);
  if (process.env.BENCH_WRITE !== '0') writeSection(process.env.BENCH_SECTION ?? 'compare', md);
}

main().catch((err) => { console.error(err); process.exit(1); });
