// NATS provider benchmark: raw nats.js publish loop vs Herald's provider vs Flux's connect-publish-close per message.
// Run: npm run build && node bench/nats.mjs   (or `npm run bench -- nats`). Writes the "NATS provider" section of bench/RESULTS.md.
import { connect } from '@nats-io/transport-node';
import os from 'node:os';
import { Writable } from 'node:stream';
import { machine, writeSection } from './lib.mjs';
import { startNatsServer } from '../test/helpers/nats-server.ts';
import { encodeEvent } from '../dist/api/event.js';
import { createLogger } from '../dist/logger.js';
import { NatsProvider } from '../dist/providers/cloud/nats.js';
import { ProviderRuntime } from '../dist/providers/runtime.js';
import { DEFAULT_DELIVERY_CONCURRENCY as DEFAULT } from '../dist/delivery/outbox.js';

const N = Number(process.env.BENCH_NATS_N ?? 200_000);
const N_FLUX = Number(process.env.BENCH_NATS_FLUX ?? 2_000);
const ROUNDS = Number(process.env.BENCH_NATS_ROUNDS ?? 3);
const CONCURRENCY = (process.env.BENCH_NATS_CONCURRENCY ?? `1,16,${DEFAULT},256`).split(',').map(Number);
const SUBJECT = 'flux.events';

const event = {
  involvedObject: {
    kind: 'Kustomization', namespace: 'apps', name: 'webapp', uid: '4f3c2a1b-8d7e-4c6b-9a5f-0e1d2c3b4a59',
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1', resourceVersion: '184467',
  },
  severity: 'error', timestamp: '2025-06-01T10:15:30Z', message: 'Health check failed after 2m', reason: 'HealthCheckFailed',
  metadata: { cluster: 'prod-eu', revision: 'main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', summary: 'Production cluster' },
  reportingController: 'kustomize-controller', reportingInstance: 'kustomize-controller-6f8c9d7b5-q2w4x',
};
const notification = {
  event,
  alert: { namespace: 'apps', name: 'webapp-alerts', uid: 'a6b8c0d2-1e3f-4a5b-8c7d-9e0f1a2b3c4d' },
  provider: { namespace: 'apps', name: 'ops', uid: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f', type: 'nats' },
};
const payload = Buffer.from(encodeEvent(event));
if (payload.length !== 552) throw new Error(`canonical payload is ${payload.length} bytes, expected 552`);

const server = await startNatsServer();
const varz = async () => (await fetch(`${server.monitorUrl}/varz`)).json();

/** Runs fn, checks the server counted exactly `n` more inbound messages, returns messages per second. */
async function measure(name, n, fn) {
  const before = (await varz()).in_msgs;
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let received = 0;
  for (let i = 0; i < 50 && received < n; i++) {
    received = (await varz()).in_msgs - before;
    if (received < n) await new Promise((r) => setTimeout(r, 20));
  }
  if (received !== n) throw new Error(`${name}: server received ${received} of ${n} messages`);
  const rate = n / seconds;
  console.log(`${name.padEnd(52)} ${n.toString().padStart(7)} msgs ${seconds.toFixed(2).padStart(6)} s ${Math.round(rate).toLocaleString('en-US').padStart(10)} msgs/s`);
  return rate;
}

const yieldNow = () => new Promise((res) => setImmediate(res));

/** The ceiling: one connection, publish in a loop (yielding every 1000 so the socket drains), one flush at the end. */
async function rawLoop(nc, encodeEach) {
  return measure(encodeEach ? 'raw loop, encodeEvent per message' : 'raw loop, same payload', N, async () => {
    for (let i = 0; i < N; i++) {
      nc.publish(SUBJECT, encodeEach ? Buffer.from(encodeEvent(event)) : payload);
      if (i % 1000 === 999) await yieldNow();
    }
    await nc.flush();
  });
}

/** Herald's provider as the worker calls it: `c` sends in flight, each one encode + publish + confirmation. */
async function herald(config, ctx, c) {
  const n = c === 1 ? Math.min(N, 20_000) : N;
  return measure(`Herald provider, ${c} in flight`, n, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: c }, async () => {
      while (next < n) {
        next++;
        await NatsProvider.send(notification, config, ctx);
      }
    }));
  });
}

const best = { raw: 0, rawEncode: 0, flux: 0 };
for (const c of CONCURRENCY) best[c] = 0;
const load = [os.loadavg()[0]];

