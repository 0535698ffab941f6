// Pooled undici dispatchers, one per (proxy, TLS) configuration, resolved once when a provider config is parsed.
import { createHash } from 'node:crypto';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { Agent, EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from 'undici';
import { goQuote } from '../../go/url.js';
import { ConfigError, type TlsMaterial } from '../types.js';

/** How a provider reaches its endpoint: one pooled dispatcher, shared by every config with the same proxy and TLS. */
export interface Transport {
  readonly dispatcher: Dispatcher;
  /** Gives the config's hold on the dispatcher back; the last holder closes it (in-flight requests finish first). */
  release(): void;
}

export interface TransportOptions {
  /** Proxy URL (http, https or socks5); without it HTTP_PROXY/HTTPS_PROXY/NO_PROXY apply, as read at parse time. */
  proxy?: string | undefined;
  tls?: TlsMaterial | undefined;
}

type TlsConnectOptions = ConnectionOptions & { timeout: number; keepAlive: boolean; keepAliveInitialDelay: number };

function connectOptions(tls: TlsMaterial | undefined): TlsConnectOptions {
  // Go's client: 30 s dial, 30 s TCP keep-alive; verification always on, a CA replaces the system roots.
  const opts: TlsConnectOptions = { timeout: 30_000, keepAlive: true, keepAliveInitialDelay: 30_000 };
  if (tls?.ca) opts.ca = tls.ca;
  if (tls?.cert && tls.key) {
    opts.cert = tls.cert;
    opts.key = tls.key;
  }
  return opts;
}

const AGENT_OPTIONS = {
  // Idle sockets are reused across notifications; no server hint means 30 s.
  keepAliveTimeout: 30_000,
  // The provider timeout (the attempt's signal) bounds the request, as the Go client has no deadline of its own.
  headersTimeout: 0,
  bodyTimeout: 0,
};

function proxyDispatcher(proxy: string, tls: TlsMaterial | undefined): Dispatcher {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch (err) {
    throw new ConfigError(`unable to parse proxy URL: ${(err as Error).message}`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'socks5') {
    throw new ConfigError(`unsupported proxy scheme ${goQuote(scheme)} (supported: http, https, socks5)`);
  }
  const requestTls = connectOptions(tls);
  if (scheme !== 'https') return new ProxyAgent({ ...AGENT_OPTIONS, uri: proxy, requestTls });
  // An https proxy presents its own certificate: trust the system roots plus the provider's CA. (undici would
  // speak TLS to a SOCKS proxy given any proxyTls, hence only here.)
  const proxyTls: ConnectionOptions = tls?.ca ? { ca: [...rootCertificates, tls.ca] } : {};
  return new ProxyAgent({ ...AGENT_OPTIONS, uri: proxy, requestTls, proxyTls });
}

const ENV_PROXY = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'];

interface PoolEntry {
  dispatcher: Dispatcher;
  holders: number;
}

/**
 * The HTTP connection pools of one Herald instance. A config acquires its transport once at parse time (the key is
 * hashed then, not per request) and releases it when the Provider changes; idle dispatchers are closed.
 */
export class HttpPool {
  private readonly entries = new Map<string, PoolEntry>();
  private closed = false;

  transport(opts: TransportOptions = {}): Transport {
    if (this.closed) throw new ConfigError('the HTTP client pool is closed (Herald is shutting down)');
    const { proxy, tls } = opts;
    const env = proxy ? [] : ENV_PROXY.map((k) => process.env[k] ?? '');
    const key = createHash('sha256').update(JSON.stringify([proxy ?? '', tls?.ca ?? '', tls?.cert ?? '', tls?.key ?? '', env])).digest('hex');
    let entry = this.entries.get(key);
    if (!entry) {
      const connect = connectOptions(tls);
      // Without any proxy variable a plain Agent does the same: EnvHttpProxyAgent would re-read NO_PROXY from the
      // environment on every request to find it empty.
      const dispatcher = proxy
        ? proxyDispatcher(proxy, tls)
        : env.every((v) => v === '') ? new Agent({ ...AGENT_OPTIONS, connect }) : new EnvHttpProxyAgent({ ...AGENT_OPTIONS, connect, requestTls: connect });
      entry = { dispatcher, holders: 0 };
      this.entries.set(key, entry);
    }
    entry.holders++;
    let released = false;
    const held = entry;
    return {
      dispatcher: entry.dispatcher,
      release: () => {
        if (released) return;
        released = true;
        if (--held.holders > 0 || this.entries.get(key) !== held) return;
        this.entries.delete(key);
        held.dispatcher.close().catch(() => undefined);
      },
    };
  }

  /** Live dispatchers (tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Closes every pooled connection; in-flight requests finish first. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(all.map((e) => e.dispatcher.close()));
  }
}
