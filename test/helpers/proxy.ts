// A small HTTP proxy for provider tests: forwards absolute-form requests, tunnels CONNECT, records each use.
import { createServer, request as httpRequestRaw, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';

export interface TinyProxy {
  url: string;
  used: { method: string; target: string; auth: string | undefined }[];
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** Where a CONNECT target really goes: lets a test reach a fixed public host (api.telegram.org:443) on loopback. */
  route?: (host: string, port: number) => { host: string; port: number };
}

/**
 * A forward (absolute-form) and CONNECT proxy that records its use and, when `expectedAuth` is given, demands that
 * Proxy-Authorization.
 */
export async function startProxy(expectedAuth?: string, opts: ProxyOptions = {}): Promise<TinyProxy> {
  const used: TinyProxy['used'] = [];
  const sockets = new Set<Socket>();
  const srv: Server = createServer((req, res) => {
    const auth = req.headers['proxy-authorization'];
    used.push({ method: req.method ?? '', target: req.url ?? '', auth });
    if (expectedAuth !== undefined && auth !== expectedAuth) {
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic' }).end();
      return;
    }
    const target = new URL(req.url ?? '');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const up = httpRequestRaw({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  srv.on('connect', (req, socket: Socket, head) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const auth = req.headers['proxy-authorization'];
    used.push({ method: 'CONNECT', target: req.url ?? '', auth });
    if (expectedAuth !== undefined && auth !== expectedAuth) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    const to = opts.route ? opts.route(host!, Number(port)) : { host: host!, port: Number(port) };
    const up = netConnect(to.port, to.host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    used,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      srv.close(() => resolve());
      srv.closeAllConnections();
    }),
  };
}

