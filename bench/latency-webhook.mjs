// The benchmark's webhook, in its own process: counts notifications and, from the send time the load generator put
// in each event (metadata `sent`) or alert (annotation `sent`), records end-to-end latency at arrival.
// GET /__stats answers {count, firstAt, lastAt, p50, p99}; POST /__reset starts a new measurement.
import { createServer } from 'node:http';

let count = 0;
let firstAt = 0;
let lastAt = 0;
let latencies = [];

function sentTimes(body) {
  const doc = JSON.parse(body);
  // Alertmanager: {alerts: [{annotations: {sent}}]}; Herald's generic provider: the Flux event itself.
  if (Array.isArray(doc.alerts)) return doc.alerts.map((a) => Number(a.annotations?.sent));
  // (The floor relay forwards the metadata key as sent; Herald strips its group prefix as Flux does.)
  return [Number(doc.metadata?.sent ?? doc.metadata?.['kustomize.toolkit.fluxcd.io/sent'])];
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/__stats') {
      const sorted = Float64Array.from(latencies).sort();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count, firstAt, lastAt, p50: percentile(sorted, 50), p99: percentile(sorted, 99) }));
      return;
    }
    if (req.url === '/__reset') {
      count = 0; firstAt = 0; lastAt = 0; latencies = [];
      res.writeHead(204).end();
      return;
    }
    const now = Date.now();
    try {
      for (const sent of sentTimes(Buffer.concat(chunks).toString('utf8'))) {
        count++;
        if (Number.isFinite(sent)) latencies.push(now - sent);
      }
    } catch { count++; }
    if (!firstAt) firstAt = now;
    lastAt = now;
    res.writeHead(200).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', address: `http://127.0.0.1:${server.address().port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
