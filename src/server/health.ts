// The small HTTP servers beside the event server: /healthz and /readyz (probes) and /metrics (Prometheus).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from '../metrics.js';

export interface ProbeRoutes {
  healthz?: () => boolean;
  readyz?: () => boolean;
  metrics?: boolean;
  /** More routes (the live trace); returns true when it answered. */
  extra?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** One server can carry several route sets when two flags name the same address. */
export function createAuxServer(routes: ProbeRoutes): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (routes.healthz && path === '/healthz') {
      const ok = routes.healthz();
      res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'unhealthy');
      return;
    }
    if (routes.readyz && path === '/readyz') {
      const ok = routes.readyz();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'resources not loaded yet');
      return;
    }
    if (routes.metrics && path === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
      return;
    }
    if (routes.extra?.(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
}

export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export function urlOf(addr: AddressInfo): string {
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${host === '[::]' ? '[::1]' : host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;
}