try {
  const nc = await connect({ servers: server.url });
  for (let i = 0; i < 20_000; i++) nc.publish(SUBJECT, payload);
  await nc.flush();

  const log = createLogger({ level: 'error', destination: new Writable({ write(_c, _e, cb) { cb(); } }) });
  const settings = {
    provider: { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Provider', metadata: { name: 'ops', namespace: 'apps', uid: notification.provider.uid }, spec: { type: 'nats' } },
    type: 'nats', address: server.url, channel: SUBJECT, username: '', password: '', token: '', headers: {}, secretData: {}, timeoutMs: 15_000, sensitive: [],
  };
  const runtime = new ProviderRuntime();
  const config = NatsProvider.parse(settings, { runtime });
  const ctx = { signal: new AbortController().signal, attempt: 1, log };
  for (let i = 0; i < 20_000; i++) await NatsProvider.send(notification, config, ctx);

  // Interleaved rounds, best of each: other load on the machine hits every run alike.
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`-- round ${round}/${ROUNDS}`);
    best.raw = Math.max(best.raw, await rawLoop(nc, false));
    best.rawEncode = Math.max(best.rawEncode, await rawLoop(nc, true));
    for (const c of CONCURRENCY) best[c] = Math.max(best[c], await herald(config, ctx, c));
  }
  await nc.close();
  await NatsProvider.close(config);
  await runtime.close();

  // Flux: a new connection per message (connect, publish, flush, close) with the same client library.
  for (let round = 1; round <= ROUNDS; round++) {
    best.flux = Math.max(best.flux, await measure('Flux pattern: connect+publish+flush+close', N_FLUX, async () => {
      for (let i = 0; i < N_FLUX; i++) {
        const conn = await connect({ servers: server.url, name: 'NATS Provider Publisher' });
        conn.publish(SUBJECT, payload);
        await conn.flush();
        await conn.close();
      }
    }));
  }
  load.push(os.loadavg()[0]);

  const fmt = (r) => Math.round(r).toLocaleString('en-US');
  const pct = (a, b) => `${((a / b) * 100).toFixed(0)}%`;
  const times = (a, b) => `${(a / b).toFixed(0)}×`;
  const top = Math.max(...CONCURRENCY.map((c) => best[c]));
  const topC = CONCURRENCY.find((c) => best[c] === top);
  const dflt = best[DEFAULT] ?? top;
  const rows = [
    ['raw nats.js loop, same 552-byte payload, one flush at the end', fmt(best.raw), '100%', '—', times(best.raw, best.flux)],
    ['raw nats.js loop, encodeEvent per message, one flush at the end', fmt(best.rawEncode), pct(best.rawEncode, best.raw), '100%', times(best.rawEncode, best.flux)],
    ...CONCURRENCY.map((c) => [
      `Herald provider, ${c} send(s) in flight${c === DEFAULT ? ' (default --delivery-concurrency)' : ''}`,
      fmt(best[c]), pct(best[c], best.raw), pct(best[c], best.rawEncode), times(best[c], best.flux),
    ]),
    ['Flux pattern: connect, publish, flush, close per message', fmt(best.flux), pct(best.flux, best.raw), pct(best.flux, best.rawEncode), '1×'],
  ];
  const section = `## NATS provider

- Machine: ${machine()}; nats-server ${(await varz()).version} on loopback, started by the benchmark; 1-minute load average ${load.map((l) => l.toFixed(2)).join(' → ')} (other work on the machine during the run).
- Command: \`npm run build && node bench/nats.mjs\` (also \`npm run bench -- nats\`), ${new Date().toISOString().slice(0, 10)}; best of ${ROUNDS} interleaved rounds, ${N.toLocaleString('en-US')} messages per run (${Math.min(N, 20_000).toLocaleString('en-US')} at 1 in flight, ${N_FLUX.toLocaleString('en-US')} for the Flux pattern).
- Payload: the canonical 552-byte event (providers/README.md §3.3) on \`${SUBJECT}\`, no subscriber; every run checks that the server's \`in_msgs\` grew by exactly the number sent.
- A Herald send is end to end per notification: encode the event (\`encodeEvent\`), publish, and wait for the server's PONG, which confirms the publish and brings any permission error first. Sends in the same event-loop turn share one socket write and one PING per 64 messages.

| run | msgs/s | vs raw loop | vs raw loop + encode | vs Flux pattern |
| --- | ---: | ---: | ---: | ---: |
${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

Targets:
- Herald at the default --delivery-concurrency (${DEFAULT}) ≥ 50% of a raw loop that encodes each event (issue 15): **${dflt / best.rawEncode >= 0.5 ? 'met' : 'not met'}** — ${pct(dflt, best.rawEncode)} (${pct(dflt, best.raw)} of the raw loop without encoding; best ${pct(top, best.rawEncode)} at ${topC} in flight). Encoding the event alone caps any sender at ${pct(best.rawEncode, best.raw)} of the raw loop on this machine.
- Herald ≥ 20× the connect-per-message pattern: **${dflt / best.flux >= 20 ? 'met' : 'not met'}** — ${times(dflt, best.flux)} at the default ${DEFAULT} in flight, ${times(top, best.flux)} at ${topC}.
`;
  if (process.env.BENCH_WRITE !== '0') writeSection('nats', section);
  console.log(`\n${section}`);
} finally {
  await server.stop();
}
