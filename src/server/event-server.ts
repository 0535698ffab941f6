// The HTTP event server (fastify): Flux's limits and status codes, validation, dedup (429), dispatch, 202.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
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
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

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

/** When the request arrived (performance.now()), set on the raw request before fastify sees it. */
const STARTED = Symbol('herald.startedAt');
type TimedRequest = IncomingMessage & { [STARTED]?: number };

function text(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).header('content-type', 'text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(body);
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

export function createEventServer(opts: EventServerOptions): FastifyInstance {
  const { dedup, dispatcher, log } = opts;
  const handlerLabel = (url: string) => (opts.exportHttpPathMetrics ? url.split('?')[0]! : '/');
  // Label children are cached: prom-client hashes label sets on every call otherwise, which shows on the hot path.
  const children = new Map<string | number, { duration: ReturnType<typeof httpRequestDuration.labels>; size: ReturnType<typeof httpResponseSize.labels> }>();
  // In-flight requests per handler label as plain numbers, read when the metrics are scraped.
  const inflight = new Map<string, number>();
  const stopReporting = reportInflight(inflight);
  const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void): Server => {
    // Node checks the header and request timeouts only every connectionsCheckingInterval (30 s by default), which let a
    // slow client hold a connection for up to 40 s / 60 s; checking every second keeps the spec's 10 s and 30 s.
    const server = createServer({
      maxHeaderSize: MAX_HEADER_BYTES,
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      keepAliveTimeout: 30_000,
      connectionsCheckingInterval: 1000,
    }, (req, res) => {
      // Request metrics start here rather than in a fastify onRequest hook: one hook fewer per request.
      (req as TimedRequest)[STARTED] = performance.now();
      const label = handlerLabel(req.url ?? '/');
      inflight.set(label, (inflight.get(label) ?? 0) + 1);
      // Content-Type is not checked (event-server.md §4.1): a garbled one must not make the framework answer 400/415.
      if (req.headers['content-type'] !== undefined) req.headers['content-type'] = 'application/octet-stream';
      handler(req, res);
    });
    const sockets = new Set<Socket>();
    openSockets.set(server, sockets);
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      lingerOnClose(socket);
    });
    return server;
  };
  const app = Fastify({
    serverFactory,
    bodyLimit: MAX_BODY_BYTES,
    logger: false,
    return503OnClosing: true,
    // Flux accepts any path: do not let the router normalise or reject odd ones.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  });

  app.removeAllContentTypeParsers();
  // Content-Type is not checked (event-server.md §4.1): every body is read raw and decoded as JSON.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body));

  app.addHook('onResponse', (req, reply, done) => {
    const handler = handlerLabel(req.url);
    // The common case (every event is a POST to any path, labelled '/') needs no key string per request.
    const common = handler === '/' && req.method === 'POST';
    const key = common ? reply.statusCode : `${handler}\u0000${req.method}\u0000${reply.statusCode}`;
    let c = children.get(key);
    if (!c) {
      const labels = { service: '', handler, method: req.method, code: String(reply.statusCode) };
      children.set(key, (c = { duration: httpRequestDuration.labels(labels), size: httpResponseSize.labels(labels) }));
    }
    inflight.set(handler, Math.max(0, (inflight.get(handler) ?? 1) - 1));
    const started = (req.raw as TimedRequest)[STARTED];
    c.duration.observe(started === undefined ? 0 : (performance.now() - started) / 1000);
    const size = Number(reply.getHeader('content-length') ?? 0);
    c.size.observe(Number.isFinite(size) ? size : 0);
    done();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      eventsTotal.inc({ outcome: 'invalid' });
      return reply.code(413).send({ error: `request body larger than ${MAX_BODY_BYTES} bytes` });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      eventsTotal.inc({ outcome: 'invalid' });
      log.debug({ err: err.message }, 'reading the request body failed');
      return reply.code(400).send({ error: `reading the request body failed: ${err.message}` });
    }
    log.error({ err: err.message }, 'event handling failed');
    return text(reply, 500, 'Internal Server Error\n');
  });

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

  app.route({
    method: [...ALL_METHODS],
    url: '/*',
    handler: async (req, reply) => {
      if (req.method !== 'POST') {
        return reply.code(405).header('allow', 'POST').send({ error: `method ${req.method} not allowed: Flux events are POSTed` });
      }
      if (opts.accepting && !opts.accepting()) {
        eventsTotal.inc({ outcome: 'unavailable' });
        return reply.code(503).header('retry-after', '1').send({ error: 'shutting down' });
      }
      const body = req.body;
      let event;
      try {
        event = decodeEvent(Buffer.isBuffer(body) ? body : Buffer.alloc(0));
      } catch (err) {
        eventsTotal.inc({ outcome: 'invalid' });
        const e = err as EventDecodeError;
        log.debug({ error: e.message }, 'decoding the request body failed');
        return reply.code(400).send(e.field ? { error: e.message, field: e.field } : { error: e.message });
      }
      event = cleanMetadata(event);
      const key = rateLimitKey(event);
      // The memory store answers at once: no promise and microtask hop per event for it.
      const decision = dedup.takeSync ? dedup.takeSync(key) : await dedup.take(key);
      const reset = formatResetHeader(decision.resetAt);
      reply.header('x-ratelimit-limit', '1').header('x-ratelimit-remaining', '0').header('x-ratelimit-reset', reset);
      if (!decision.allowed) {
        eventsTotal.inc({ outcome: 'duplicate' });
        opts.onDuplicate?.(event);
        log.debug({ eventInvolvedObject: event.involvedObject }, 'Discarding event, rate limiting duplicate events');
        return text(reply.header('retry-after', reset), 429, 'Too Many Requests\n');
      }
      try {
        await dispatcher.dispatch(removeInternalMetadata(event));
      } catch (err) {
        eventsTotal.inc({ outcome: 'unavailable' });
        unavailable(event, err as Error & { reported?: boolean });
        // Give the window back, or the emitter's retry of this very event would be answered 429 and lost.
        await dedup.release(key).catch(() => undefined);
        return reply.code(503).header('retry-after', '1').send({ error: (err as Error).message });
      }
      eventsTotal.inc({ outcome: 'accepted' });
      return reply.code(202).send();
    },
  });
  app.addHook('onClose', (_instance, done) => {
    stopReporting();
    done();
  });
  return app;
}

/**
 * Stops the event server within a bound: no new connections, idle keep-alive connections closed at once, requests in
 * progress (including clients still sending headers or body) given `inflightMs`, then every connection is closed.
 * Resolves with the number of connections that were cut.
 */
export async function closeEventServer(app: FastifyInstance, inflightMs: number): Promise<{ cut: number }> {
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
