// The floor of "HTTP in, webhook out" on Node: a relay with nothing of Herald's — no validation, matching, dedup,
// outbox, retries, metrics or logs. It reads each POST, parses and re-encodes the JSON, answers 202 and posts it to
// the webhook over undici's keep-alive pool (as Herald's providers do). bench/alertmanager.mjs runs it beside Herald
// so that Herald's cost can be read against what Node's HTTP stack alone costs on the same machine in the same run.
// Usage: node bench/relay-floor.mjs <webhook URL>; logs {"msg":"listening","address":...}.
import { createServer } from 'node:http';
import { Agent } from 'undici';

const target = new URL(process.argv[2]);
const agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(202).end();
    agent.request({ origin: target.origin, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then((r) => r.body.dump(), () => undefined);
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', address: `http://127.0.0.1:${server.address().port}` }));
});
process.on('SIGTERM', () => server.close(() => agent.close().then(() => process.exit(0))));
