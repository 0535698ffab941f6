// Provider `nats`: publishes the event JSON to a subject over a pooled connection, optionally through JetStream.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { fromSeed } from '@nats-io/nkeys';
import {
  jwtAuthenticator, nkeyAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator,
  type Authenticator, type ConnectionOptions, type TlsOptions,
} from '@nats-io/transport-node';
import { encodeEvent } from '../../api/event.js';
import { maskSecrets } from '../../logger.js';
import {
  NatsAbortedError, NatsConnectionPool, NatsMaxPayloadError, NatsPublishViolation,
  type NatsConnectionOwner, type NatsConnectionSpec,
} from './nats-pool.js';
import type { ProviderRuntime } from '../runtime.js';
import { ConfigError, defineProvider, DeliveryError, type Notification, type ParseContext, type ProviderSettings, type SendContext } from '../types.js';

export const NATS_JETSTREAM_ANNOTATION = 'herald.dev/nats-jetstream';
/** The client name Flux's publisher uses; servers show it in connz. */
const CLIENT_NAME = 'NATS Provider Publisher';
/** Dial, TLS and CONNECT/PONG together; Flux's client allows 2 s per server for the dial alone. */
const HANDSHAKE_TIMEOUT_MS = 5000;

export type NatsAuthMethod = 'creds' | 'nkey' | 'userpass' | 'token' | 'url' | 'none';

export interface NatsConfig {
  /** `namespace/name` of the Provider. */
  provider: string;
  subject: string;
  /** Server URLs without user info (safe to log). */
  servers: string[];
  auth: NatsAuthMethod;
  tls: boolean;
  /** A client certificate (mutual TLS) comes from certSecretRef. */
  clientCertificate: boolean;
  jetstream: boolean;
  timeoutMs: number;
  /** Values masked out of every error message. Non-enumerable so a logged config never shows them. */
  readonly sensitive: string[];
  readonly connection: NatsConnectionSpec;
  readonly owner: NatsConnectionOwner;
  /** The instance's pool the connection lives in. */
  readonly pool: NatsConnectionPool;
  /** Secret `namespace/name` for error hints, when there is one. */
  secretName?: string;
}

/** A per-process HMAC key: a pool key must not let anyone who sees it test password guesses offline. */
const POOL_KEY_SALT = randomBytes(32);

/** The instance's NATS connection pool (drained, nothing buffered lost, when the runtime closes). */
export function natsConnectionPool(runtime: ProviderRuntime): NatsConnectionPool {
  return runtime.shared('nats-connections', () => new NatsConnectionPool());
}

interface ServerList {
  hostPorts: string[];
  display: string[];
  tls: boolean;
  urlUser?: string;
  urlPass?: string;
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/** Flux's server-list rules: comma-separated, trimmed, one trailing `/` dropped, `nats://` and `:4222` defaulted. */
export function parseServers(address: string, where: string): ServerList {
  const items = address.split(',').map((s) => s.trim().replace(/\/$/, '')).filter((s) => s !== '');
  const out: ServerList = { hostPorts: [], display: [], tls: false };
  items.forEach((item, i) => {
    const withScheme = item.includes('://') ? item : `nats://${item}`;
    const scheme = SCHEME.exec(withScheme)?.[1]?.toLowerCase();
    const position = `server ${i + 1} of the address`;
    if (scheme === 'ws' || scheme === 'wss') {
      throw new ConfigError(`${where}: ${position} uses ${scheme}://, but Herald's nats provider supports only nats:// and tls:// servers`);
    }
    if (scheme !== 'nats' && scheme !== 'tls') {
      throw new ConfigError(`${where}: ${position} has the unsupported scheme ${JSON.stringify(scheme ?? '')} (use nats:// or tls://)`);
    }
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new ConfigError(`${where}: ${position} is not a valid NATS server URL`);
    }
    if (!url.hostname) throw new ConfigError(`${where}: ${position} has no host`);
    const port = url.port || '4222';
    out.hostPorts.push(`${url.hostname}:${port}`);
    out.display.push(`${scheme}://${url.hostname}:${port}`);
    if (scheme === 'tls') out.tls = true;
    if (url.username && out.urlUser === undefined) {
      try {
        out.urlUser = decodeURIComponent(url.username);
        if (url.password) out.urlPass = decodeURIComponent(url.password);
      } catch {
        throw new ConfigError(`${where}: ${position} has badly percent-encoded user info`);
      }
    }
  });
  return out;
}

