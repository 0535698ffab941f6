// Helpers for the overload tests: a webhook that never answers, and Herald's own event-loop lag from /metrics.
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

export interface HangingServer {
  /** Base URL without a trailing slash. */
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** A TCP server that accepts connections and never answers: a webhook that hangs. */
export async function startHangingServer(): Promise<HangingServer> {
  const sockets = new Set<Socket>();
  let seen = 0;
  const server = createNetServer((s) => {
    seen++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => seen,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/**
 * The longest event-loop stall of a running Herald since the previous call (prom-client's
 * nodejs_eventloop_lag_max_seconds, whose histogram is reset by each scrape), in ms.
 */
export async function maxLagMs(metricsUrl: string): Promise<number> {
  const text = await fetch(`${metricsUrl}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith('nodejs_eventloop_lag_max_seconds '));
  if (!line) throw new Error('no nodejs_eventloop_lag_max_seconds in /metrics');
  return Number(line.split(' ')[1]) * 1000;
}
