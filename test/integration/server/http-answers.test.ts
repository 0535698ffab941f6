// The event server's HTTP answers, byte for byte, over raw sockets: what Flux emitters and operators see for every
// path and method, duplicates, bad bodies, oversized bodies and headers, malformed requests, aborted uploads and a
// server that is closing. The server is node:http with no framework, so each of these is Herald's own code.
import { afterEach, describe, expect, it } from 'vitest';
import { createEventServer, MAX_BODY_BYTES, type EventServer } from '../../../src/server/event-server.js';
import { MemoryDedupStore } from '../../../src/server/dedup.js';
import { createLogger } from '../../../src/logger.js';
import { registry } from '../../../src/metrics.js';
import type { FluxEvent } from '../../../src/api/event.js';
import { parseAnswer, raw } from '../../helpers/raw-http.js';

const event = (message: string) => JSON.stringify({
  involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'web', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
  severity: 'info', message, reason: 'Progressing',
});
const post = (path: string, body: string, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

async function inflight(): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith('gotk_event_http_requests_inflight{service="",handler="/"}'));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('event server answers', () => {
  let app: EventServer;
  let url: string;
  let dedup: MemoryDedupStore;
  const stored: FluxEvent[] = [];

  async function start(): Promise<void> {
    dedup = new MemoryDedupStore(60_000);
    app = createEventServer({
      dedup, log: createLogger({ level: 'error' }),
      dispatcher: { dispatch: async (e) => { stored.push(e); } },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }
  afterEach(async () => {
    stored.length = 0;
    await app.close();
    await dedup.close?.();
  });

  it('answers 202 on every path with the rate-limit headers, then 429 with Retry-After for the duplicate', async () => {
    await start();
    for (const [i, path] of ['/', '/any/path?x=1', '//a/../b', `/${'p'.repeat(300)}`].entries()) {
      const a = parseAnswer((await raw(url, (s) => s.write(post(path, event(`path ${i}`))))).response);
      expect(a.status, path).toBe(202);
      expect(a.headers['x-ratelimit-limit']).toBe('1');
      expect(a.headers['x-ratelimit-remaining']).toBe('0');
      expect(a.headers['x-ratelimit-reset']).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} UTC$/);
      expect(a.headers['content-length']).toBe('0');
      expect(a.headers['content-type']).toBeUndefined();
    }
    expect(stored.map((e) => e.message)).toEqual(['path 0', 'path 1', 'path 2', 'path 3']);

    const dup = parseAnswer((await raw(url, (s) => s.write(post('/', event('path 0'))))).response);
    expect(dup.status).toBe(429);
    expect(dup.headers['retry-after']).toBe(dup.headers['x-ratelimit-reset']);
    expect(dup.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(dup.headers['x-content-type-options']).toBe('nosniff');
    expect(dup.body).toBe('Too Many Requests\n');
    expect(stored).toHaveLength(4);
  });

  it('answers 405 with Allow: POST to every other method, known or not, and no body to HEAD', async () => {
    await start();
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS', 'PROPFIND']) {
      const a = parseAnswer((await raw(url, (s) => s.write(`${method} / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`))).response);
      expect(a.status, method).toBe(405);
      expect(a.headers.allow).toBe('POST');
      expect(JSON.parse(a.body)).toEqual({ error: `method ${method} not allowed: Flux events are POSTed` });
      expect(Number(a.headers['content-length'])).toBe(Buffer.byteLength(a.body));
    }
    const head = parseAnswer((await raw(url, (s) => s.write('HEAD / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'))).response);
    expect(head.status).toBe(405);
    expect(head.body).toBe('');
    expect(stored).toHaveLength(0);
  });

  it('answers 400 with the reason and field to a bad event, with a Content-Type garbled or absent', async () => {
    await start();
    const notJson = parseAnswer((await raw(url, (s) => s.write(post('/', '{', 'Content-Type: text/;;;\r\n')))).response);
    expect(notJson.status).toBe(400);
    expect(notJson.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(notJson.body).error).toMatch(/^body is not valid JSON/);
    const badField = parseAnswer((await raw(url, (s) => s.write(post('/', event('bad severity').replace('"info"', '7'))))).response);
    expect(badField.status).toBe(400);
    expect(JSON.parse(badField.body).field).toBe('severity');
    expect(stored).toHaveLength(0);
  });

  it('answers 413 to a chunked body that grows past 3 MiB, and 202 to a small chunked one', async () => {
    await start();
    const mib = 'x'.repeat(1024 * 1024);
    const big = await raw(url, (s) => {
      s.write('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let i = 0; i < 4; i++) s.write(`${mib.length.toString(16)}\r\n${mib}\r\n`);
      s.end('0\r\n\r\n');
    });
    const a = parseAnswer(big.response);
    expect(a.status).toBe(413);
    expect(a.headers.connection).toBe('close');
    expect(JSON.parse(a.body)).toEqual({ error: `request body larger than ${MAX_BODY_BYTES} bytes` });
    const body = event('chunked');
    const small = parseAnswer((await raw(url, (s) => s.end(`POST / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`))).response);
    expect(small.status).toBe(202);
    expect(stored.map((e) => e.message)).toEqual(['chunked']);
  });

  it('answers 431 to headers over 256 KiB and 400 to a malformed request, and the answer arrives before the close', async () => {
    await start();
    const big = parseAnswer((await raw(url, (s) => s.write(`POST / HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(300 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`))).response);
    expect(big.status).toBe(431);
    expect(JSON.parse(big.body)).toEqual({ error: 'request headers larger than 262144 bytes' });
    const garbage = parseAnswer((await raw(url, (s) => s.write('HELLO\r\n\r\n'))).response);
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body)).toEqual({ error: 'malformed HTTP request' });
  });

  it('counts an upload the client abandons as no longer in flight and dispatches nothing', async () => {
    await start();
    await raw(url, (s) => {
      s.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n{"message":"never finished`);
      setTimeout(() => s.destroy(), 100);
    });
    let n: number | undefined;
    for (let i = 0; i < 50 && n !== 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      n = await inflight();
    }
    expect(n).toBe(0);
    expect(stored).toHaveLength(0);
  });

  it('answers 503 with Connection: close to a request that arrives on an open connection once the server is closing', async () => {
    await start();
    const first = event('first');
    const second = event('second');
    let closed: Promise<void> | undefined;
    const { response } = await raw(url, (s) => {
      s.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${first.length}\r\n\r\n${first}`);
      s.once('data', () => {
        // The next request has begun (the connection is not idle, so closing does not drop it) when the server closes.
        s.write('POST / HTTP/1.1\r\nHost: h\r\n');
        setTimeout(() => {
          closed = app.close();
          s.write(`Content-Length: ${second.length}\r\n\r\n${second}`);
        }, 50);
      });
    });
    await closed;
    const [a, b] = response.split(/(?=HTTP\/1\.1 )/).map(parseAnswer);
    expect(a!.status).toBe(202);
    expect(b!.status).toBe(503);
    expect(b!.headers.connection).toBe('close');
    expect(b!.headers['retry-after']).toBe('1');
    expect(JSON.parse(b!.body)).toEqual({ error: 'shutting down' });
    expect(stored.map((e) => e.message)).toEqual(['first']);
  });
});
