// `npm run bench`: runs every benchmark (or those named: node bench/run.mjs core nats outbox) and updates bench/RESULTS.md.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { root } from './lib.mjs';

const all = { core: 'bench/core.mjs', nats: 'bench/nats.mjs', outbox: 'bench/outbox.mjs', soak: 'bench/soak.mjs', alertmanager: 'bench/alertmanager.mjs', compare: 'bench/compare.mjs' };
// `compare` needs a second build (BENCH_BASELINE_ROOT), so it runs only when named.
const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(all).filter((n) => n !== 'compare');
let failed = 0;
for (const name of names) {
  const file = all[name];
  if (!file) { console.error(`unknown benchmark ${name}; one of ${Object.keys(all).join(', ')}`); process.exit(2); }
  if (!existsSync(path.join(root, file))) { console.log(`skipping ${name}: ${file} not present`); continue; }
  console.log(`\n=== ${name} (${file})`);
  const r = spawnSync(process.execPath, [file], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
