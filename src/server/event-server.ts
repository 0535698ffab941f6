// The HTTP event server (node:http): Flux's limits and status codes, validation, dedup (429), dispatch, 202.
import { createServer, STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { decodeEvent, EventDecodeError } from '../api/event.js';
import type { Logger } from '../logger.js';
import { cleanMetadata, removeInternalMetadata } from '../routing/metadata.js';
import type { FluxEvent } from '../api/event.js';
import { formatResetHeader, rateLimitKey, type DedupStore } from './dedup.js';
import { eventsTotal, httpRequestDuration, httpResponseSize, reportInflight } from '../metrics.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;
export const MAX_HEADER_BYTES = 256 * 1024;
/** Read header timeout and read timeout (headers + body) of event-server.md §2. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
const openSockets = new WeakMap<Server, Set<Socket>>();

/**
 * Where accepted events go (the delivery side implements it). Resolves once every delivery of the event is stored;
 * a rejection is answered 503 so that the emitter retries.
 */
export interface EventSink {
  dispatch(event: FluxEvent): Promise<unknown>;
}

export interface EventServerOptions {
  dedup: DedupStore;
  dispatcher: EventSink;
  log: Logger;
  exportHttpPathMetrics?: boolean;
  /** While false (shutting down) new events get 503 so the emitter retries elsewhere. */
  accepting?: () => boolean;
  /** Told about each event discarded as a duplicate (the live trace). */
  onDuplicate?: (event: FluxEvent) => void;
}

/** Sent with every 202 and 429, beside X-RateLimit-Reset (event-server.md §3). */
const RATE_LIMIT_HEADERS = { 'x-ratelimit-limit': '1', 'x-ratelimit-remaining': '0' } as const;

/** What a client error (bad request line or headers, too large headers, a timeout) is answered, as Node's parser names it. */
function clientErrorAnswer(code: string | undefined): [number, string] {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'the request was not received in time'];
  if (code === 'HPE_HEADER_OVERFLOW') return [431, `request headers larger than ${MAX_HEADER_BYTES} bytes`];
  return [400, 'malformed HTTP request'];
}

/** How long a closing connection keeps reading what the client still sends (Go's rstAvoidanceDelay). */
export const LINGER_MS = 500;

/**
 * Node closes a `Connection: close` response's socket as soon as the answer is written. When the client is still
 * sending a body (a 413 for 3 MiB + 1 is answered from the Content-Length alone), the unread bytes make the kernel
 * send a reset, which can destroy the answer before the client reads it. Like Go's server, send FIN after the answer,
 * discard what still arrives, and close when the client closes its side or after LINGER_MS.
 */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function destroySoon(this: Socket) {
    if (this.destroyed) return;
    this.end();
    this.resume();
    this.removeAllListeners('data');
    this.on('data', () => undefined);
    this.once('end', () => this.destroy());
    setTimeout(() => this.destroy(), LINGER_MS).unref();
  };
}

/** The event server: a node:http server with Flux's limits, one handler for every path, and a bounded close. */
export interface EventServer {
  readonly server: Server;
  listen(addr: { host: string; port: number }): Promise<void>;
  /** Stops accepting connections; requests still arriving on open ones are answered 503. Resolves once all are closed. */
  close(): Promise<void>;
}

/**
 * The event server is plain node:http rather than a framework: one handler for every path and method, a raw body of
 * at most 3 MiB and a handful of fixed answers need no router, hooks or content-type parsers, and skipping them is
 * about a tenth of Herald's CPU per delivered notification (issue 15, `docs/performance.md`).
 */
