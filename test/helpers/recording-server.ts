// A real local HTTP(S) server for provider tests: records every request and answers from a script.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface RecordedRequest {
  method: string;
  /** Path and query as sent on the request line. */
  url: string;
  /** Header names lower-cased; repeated headers joined with ', ' (node's default). */
  headers: Record<string, string>;
  /** Header names and values as sent, in order, to check header order and case. */
  rawHeaders: [string, string][];
  body: Buffer;
  /** The body as UTF-8 text, for convenience. */
  text: string;
  /** The client's source port: equal ports on two requests mean one pooled connection. */
  remotePort: number;
  /** Subject CN of the client certificate when the server requested one and the client sent it. */
  clientCertSubject?: string;
}

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface RecordingServerOptions {
  tls?: { key: string; cert: string; ca?: string; requestCert?: boolean };
  /** Answer to the n-th request (0-based); 200 with an empty body when absent. */
  respond?: (req: RecordedRequest, n: number) => ScriptedResponse | Promise<ScriptedResponse>;
}

export interface RecordingServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Resolves with the recorded requests once at least n have arrived; rejects after timeoutMs (default 5000). */
  waitFor(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export async function startRecordingServer(opts: RecordingServerOptions = {}): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const waiters: { n: number; resolve: (r: RecordedRequest[]) => void }[] = [];

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      const rawHeaders: [string, string][] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers,
        rawHeaders,
        body,
        text: body.toString('utf8'),
        remotePort: req.socket.remotePort ?? 0,
      };
      const socket = req.socket as Partial<TLSSocket>;
      if (typeof socket.getPeerCertificate === 'function') {
        const peer = socket.getPeerCertificate();
        const cn = peer?.subject?.CN;
        if (cn) recorded.clientCertSubject = Array.isArray(cn) ? cn.join(',') : cn;
      }
      const n = requests.length;
      requests.push(recorded);
      for (const w of [...waiters]) {
        if (requests.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(requests.slice());
        }
      }
      Promise.resolve(opts.respond ? opts.respond(recorded, n) : { status: 200 })
        .then((r) => {
          res.writeHead(r.status, r.headers);
          res.end(r.body ?? '');
        })
        .catch((err: unknown) => {
          res.writeHead(599);
          res.end(String(err));
        });
    });
  };

  const server: Server = opts.tls
    ? createHttpsServer(
        {
          key: opts.tls.key,
          cert: opts.tls.cert,
          ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
          requestCert: opts.tls.requestCert ?? false,
          rejectUnauthorized: opts.tls.requestCert ?? false,
        },
        handler,
      )
    : createHttpServer(handler);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  return {
    url,
    port,
    requests,
    waitFor(n: number, timeoutMs = 5000): Promise<RecordedRequest[]> {
      if (requests.length >= n) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const w = { n, resolve: (r: RecordedRequest[]) => { clearTimeout(t); resolve(r); } };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`recording server: expected ${n} requests within ${timeoutMs}ms, got ${requests.length}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
