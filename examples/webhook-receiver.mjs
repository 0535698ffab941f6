// A tiny webhook receiver for trying Herald locally: prints every notification it receives (node examples/webhook-receiver.mjs [port]).
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 9000);
createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const signature = req.headers['x-signature'] ? ` X-Signature: ${req.headers['x-signature']}` : '';
    console.log(`${new Date().toISOString()} ${req.method} ${req.url} Gotk-Component: ${req.headers['gotk-component'] ?? '-'}${signature}`);
    try {
      console.log(JSON.stringify(JSON.parse(body), null, 2));
    } catch {
      console.log(body);
    }
    res.writeHead(200).end();
  });
}).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/ (Ctrl-C to stop)`));
