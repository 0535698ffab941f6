// The shared HTTP client against real local servers: Go redirect rules, environment proxies, SOCKS5, aborts and final errors.
import { createServer as createNetServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { httpRequest, postMessage } from '../../../src/providers/http/client.js';
import { HttpPool, type TransportOptions } from '../../../src/providers/http/pool.js';
import { ConfigError, DeliveryError } from '../../../src/providers/types.js';
import { startRecordingServer, type RecordingServer, type RecordingServerOptions } from '../../helpers/recording-server.js';
import { makeTestPki } from '../../helpers/tls.js';
import { closeAfterEach } from '../../helpers/cleanup.js';

const track = closeAfterEach();
const pool = new HttpPool();
/** A transport as a provider config resolves it at parse time (environment proxies read now). */
const t = (opts: TransportOptions = {}) => pool.transport(opts);
afterAll(async () => {
  await pool.close();
});

async function server(opts?: RecordingServerOptions): Promise<RecordingServer> {
  return track(await startRecordingServer(opts));
}

const signal = (): AbortSignal => AbortSignal.timeout(5000);

async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DeliveryError);
    return err as DeliveryError;
  }
  throw new Error('expected a DeliveryError');
}

describe('redirects (Go client policy)', () => {
  it('turns POST into a body-less GET on 302 and keeps credentials on the same host', async () => {
    const srv = await server({ respond: (r) => (r.url === '/a' ? { status: 302, headers: { Location: '/b' } } : { status: 200, body: 'ok' }) });
    const res = await postMessage(`${srv.url}/a`, '{"x":1}', { headers: { Authorization: 'Bearer t' }, transport: t(), signal: signal() });
    expect(res.body).toBe('ok');
    const [first, second] = await srv.waitFor(2);
    expect([first!.method, first!.text]).toEqual(['POST', '{"x":1}']);
    expect([second!.method, second!.url, second!.text]).toEqual(['GET', '/b', '']);
    expect(second!.headers['content-length']).toBeUndefined();
    expect(second!.headers['authorization']).toBe('Bearer t');
  });

  it('keeps method and body on 307/308 and drops Authorization on a redirect to another host', async () => {
    const target = await server();
    const srv = await server({ respond: () => ({ status: 308, headers: { Location: `http://localhost:${target.port}/moved` } }) });
    await postMessage(`${srv.url}/start`, 'payload', { headers: { Authorization: 'Bearer t', 'X-Keep': 'yes' }, transport: t(), signal: signal() });
    const [req] = await target.waitFor(1);
    expect([req!.method, req!.url, req!.text]).toEqual(['POST', '/moved', 'payload']);
    expect(req!.headers['authorization']).toBeUndefined();
    expect(req!.headers['x-keep']).toBe('yes');
  });

  it('stops after 10 requests with a final error', async () => {
    const srv = await server({ respond: (_r, n) => ({ status: 302, headers: { Location: `/hop${n + 1}` } }) });
    const err = await failure(postMessage(`${srv.url}/hop0`, '{}', { transport: t(), signal: signal() }));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(`Post "${srv.url}/hop10": stopped after 10 redirects`);
    expect(srv.requests).toHaveLength(10);
  });

  it('returns a redirect without Location as the response', async () => {
    const srv = await server({ respond: () => ({ status: 301, body: 'moved?' }) });
    const err = await failure(postMessage(srv.url, '{}', { transport: t(), signal: signal() }));
    expect([err.message, err.retryable]).toEqual(['request failed with status code 301: moved?', false]);
  });
});

describe('final transport errors', () => {
  it('refuses unsupported schemes without a request', async () => {
    expect((await failure(httpRequest('ftp://h.example/x', { method: 'POST', transport: t(), signal: signal() }))).message).toBe('Post "ftp://h.example/x": unsupported protocol scheme "ftp"');
    const relative = await failure(httpRequest('/hooks/x', { method: 'POST', transport: t(), signal: signal() }));
    expect([relative.message, relative.retryable]).toEqual(['Post "/hooks/x": unsupported protocol scheme ""', false]);
  });

  it('does not retry an invalid header value', async () => {
    const srv = await server();
    const err = await failure(postMessage(srv.url, '{}', { headers: { 'X-Bad': 'a\r\nInjected: 1' }, transport: t(), signal: signal() }));
    expect(err.retryable).toBe(false);
    expect(srv.requests).toHaveLength(0);
  });

  it('reports the provider deadline as context deadline exceeded, not retryable', async () => {
    const srv = await server({ respond: () => new Promise((r) => setTimeout(() => r({ status: 200 }), 2000)) });
    const started = Date.now();
    const err = await failure(postMessage(srv.url, '{}', { transport: t(), signal: AbortSignal.timeout(100) }));
    expect(Date.now() - started).toBeLessThan(1500);
    expect([err.message, err.retryable]).toEqual([`Post "${srv.url}": context deadline exceeded`, false]);
  });
});

interface TinySocks {
  url: string;
  connects: { host: string; port: number; user?: string }[];
  close(): Promise<void>;
}