const CREDS_BLOCK = /-{3,}[^\n]*-{3,}\r?\n([\w\-.=]+)\r?\n-{3,}[^\n]*-{3,}/g;

interface ParsedCreds { jwt: string; seed: Uint8Array }

function parseCreds(text: string, where: string): ParsedCreds {
  const blocks = [...text.matchAll(CREDS_BLOCK)].map((m) => m[1]!);
  const jwt = blocks[0];
  const seed = blocks[1];
  if (!jwt || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(jwt)) {
    throw new ConfigError(`${where} key 'creds' is not a NATS credentials file: no user JWT block found`);
  }
  if (!seed) throw new ConfigError(`${where} key 'creds' is not a NATS credentials file: no user nkey seed block found`);
  return { jwt, seed: userSeed(seed, where, 'creds') };
}

function userSeed(seed: string, where: string, key: string): Uint8Array {
  const bytes = new TextEncoder().encode(seed);
  let publicKey: string;
  try {
    publicKey = fromSeed(bytes).getPublicKey();
  } catch (err) {
    // nkeys error texts name the problem (bad checksum, invalid prefix), never the seed.
    throw new ConfigError(`${where} key '${key}' holds an invalid NATS nkey seed: ${(err as Error).message}`);
  }
  if (!publicKey.startsWith('U')) {
    throw new ConfigError(`${where} key '${key}' holds a NATS seed for a ${publicKey[0] === 'A' ? 'account' : 'non-user'} key; a user seed (SU...) is required`);
  }
  return bytes;
}

function str(buf: Buffer | undefined): string {
  return buf === undefined ? '' : buf.toString('utf8');
}

