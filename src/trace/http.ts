// The trace on the metrics port: GET /debug/events (JSON, filters object, alert, provider, since, limit) and
// GET /debug/events/ui (a small read-only page, no external assets, that renders the JSON with textContent only).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TraceBuffer, TraceFilter } from './buffer.js';
import { TRACE_PAGE } from './page.js';

export function traceRoutes(trace: TraceBuffer): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '');
    if (path !== '/debug/events' && path !== '/debug/events/ui') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed: the trace is read-only');
      return true;
    }
    const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    if (path === '/debug/events/ui') {
      res.writeHead(200, {
        ...common,
        'content-type': 'text/html; charset=utf-8',
        // Inline script and style only; the page may fetch only its own origin.
        'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        'x-frame-options': 'DENY',
      }).end(TRACE_PAGE);
      return true;
    }
    const q = url.searchParams;
    const num = (k: string) => {
      const v = q.get(k);
      const n = v === null || v === '' ? undefined : Number(v);
      return n !== undefined && Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
    };
    const filter: TraceFilter = {
      object: q.get('object') || undefined,
      alert: q.get('alert') || undefined,
      provider: q.get('provider') || undefined,
      since: num('since'),
      limit: num('limit'),
    };
    const body = JSON.stringify({ capacity: trace.capacity, lastSeq: trace.lastSeq, events: trace.query(filter) });
    res.writeHead(200, { ...common, 'content-type': 'application/json' }).end(body);
    return true;
  };
}