/** A minimal SOCKS5 server (RFC 1928/1929): CONNECT only, optional username/password. */
async function startSocks5(credentials?: { user: string; pass: string }): Promise<TinySocks> {
  const connects: TinySocks['connects'] = [];
  const sockets = new Set<Socket>();
  const srv: Server = createNetServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    let buf = Buffer.alloc(0);
    let stage: 'greet' | 'auth' | 'request' = 'greet';
    let user: string | undefined;
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (stage === 'greet' && buf.length >= 2 && buf.length >= 2 + buf[1]!) {
        const methods = [...buf.subarray(2, 2 + buf[1]!)];
        buf = buf.subarray(2 + buf[1]!);
        const method = credentials ? 0x02 : 0x00;
        if (!methods.includes(method)) return void client.end(Buffer.from([0x05, 0xff]));
        client.write(Buffer.from([0x05, method]));
        stage = credentials ? 'auth' : 'request';
      }
      if (stage === 'auth' && buf.length >= 2) {
        const ulen = buf[1]!;
        if (buf.length < 3 + ulen) return;
        const plen = buf[2 + ulen]!;
        if (buf.length < 3 + ulen + plen) return;
        user = buf.subarray(2, 2 + ulen).toString();
        const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
        buf = buf.subarray(3 + ulen + plen);
        const ok = user === credentials!.user && pass === credentials!.pass;
        client.write(Buffer.from([0x01, ok ? 0x00 : 0x01]));
        if (!ok) return void client.end();
        stage = 'request';
      }
      if (stage === 'request' && buf.length >= 5) {
        const atyp = buf[3]!;
        const addrLen = atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : 1 + buf[4]!;
        if (buf.length < 4 + addrLen + 2) return;
        const host = atyp === 0x01 ? [...buf.subarray(4, 8)].join('.') : atyp === 0x03 ? buf.subarray(5, 5 + buf[4]!).toString() : '::1';
        const port = buf.readUInt16BE(4 + addrLen);
        const rest = buf.subarray(4 + addrLen + 2);
        client.off('data', onData);
        connects.push({ host, port, ...(user !== undefined ? { user } : {}) });
        const up = netConnect(port, host === 'localhost' ? '127.0.0.1' : host, () => {
          client.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
          if (rest.length > 0) up.write(rest);
          up.pipe(client);
          client.pipe(up);
        });
        sockets.add(up);
        up.on('close', () => sockets.delete(up));
        up.on('error', () => client.destroy());
      }
    };
    client.on('data', onData);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `socks5://127.0.0.1:${port}`,
    connects,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      srv.close(() => resolve());
    }),
  };
}

describe('proxies', () => {
  it('goes through a SOCKS5 proxy with username/password', async () => {
    const socks = await startSocks5({ user: 'su', pass: 'sp' });
    track(socks);
    const srv = await server();
    const proxy = socks.url.replace('socks5://', 'socks5://su:sp@');
    await postMessage(`${srv.url}/s`, '{"via":"socks"}', { transport: t({ proxy }), signal: signal() });
    const [req] = await srv.waitFor(1);
    expect(req!.text).toBe('{"via":"socks"}');
    expect(socks.connects).toEqual([{ host: '127.0.0.1', port: srv.port, user: 'su' }]);

    // HTTPS through the same proxy: TLS runs end to end, verified against the provider CA only.
    const pki = makeTestPki();
    const secure = await server({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    await postMessage(`${secure.url}/tls`, '{}', { transport: t({ proxy, tls: { ca: pki.ca } }), signal: signal() });
    expect((await secure.waitFor(1))[0]!.url).toBe('/tls');
    const untrusted = await failure(postMessage(`${secure.url}/tls`, '{}', { transport: t({ proxy }), signal: signal() }));
    expect(untrusted.retryable).toBe(false);
    expect(untrusted.message).toContain('tls: failed to verify certificate');
  });

  it('honours HTTP_PROXY and NO_PROXY when no proxy is configured', async () => {
    const proxied: string[] = [];
    // The SOCKS helper is not an HTTP proxy; a recording server answering absolute-form requests is.
    const httpProxy = await server({ respond: (r) => { proxied.push(r.url); return { status: 200, body: 'from-proxy' }; } });
    const srv = await server({ respond: () => ({ status: 200, body: 'direct' }) });
    const saved = { HTTP_PROXY: process.env['HTTP_PROXY'], NO_PROXY: process.env['NO_PROXY'], http_proxy: process.env['http_proxy'], no_proxy: process.env['no_proxy'] };
    try {
      delete process.env['http_proxy'];
      delete process.env['no_proxy'];
      process.env['HTTP_PROXY'] = httpProxy.url;
      delete process.env['NO_PROXY'];
      expect((await postMessage(`${srv.url}/env`, '{}', { transport: t(), signal: signal() })).body).toBe('from-proxy');
      expect(proxied).toEqual([`${srv.url}/env`]);
      process.env['NO_PROXY'] = '127.0.0.1';
      expect((await postMessage(`${srv.url}/env`, '{}', { transport: t(), signal: signal() })).body).toBe('direct');
      // An explicit proxy wins over the environment.
      process.env['NO_PROXY'] = '';
      const socks = await startSocks5();
      track(socks);
      expect((await postMessage(`${srv.url}/explicit`, '{}', { transport: t({ proxy: socks.url }), signal: signal() })).body).toBe('direct');
      expect(socks.connects).toHaveLength(1);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('refuses a proxy scheme it cannot use when the transport is resolved, before anything is sent', () => {
    expect(() => t({ proxy: 'ftp://proxy:21' })).toThrow(ConfigError);
    expect(() => t({ proxy: 'ftp://proxy:21' })).toThrow('unsupported proxy scheme "ftp" (supported: http, https, socks5)');
  });
});