function parse(settings: ProviderSettings, ctx: ParseContext): NatsConfig {
  const meta = settings.provider.metadata;
  const provider = `${meta.namespace}/${meta.name}`;
  const where = `provider ${provider}`;
  const secretWhere = settings.secretName ? `${where}: secret ${settings.secretName}` : where;

  if (settings.address.trim() === '') throw new ConfigError(`${where}: NATS server (address) cannot be empty`);
  const subject = settings.channel;
  if (subject === '') throw new ConfigError(`${where}: NATS subject (channel) cannot be empty`);
  // The Go client drops such a publish silently; say so before anything is sent.
  if (/\s/.test(subject)) throw new ConfigError(`${where}: NATS subject (channel) ${JSON.stringify(subject)} must not contain whitespace`);

  const servers = parseServers(settings.address, where);
  if (servers.hostPorts.length === 0) throw new ConfigError(`${where}: NATS server (address) cannot be empty`);

  const annotation = meta.annotations?.[NATS_JETSTREAM_ANNOTATION];
  if (annotation !== undefined && annotation !== 'true' && annotation !== 'false') {
    throw new ConfigError(`${where}: annotation ${NATS_JETSTREAM_ANNOTATION} must be "true" or "false", got ${JSON.stringify(annotation)}`);
  }

  const sensitive = [...settings.sensitive];
  const data = settings.secretData;
  const creds = str(data['creds']);
  const nkey = str(data['nkey']).trim();
  const token = settings.token.trim();
  let auth: NatsAuthMethod = 'none';
  let authenticator: Authenticator | Authenticator[] | undefined;
  // Key material for the pool hash only; it never leaves this function except hashed.
  let material: unknown[] = [];

  const urlAuth = (): Authenticator | undefined => {
    if (servers.urlUser === undefined) return undefined;
    if (servers.urlPass !== undefined) {
      sensitive.push(servers.urlPass);
      return usernamePasswordAuthenticator(servers.urlUser, servers.urlPass);
    }
    sensitive.push(servers.urlUser);
    return tokenAuthenticator(servers.urlUser);
  };

  if (creds.trim() !== '') {
    const parsed = parseCreds(creds, secretWhere);
    sensitive.push(creds, parsed.jwt, new TextDecoder().decode(parsed.seed));
    auth = 'creds';
    const jwtAuth = jwtAuthenticator(parsed.jwt, parsed.seed);
    const fromUrl = urlAuth();
    // As in Flux, URL credentials are sent alongside the JWT.
    authenticator = fromUrl ? [fromUrl, jwtAuth] : jwtAuth;
    material = ['creds', parsed.jwt, creds, servers.urlUser, servers.urlPass];
  } else if (servers.urlUser !== undefined) {
    // URL user info replaces the nkey, username/password and token methods (Go client behaviour).
    auth = 'url';
    authenticator = urlAuth();
    material = ['url', servers.urlUser, servers.urlPass];
  } else if (nkey !== '') {
    const seed = userSeed(nkey, secretWhere, 'nkey');
    sensitive.push(nkey);
    auth = 'nkey';
    authenticator = nkeyAuthenticator(seed);
    material = ['nkey', nkey];
  } else if (settings.username !== '' && settings.password !== '') {
    sensitive.push(settings.password);
    auth = 'userpass';
    authenticator = usernamePasswordAuthenticator(settings.username, settings.password);
    material = ['userpass', settings.username, settings.password];
  } else if (token !== '') {
    sensitive.push(token);
    auth = 'token';
    authenticator = tokenAuthenticator(token);
    material = ['token', token];
  }

  const tlsMaterial = settings.tls;
  const useTls = servers.tls || tlsMaterial !== undefined;
  const tls: TlsOptions | undefined = useTls
    ? {
        ...(tlsMaterial?.ca ? { ca: tlsMaterial.ca } : {}),
        ...(tlsMaterial?.cert ? { cert: tlsMaterial.cert } : {}),
        ...(tlsMaterial?.key ? { key: tlsMaterial.key } : {}),
      }
    : undefined;

  const timeoutMs = settings.timeoutMs;
  const key = createHmac('sha256', POOL_KEY_SALT)
    .update(JSON.stringify([servers.hostPorts, useTls, tlsMaterial?.ca ?? '', tlsMaterial?.cert ?? '', tlsMaterial?.key ?? '', material]))
    .digest('hex');
  const options = (): ConnectionOptions => ({
    servers: servers.hostPorts,
    name: CLIENT_NAME,
    ...(authenticator ? { authenticator } : {}),
    ...(tls ? { tls } : {}),
    timeout: Math.min(timeoutMs, HANDSHAKE_TIMEOUT_MS),
    reconnect: true,
    // The pool, not the client, decides when a connection ends: when its Provider lets go of it.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    reconnectJitter: 250,
    reconnectJitterTLS: 500,
    pingInterval: 30_000,
    // Server gossip could add cluster URLs the user never configured; keep to the address given.
    ignoreClusterUpdates: true,
  });

  const config: NatsConfig = {
    provider,
    subject,
    servers: servers.display,
    auth,
    tls: useTls,
    clientCertificate: Boolean(tlsMaterial?.cert && tlsMaterial.key),
    jetstream: annotation === 'true',
    timeoutMs,
    ...(settings.secretName ? { secretName: settings.secretName } : {}),
  } as NatsConfig;
  Object.defineProperties(config, {
    sensitive: { value: [...new Set(sensitive)], enumerable: false },
    connection: { value: { key, display: servers.display.join(','), options }, enumerable: false },
    owner: { value: { id: provider, closed: false }, enumerable: false },
    pool: { value: natsConnectionPool(ctx.runtime), enumerable: false },
  });
  return config;
}

/** Stable across retries and redeliveries of one notification, so a JetStream stream drops the duplicate. */
export function natsMessageId(n: Notification, payload: string): string {
  return createHash('sha256').update(`${n.provider.uid}\n${n.alert.uid}\n${payload}`).digest('hex');
}