export function createEventServer(opts: EventServerOptions): EventServer {
  const { dedup, dispatcher, log } = opts;
  const handlerLabel = (url: string) => (opts.exportHttpPathMetrics ? url.split('?')[0]! : '/');
  // Label children are cached: prom-client hashes label sets on every call otherwise, which shows on the hot path.
  const children = new Map<string | number, { duration: ReturnType<typeof httpRequestDuration.labels>; size: ReturnType<typeof httpResponseSize.labels> }>();
  // In-flight requests per handler label as plain numbers, read when the metrics are scraped.
  const inflight = new Map<string, number>();
  const stopReporting = reportInflight(inflight);
  let closing = false;

  /** Writes the answer (every response has a length, so none is chunked) and records the request's metrics. */
  const answer = (req: IncomingMessage, res: ServerResponse, started: number, status: number, headers: OutgoingHttpHeaders, body = ''): void => {
    const length = Buffer.byteLength(body);
    headers['content-length'] = length;
    if (!res.headersSent && !res.destroyed) res.writeHead(status, headers).end(body);
    const handler = handlerLabel(req.url ?? '/');
    // The common case (every event is a POST to any path, labelled '/') needs no key string per request.
    const method = req.method ?? '';
    const key = handler === '/' && method === 'POST' ? status : `${handler}\u0000${method}\u0000${status}`;
    let c = children.get(key);
    if (!c) {
      const labels = { service: '', handler, method, code: String(status) };
      children.set(key, (c = { duration: httpRequestDuration.labels(labels), size: httpResponseSize.labels(labels) }));
    }
    inflight.set(handler, Math.max(0, (inflight.get(handler) ?? 1) - 1));
    c.duration.observe((performance.now() - started) / 1000);
    c.size.observe(length);
  };
  const json = (req: IncomingMessage, res: ServerResponse, started: number, status: number, body: object, headers: OutgoingHttpHeaders = {}) => {
    headers['content-type'] = 'application/json; charset=utf-8';
    answer(req, res, started, status, headers, JSON.stringify(body));
  };
  const text = (req: IncomingMessage, res: ServerResponse, started: number, status: number, body: string, headers: OutgoingHttpHeaders = {}) => {
    headers['content-type'] = 'text/plain; charset=utf-8';
    headers['x-content-type-options'] = 'nosniff';
    answer(req, res, started, status, headers, body);
  };
  const tooLarge = (req: IncomingMessage, res: ServerResponse, started: number) => {
    eventsTotal.inc({ outcome: 'invalid' });
    // The rest of the body is not read: the connection is closed (after lingering, see lingerOnClose).
    json(req, res, started, 413, { error: `request body larger than ${MAX_BODY_BYTES} bytes` }, { connection: 'close' });
  };

  // A refused event is counted in herald_events_total{outcome="unavailable"} and answered 503 every time, but logged
  // at most once a second (with how many were not): under a saturating burst a line per refused event cost more CPU
  // than the events taken. A refusal the outbox has already logged (a full provider share) is only a debug line.
  let lastUnavailableLog = 0;
  let unlogged = 0;
  const unavailable = (event: FluxEvent, err: Error & { reported?: boolean }) => {
    if (err.reported === true) {
      if (log.isLevelEnabled('debug')) log.debug({ eventInvolvedObject: event.involvedObject, error: err.message }, 'could not accept the event');
      return;
    }
    const now = Date.now();
    if (now - lastUnavailableLog < 1000) {
      unlogged++;
      return;
    }
    log.error({ eventInvolvedObject: event.involvedObject, error: err.message, ...(unlogged > 0 ? { refusedUnlogged: unlogged } : {}) }, 'could not accept the event');
    lastUnavailableLog = now;
    unlogged = 0;
  };

  /** One event, read in full: decode, clean, dedup, dispatch, answer. */
  const handleEvent = async (req: IncomingMessage, res: ServerResponse, started: number, body: Buffer): Promise<void> => {
    let event;
    try {
      event = decodeEvent(body);
    } catch (err) {
      eventsTotal.inc({ outcome: 'invalid' });
      const e = err as EventDecodeError;
      log.debug({ error: e.message }, 'decoding the request body failed');
      json(req, res, started, 400, e.field ? { error: e.message, field: e.field } : { error: e.message });
      return;
    }
    event = cleanMetadata(event);
    const key = rateLimitKey(event);
    // The memory store answers at once: no promise and microtask hop per event for it.
    const decision = dedup.takeSync ? dedup.takeSync(key) : await dedup.take(key);
    const reset = formatResetHeader(decision.resetAt);
    if (!decision.allowed) {
      eventsTotal.inc({ outcome: 'duplicate' });
      opts.onDuplicate?.(event);
      log.debug({ eventInvolvedObject: event.involvedObject }, 'Discarding event, rate limiting duplicate events');
      text(req, res, started, 429, 'Too Many Requests\n', { ...RATE_LIMIT_HEADERS, 'x-ratelimit-reset': reset, 'retry-after': reset });
      return;
    }
    try {
      await dispatcher.dispatch(removeInternalMetadata(event));
    } catch (err) {
      eventsTotal.inc({ outcome: 'unavailable' });
      unavailable(event, err as Error & { reported?: boolean });
      // Give the window back, or the emitter's retry of this very event would be answered 429 and lost.
      await dedup.release(key).catch(() => undefined);
      json(req, res, started, 503, { error: (err as Error).message }, { 'retry-after': '1' });
      return;
    }
    eventsTotal.inc({ outcome: 'accepted' });
    answer(req, res, started, 202, { ...RATE_LIMIT_HEADERS, 'x-ratelimit-reset': reset });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const label = handlerLabel(req.url ?? '/');
    inflight.set(label, (inflight.get(label) ?? 0) + 1);
    // Every path is the event endpoint (event-server.md §2); only the method is checked.
    if (req.method !== 'POST') {
      json(req, res, started, 405, { error: `method ${req.method} not allowed: Flux events are POSTed` }, { allow: 'POST' });
      return;
    }
    if (closing || (opts.accepting && !opts.accepting())) {
      eventsTotal.inc({ outcome: 'unavailable' });
      json(req, res, started, 503, { error: 'shutting down' }, { 'retry-after': '1', ...(closing ? { connection: 'close' } : {}) });
      return;
    }
    // Rejecting early on the announced length gives the same answer as reading 3 MiB + 1 (event-server.md §4.1).
    const announced = req.headers['content-length'];
    if (announced !== undefined && Number(announced) > MAX_BODY_BYTES) {
      tooLarge(req, res, started);
      return;
    }
    // Content-Type is not checked (event-server.md §4.1): every body is read raw and decoded as JSON.
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        tooLarge(req, res, started);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      eventsTotal.inc({ outcome: 'invalid' });
      log.debug({ err: err.message }, 'reading the request body failed');
      json(req, res, started, 400, { error: `reading the request body failed: ${err.message}` });
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      handleEvent(req, res, started, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).catch((err: Error) => {
        log.error({ err: err.message }, 'event handling failed');
        text(req, res, started, 500, 'Internal Server Error\n');
      });
    });
  };

  // Node checks the header and request timeouts only every connectionsCheckingInterval (30 s by default), which let a
  // slow client hold a connection for up to 40 s / 60 s; checking every second keeps the spec's 10 s and 30 s.
  const server = createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    keepAliveTimeout: 30_000,
    connectionsCheckingInterval: 1000,
  }, onRequest);
  const sockets = new Set<Socket>();
  openSockets.set(server, sockets);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    lingerOnClose(socket);
  });
  // A request Node's parser refuses (bad request line or headers, headers over 256 KiB, a timeout) never reaches the
  // handler: answer it with the status and a reason, then close the connection.
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return;
    const [status, reason] = clientErrorAnswer(err.code);
    log.debug({ err: err.message, status }, 'refused a malformed request');
    const body = JSON.stringify({ error: reason });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    socket.destroySoon();
  });

  let closed: Promise<void> | undefined;
  return {
    server,
    listen: ({ host, port }) => new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    }),
    close: () => (closed ??= new Promise<void>((resolve) => {
      closing = true;
      stopReporting();
      server.close(() => resolve());
    })),
  };
}

/**
 * Stops the event server within a bound: no new connections, idle keep-alive connections closed at once, requests in
 * progress (including clients still sending headers or body) given `inflightMs`, then every connection is closed.
 * Resolves with the number of connections that were cut.
 */
export async function closeEventServer(app: EventServer, inflightMs: number): Promise<{ cut: number }> {
  const server = app.server;
  let cut = 0;
  const closed = app.close();
  const reap = () => {
    server.closeIdleConnections();
    // Node counts a connection that has sent nothing yet as busy (so that the header timeout applies to it): close it too.
    for (const socket of openSockets.get(server) ?? []) if (socket.bytesRead === 0) socket.destroy();
  };
  reap();
  // A connection whose request has just been answered becomes idle: reap those as they appear.
  const reaper = setInterval(reap, 50);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      cut = countConnections(server);
      server.closeAllConnections();
      resolve();
    }, inflightMs);
  });
  try {
    await Promise.race([closed, deadline]);
    await closed;
  } finally {
    clearInterval(reaper);
    clearTimeout(timer);
  }
  return { cut };
}

function countConnections(server: Server): number {
  return openSockets.get(server)?.size ?? 0;
}