function failure(err: unknown, config: NatsConfig): DeliveryError {
  const prefix = `error publishing event to subject ${config.subject}`;
  const servers = config.connection.display;
  const credentialsHint = config.secretName ? ` (check the credentials in secret ${config.secretName})` : '';
  // nats.js reports a server that rejects the TLS handshake for want of a client certificate only as a timeout.
  const tlsHint = config.tls && !config.clientCertificate
    ? '; a server that requires a client certificate (TLS verify) fails the handshake this way: set tls.crt and tls.key in the certSecretRef Secret'
    : '';
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  const text = (message: string, retryable: boolean): DeliveryError =>
    new DeliveryError(maskSecrets(`${prefix}: ${message}`, config.sensitive), { retryable });

  if (e instanceof NatsAbortedError) {
    switch (e.phase) {
      case 'connecting':
        return text(`error connecting to server ${servers}: no connection before the attempt deadline${tlsHint}`, true);
      case 'reconnecting':
        return text(`connection to ${servers} is down and the client is reconnecting; no reconnect before the attempt deadline`, true);
      case 'flushing':
        return text('error publishing message to server: the server did not confirm the publish before the attempt deadline', true);
      case 'acknowledging':
        return text('JetStream did not acknowledge the message before the attempt deadline', true);
    }
  }
  if (e instanceof NatsPublishViolation) return text(`error publishing message to server: ${e.message}`, false);
  if (e instanceof NatsMaxPayloadError) return text(`error publishing message to server: ${e.message}`, false);
  switch (e.name) {
    case 'AuthorizationError':
    case 'UserAuthenticationExpiredError':
      return text(`error connecting to server ${servers}: ${e.message}${credentialsHint}`, false);
    case 'PermissionViolationError':
      return text(`error publishing message to server: ${e.message}`, false);
    case 'JetStreamNotEnabled':
      return text(`no JetStream stream captures the subject (the server answered: no responders); create a stream for it or remove the ${NATS_JETSTREAM_ANNOTATION} annotation`, true);
    case 'JetStreamApiError': {
      const status = (e as { status?: number }).status;
      return text(`JetStream rejected the message: ${e.message}`, status === 503);
    }
    case 'InvalidArgumentError':
      return text(`error publishing message to server: ${e.message}`, false);
    case 'TimeoutError':
      return text(`error connecting to server ${servers}: no answer to the NATS handshake within ${HANDSHAKE_TIMEOUT_MS}ms${tlsHint}`, true);
    case 'RequestError':
      return text(`error publishing message to server: ${e.message}`, true);
    case 'ClosedConnectionError':
    case 'DrainingConnectionError':
      return text(`error publishing message to server: ${e.message} (the connection was being closed)`, true);
    default:
      break;
  }
  const tlsCode = typeof code === 'string' && /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code);
  // Node's hint about --use-system-ca does not apply: the trust store is certSecretRef's ca.crt or the system's.
  if (tlsCode) return text(`error connecting to server ${servers}: TLS: ${e.message.replace(/; if the root CA is installed locally.*$/s, '')}`, false);
  if (/does not support 'tls'|tls is not available/i.test(e.message)) {
    return text(`error connecting to server ${servers}: ${e.message}`, false);
  }
  const cause = e.cause instanceof Error && e.cause.message && e.cause.message !== e.message ? `: ${e.cause.message}` : '';
  return text(`error connecting to server ${servers}: ${e.message}${cause}`, true);
}

async function send(notification: Notification, config: NatsConfig, ctx: SendContext): Promise<void> {
  const payloadText = encodeEvent(notification.event);
  const payload = Buffer.from(payloadText, 'utf8');
  const conn = config.pool.acquire(config.connection, config.owner, ctx.log);
  try {
    if (!config.jetstream) {
      await conn.publish(config.subject, payload, ctx.signal);
      return;
    }
    const ack = await conn.publishJetStream(config.subject, payload, natsMessageId(notification, payloadText), config.timeoutMs, ctx.signal);
    if (ack.duplicate) {
      ctx.log.debug({ provider: config.provider, stream: ack.stream, seq: ack.seq }, 'JetStream already had this notification (deduplicated by message id)');
    }
  } catch (err) {
    throw failure(err, config);
  } finally {
    config.pool.done(conn);
  }
}

async function close(config: NatsConfig): Promise<void> {
  await config.pool.release(config.connection.key, config.owner);
}

export const NatsProvider = defineProvider<NatsConfig>({
  type: 'nats',
  category: 'cloud-bus',
  secretKeys: [
    { key: 'creds', sensitive: true },
    { key: 'nkey', sensitive: true },
  ],
  // TLS from a tls:// address and certSecretRef; NATS speaks its own protocol, so no HTTP proxy applies.
  transport: { proxy: false, tls: true },
  parse,
  send,
  preview: (n, config) => ({ kind: 'publish', target: `NATS subject ${config.subject}${config.jetstream ? ' (JetStream)' : ''}`, payload: encodeEvent(n.event) }),
  close,
});
