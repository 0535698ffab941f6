// The nats provider against a real nats-server: payload bytes, every auth method, TLS, pooling and the failure paths.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection, type ConnectionOptions } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createUser } from '@nats-io/nkeys';
import { createLogger, type Logger } from '../../../src/logger.js';
import { NatsProvider, natsConnectionPool, type NatsConfig } from '../../../src/providers/cloud/nats.js';
import { DeliveryError, type SendContext } from '../../../src/providers/types.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import {
  CANONICAL_PAYLOAD, canonicalEvent, canonicalNotification, makeOperatorChain, natsSettings, type NatsProviderInput,
} from '../../helpers/nats-fixtures.js';
import { makeTestPki } from '../../helpers/tls.js';
import { testRuntime } from '../../helpers/providers.js';

const runtime = testRuntime();

/** Every log line the provider wrote, to prove no secret ever reaches a log. */
const logLines: string[] = [];
const log: Logger = createLogger({
  level: 'debug',
  destination: new Writable({ write(chunk: Buffer, _enc, cb) { logLines.push(chunk.toString('utf8')); cb(); } }),
});

function ctx(timeoutMs = 2000, attempt = 1): SendContext {
  return { signal: AbortSignal.timeout(timeoutMs), attempt, log };
}

const configs: NatsConfig[] = [];
function parse(input: NatsProviderInput): NatsConfig {
  const config = NatsProvider.parse(natsSettings({ channel: 'flux.events', ...input }), { runtime });
  configs.push(config);
  return config;
}

async function sendError(config: NatsConfig, timeoutMs = 2000): Promise<DeliveryError> {
  const err = await NatsProvider.send(canonicalNotification(), config, ctx(timeoutMs)).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}

/** A subscriber that records raw message bytes (and headers) on a subject. */
async function subscribe(opts: ConnectionOptions, subject: string) {
  const nc = await connect(opts);
  const received: { subject: string; data: Uint8Array; msgId?: string }[] = [];
  const waiters: Array<() => void> = [];
  nc.subscribe(subject, {
    callback: (_err, m) => {
      received.push({ subject: m.subject, data: m.data, ...(m.headers?.get('Nats-Msg-Id') ? { msgId: m.headers.get('Nats-Msg-Id') } : {}) });
      for (const w of waiters.splice(0)) w();
    },
  });
  await nc.flush();
  return {
    nc,
    received,
    async waitFor(n: number, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} messages, got ${received.length}`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 50); });
      }
      return received;
    },
    close: () => nc.close(),
  };
}

/** Client connections the server sees from Herald's publisher (the test's own subscribers are named differently). */
async function publisherConnections(server: NatsServer): Promise<number> {
  const res = await fetch(`${server.monitorUrl}/connz?limit=1024`);
  const body = (await res.json()) as { connections?: { name?: string }[] };
  return (body.connections ?? []).filter((c) => c.name === 'NATS Provider Publisher').length;
}

afterEach(async () => {
  for (const c of configs.splice(0)) await NatsProvider.close!(c);
  await natsConnectionPool(runtime).close();
});

afterAll(() => {
  // Nothing any test configured as a credential may appear in a log line.
  const all = logLines.join('\n');
  for (const secret of ['s3cret', 'tok3n-value', 'SUA', '-----BEGIN NATS USER JWT-----', 'n4ts-p4ssw0rd']) {
    expect(all).not.toContain(secret);
  }
});

describe('nats provider: payload and subject', () => {
  let server: NatsServer;
  beforeAll(async () => { server = await startNatsServer(); });
  afterAll(async () => { await server.stop(); });

  it('publishes the exact 552 bytes of the canonical event on spec.channel, with no headers', async () => {
    const sub = await subscribe({ servers: server.url, name: 'test-subscriber' }, '>');
    try {
      const config = parse({ address: server.url });
      await NatsProvider.send(canonicalNotification(), config, ctx());
      const [msg] = await sub.waitFor(1);
      expect(msg!.subject).toBe('flux.events');
      expect(Buffer.from(msg!.data).toString('utf8')).toBe(CANONICAL_PAYLOAD);
      expect(msg!.data.length).toBe(552);
      expect(msg!.msgId).toBeUndefined();
    } finally {
      await sub.close();
    }
  });

  it('upstream vector 9: an event with only metadata {foo: bar} is published as Go encodes it', async () => {
    const sub = await subscribe({ servers: server.url, name: 'test-subscriber' }, 'flux.events');
    try {
      const config = parse({ address: server.url });
      const bare = {
        involvedObject: { kind: '', namespace: '', name: '' }, severity: '', timestamp: null, message: '', reason: '',
        metadata: { foo: 'bar' }, reportingController: '',
      };
      await NatsProvider.send(canonicalNotification(bare), config, ctx());
      const [msg] = await sub.waitFor(1);
      expect(Buffer.from(msg!.data).toString('utf8'))
        .toBe('{"involvedObject":{},"severity":"","timestamp":null,"message":"","reason":"","metadata":{"foo":"bar"},"reportingController":""}');
    } finally {
      await sub.close();
    }
  });

  it('accepts a comma-separated server list with a dead server first, host:port without scheme and a trailing slash', async () => {
    const sub = await subscribe({ servers: server.url, name: 'test-subscriber' }, 'flux.events');
    try {
      // Port 1 refuses connections; the client moves on to the next server.
      const config = parse({ address: `nats://127.0.0.1:1, 127.0.0.1:${server.port}/` });
      expect(config.servers).toEqual(['nats://127.0.0.1:1', `nats://127.0.0.1:${server.port}`]);
      for (let i = 0; i < 3; i++) await NatsProvider.send(canonicalNotification(), config, ctx());
      await sub.waitFor(3);
    } finally {
      await sub.close();
    }
  });

  it('takes the address from the Secret over spec.address', async () => {
    const sub = await subscribe({ servers: server.url, name: 'test-subscriber' }, 'flux.events');
    try {
      const config = parse({ address: 'nats://127.0.0.1:1', secret: { address: server.url } });
      await NatsProvider.send(canonicalNotification(), config, ctx());
      await sub.waitFor(1);
    } finally {
      await sub.close();
    }
  });
});

describe('nats provider: authentication', () => {
  it('user and password from the Secret; a wrong password is a non-retryable authorization error without the password', async () => {
    const server = await startNatsServer({ config: 'authorization { user: flux, password: s3cret }' });
    try {
      const sub = await subscribe({ servers: server.url, user: 'flux', pass: 's3cret', name: 'test-subscriber' }, 'flux.events');
      const good = parse({ address: server.url, secret: { username: 'flux', password: 's3cret' } });
      expect(good.auth).toBe('userpass');
      await NatsProvider.send(canonicalNotification(), good, ctx());
      expect(Buffer.from((await sub.waitFor(1))[0]!.data).toString()).toBe(CANONICAL_PAYLOAD);
      await sub.close();

      const bad = parse({ address: server.url, secret: { username: 'flux', password: 'wrong-s3cret-value' } });
      const err = await sendError(bad);
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/^error publishing event to subject flux\.events: error connecting to server .*Authorization Violation/);
      expect(err.message).toContain('apps/ops-auth');
      expect(err.message).not.toContain('wrong-s3cret-value');

      // No credentials at all against a server that wants them.
      const none = parse({ address: server.url });
      expect((await sendError(none)).message).toMatch(/Authorization Violation/);
    } finally {
      await server.stop();
    }
  });

  it('token auth from the Secret key `token` (Herald addition)', async () => {
    const server = await startNatsServer({ config: 'authorization { token: "tok3n-value" }' });
    try {
      const sub = await subscribe({ servers: server.url, token: 'tok3n-value', name: 'test-subscriber' }, 'flux.events');
      const config = parse({ address: server.url, secret: { token: 'tok3n-value\n' } });
      expect(config.auth).toBe('token');
      await NatsProvider.send(canonicalNotification(), config, ctx());
      await sub.waitFor(1);
      await sub.close();

      const err = await sendError(parse({ address: server.url, secret: { token: 'not-the-tok3n' } }));
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/Authorization Violation/);
      expect(err.message).not.toContain('not-the-tok3n');
    } finally {
      await server.stop();
    }
  });

  it('nkey seed from the Secret key `nkey`; an unknown nkey is rejected', async () => {
    const user = createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const server = await startNatsServer({ config: `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }` });
    try {
      const sub = await subscribe({ servers: server.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), name: 'test-subscriber' }, 'flux.events');
      // A trailing newline (kubectl --from-file) must not break the seed.
      const config = parse({ address: server.url, secret: { nkey: `${seed}\n` } });
      expect(config.auth).toBe('nkey');
      await NatsProvider.send(canonicalNotification(), config, ctx());
      await sub.waitFor(1);
      await sub.close();

      const stranger = new TextDecoder().decode(createUser().getSeed());
      const err = await sendError(parse({ address: server.url, secret: { nkey: stranger } }));
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/Authorization Violation/);
      expect(err.message).not.toContain(stranger);
    } finally {
      await server.stop();
    }
  });

  it('a creds file for an operator/account/user chain; creds from an unknown account are rejected', async () => {
    const chain = await makeOperatorChain();
    const server = await startNatsServer({ config: chain.serverConfig });
    try {
      const sub = await subscribe({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(chain.creds)), name: 'test-subscriber' }, 'flux.events');
      // Creds win over nkey and username/password in the same Secret.
      const config = parse({
        address: server.url,
        secret: { creds: chain.creds, nkey: new TextDecoder().decode(createUser().getSeed()), username: 'someone', password: 'pw-unused' },
      });
      expect(config.auth).toBe('creds');
      await NatsProvider.send(canonicalNotification(), config, ctx());
      expect(Buffer.from((await sub.waitFor(1))[0]!.data).toString()).toBe(CANONICAL_PAYLOAD);
      await sub.close();

      const err = await sendError(parse({ address: server.url, secret: { creds: chain.foreignCreds } }));
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/Authorization Violation/);
      expect(err.message).not.toContain('-----BEGIN');
    } finally {
      await server.stop();
    }
  });
});

describe('nats provider: TLS', () => {
  const pki = makeTestPki();
  let dir: string;
  beforeAll(async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    dir = mkdtempSync(join(tmpdir(), 'herald-nats-tls-'));
    for (const [f, v] of [['ca.crt', pki.ca], ['server.crt', pki.serverCert], ['server.key', pki.serverKey]] as const) writeFileSync(join(dir, f), v);
  });

  it('connects over TLS with the CA from certSecretRef and a tls:// server URL; without the CA it fails on verification', async () => {
    const server = await startNatsServer({ config: `tls { cert_file: "${dir}/server.crt", key_file: "${dir}/server.key" }` });
    try {
      const sub = await subscribe({ servers: server.url, tls: { ca: pki.ca }, name: 'test-subscriber' }, 'flux.events');
      const config = parse({ address: `tls://127.0.0.1:${server.port}`, certSecret: { 'ca.crt': pki.ca } });
      expect(config.tls).toBe(true);
      await NatsProvider.send(canonicalNotification(), config, ctx());
      await sub.waitFor(1);
      await sub.close();

      // The test CA is not in the system trust store.
      const err = await sendError(parse({ address: `tls://127.0.0.1:${server.port}`, channel: 'flux.other' }));
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/^error publishing event to subject flux\.other: error connecting to server tls:\/\/127\.0\.0\.1:\d+: TLS: unable to verify the first certificate$/);
      const wrongCa = await sendError(parse({ address: `tls://127.0.0.1:${server.port}`, channel: 'flux.third', certSecret: { 'ca.crt': pki.otherCa } }));
      expect(wrongCa.retryable).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('mutual TLS: the client certificate from certSecretRef is required and accepted', async () => {
    const server = await startNatsServer({
      config: `tls { cert_file: "${dir}/server.crt", key_file: "${dir}/server.key", ca_file: "${dir}/ca.crt", verify: true }`,
    });
    try {
      const sub = await subscribe({ servers: server.url, tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }, name: 'test-subscriber' }, 'flux.events');
      const config = parse({ address: server.url, certSecret: { 'ca.crt': pki.ca, 'tls.crt': pki.clientCert, 'tls.key': pki.clientKey } });
      await NatsProvider.send(canonicalNotification(), config, ctx());
      await sub.waitFor(1);
      await sub.close();

      // nats.js sees the server's rejection only as a handshake that never completes.
      const noCert = await sendError(parse({ address: server.url, channel: 'flux.nocert', certSecret: { 'ca.crt': pki.ca } }), 500);
      expect(noCert.message).toMatch(/^error publishing event to subject flux\.nocert: error connecting to server .*set tls\.crt and tls\.key in the certSecretRef Secret/);
      expect(noCert.message).not.toContain('PRIVATE KEY');
    } finally {
      await server.stop();
    }
  });
});

describe('nats provider: pooling', () => {
  let server: NatsServer;
  beforeAll(async () => { server = await startNatsServer(); });
  afterAll(async () => { await server.stop(); });

  it('serves many notifications, sequential and concurrent, over one connection', async () => {
    const sub = await subscribe({ servers: server.url, name: 'test-subscriber' }, 'flux.events');
    try {
      const config = parse({ address: server.url });
      for (let i = 0; i < 20; i++) await NatsProvider.send(canonicalNotification(), config, ctx());
      await Promise.all(Array.from({ length: 200 }, () => NatsProvider.send(canonicalNotification(), config, ctx())));
      await sub.waitFor(220);
      expect(await publisherConnections(server)).toBe(1);
      expect(natsConnectionPool(runtime).size).toBe(1);

      // A second Provider with the same servers and credentials shares the connection.
      const other = parse({ address: server.url, name: 'ops-2', channel: 'flux.events' });
      await NatsProvider.send(canonicalNotification(), other, ctx());
      expect(await publisherConnections(server)).toBe(1);
    } finally {
      await sub.close();
    }
  });

  it('closes (drains) the connection when the last Provider using it lets go; a changed Secret gets its own connection', async () => {
    const first = parse({ address: server.url, secret: { token: 'tok3n-value' } });
    await NatsProvider.send(canonicalNotification(), first, ctx());
    expect(await publisherConnections(server)).toBe(1);

    // The Secret changed: a new config with other credentials, then the old one is closed.
    const second = parse({ address: server.url, secret: { token: 'tok3n-value-rotated' } });
    await NatsProvider.send(canonicalNotification(), second, ctx());
    expect(await publisherConnections(server)).toBe(2);
    await NatsProvider.close!(first);
    await expect.poll(() => publisherConnections(server)).toBe(1);

    await NatsProvider.close!(second);
    await expect.poll(() => publisherConnections(server)).toBe(0);
    expect(natsConnectionPool(runtime).size).toBe(0);
  });

  it('closing the pool drains: every message published before shutdown arrives', async () => {
    const sub = await subscribe({ servers: server.url, name: 'test-subscriber' }, 'flux.events');
    try {
      const config = parse({ address: server.url });
      const sends = Array.from({ length: 50 }, () => NatsProvider.send(canonicalNotification(), config, ctx()));
      await Promise.all(sends);
      await natsConnectionPool(runtime).close();
      await sub.waitFor(50);
      await expect.poll(() => publisherConnections(server)).toBe(0);
    } finally {
      await sub.close();
    }
  });

  it('after a server restart the pooled connection reconnects and later notifications go through', async () => {
    const restartable = await startNatsServer();
    try {
      const config = parse({ address: restartable.url });
      await NatsProvider.send(canonicalNotification(), config, ctx());
      await restartable.restart();
      const sub = await subscribe({ servers: restartable.url, name: 'test-subscriber' }, 'flux.events');
      // The send waits for the client to reconnect (within the provider timeout) instead of failing at once.
      await NatsProvider.send(canonicalNotification(), config, ctx(5000));
      await sub.waitFor(1);
      await sub.close();
      expect(await publisherConnections(restartable)).toBe(1);
    } finally {
      await restartable.stop();
    }
  });
});

describe('nats provider: failures', () => {
  it('server down at send time: a retryable connection error, and the next attempt succeeds once the server is up', async () => {
    const server = await startNatsServer();
    await server.halt();
    try {
      const config = parse({ address: server.url });
      const err = await sendError(config);
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/^error publishing event to subject flux\.events: error connecting to server nats:\/\/127\.0\.0\.1:\d+: /);
      expect(natsConnectionPool(runtime).size).toBe(0);
      await server.start();
      await NatsProvider.send(canonicalNotification(), config, ctx());
    } finally {
      await server.stop();
    }
  });

  it('server gone while connected: the send waits for a reconnect, then fails retryably at the deadline', async () => {
    const server = await startNatsServer();
    try {
      const config = parse({ address: server.url });
      await NatsProvider.send(canonicalNotification(), config, ctx());
      await server.halt();
      const started = Date.now();
      const err = await sendError(config, 600);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/reconnecting|did not confirm/);
    } finally {
      await server.stop();
    }
  });

  it('credentials revoked while connected: the client gives up reconnecting, the send fails, and the next one reports the authorization error', async () => {
    const server = await startNatsServer({ config: 'authorization { user: flux, password: s3cret }' });
    try {
      const config = parse({ address: server.url, secret: { username: 'flux', password: 's3cret' } });
      await NatsProvider.send(canonicalNotification(), config, ctx());
      await server.restart({ config: 'authorization { user: flux, password: rotated-s3cret }' });
      // Waiting for a reconnect that is refused twice: the client closes the connection with that error and the pool forgets it.
      const first = await sendError(config, 5000);
      expect(first.retryable).toBe(false);
      expect(first.message).toMatch(/Authorization Violation \(check the credentials in secret apps\/ops-auth\)$/);
      expect(natsConnectionPool(runtime).size).toBe(0);
      const next = await sendError(config);
      expect(next.retryable).toBe(false);
      expect(next.message).toMatch(/Authorization Violation \(check the credentials in secret apps\/ops-auth\)$/);
    } finally {
      await server.stop();
    }
  });

  it('a stalled server (connected, no PONG): the send fails retryably at its deadline, not later', async () => {
    const server = await startNatsServer();
    try {
      const config = parse({ address: server.url });
      await NatsProvider.send(canonicalNotification(), config, ctx());
      await server.pause();
      const started = Date.now();
      const err = await sendError(config, 300);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1000);
      expect(err.retryable).toBe(true);
      expect(err.message).toBe('error publishing event to subject flux.events: error publishing message to server: the server did not confirm the publish before the attempt deadline');
      server.resume();
      await NatsProvider.send(canonicalNotification(), config, ctx());
    } finally {
      await server.stop();
    }
  });

  it('permission denied on the subject: a non-retryable error naming the subject; other subjects on the same connection still work', async () => {
    const server = await startNatsServer({
      config: 'authorization { users: [ { user: flux, password: s3cret, permissions: { publish: { allow: ["flux.allowed"] } } } ] }',
    });
    try {
      const denied = parse({ address: server.url, channel: 'flux.denied', secret: { username: 'flux', password: 's3cret' } });
      const allowed = parse({ address: server.url, channel: 'flux.allowed', name: 'ops-allowed', secret: { username: 'flux', password: 's3cret' } });
      await NatsProvider.send(canonicalNotification(), allowed, ctx());
      const [err] = await Promise.all([sendError(denied), NatsProvider.send(canonicalNotification(), allowed, ctx())]);
      expect(err!.retryable).toBe(false);
      expect(err!.message).toBe('error publishing event to subject flux.denied: error publishing message to server: Permissions Violation for Publish to "flux.denied"');
      await NatsProvider.send(canonicalNotification(), allowed, ctx());
      expect(await publisherConnections(server)).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('payload over the server max_payload: a non-retryable error with both sizes', async () => {
    const server = await startNatsServer({ config: 'max_payload: 512' });
    try {
      const config = parse({ address: server.url });
      const err = await sendError(config);
      expect(err.retryable).toBe(false);
      expect(err.message).toBe("error publishing event to subject flux.events: error publishing message to server: payload of 552 bytes exceeds the server's max_payload of 512 bytes");
      // The connection survives: a smaller event still goes out.
      const small = canonicalEvent();
      small.message = 'x';
      small.metadata = {};
      await NatsProvider.send(canonicalNotification(small), config, ctx());
    } finally {
      await server.stop();
    }
  });
});

describe('nats provider: JetStream (herald.dev/nats-jetstream)', () => {
  let server: NatsServer;
  let admin: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    admin = await connect({ servers: server.url, name: 'test-admin' });
    const jsm = await jetstreamManager(admin);
    await jsm.streams.add({ name: 'FLUX', subjects: ['flux.events'], duplicate_window: 60_000_000_000 });
  });
  afterAll(async () => {
    await admin.close();
    await server.stop();
  });

  it('publishes through JetStream, counts the delivery on the ack and deduplicates a retried publish by message id', async () => {
    const config = parse({ address: server.url, annotations: { 'herald.dev/nats-jetstream': 'true' } });
    expect(config.jetstream).toBe(true);
    const jsm = await jetstreamManager(admin);
    await NatsProvider.send(canonicalNotification(), config, ctx());
    // The retry of the same notification (attempt 2) must not store a second copy.
    await NatsProvider.send(canonicalNotification(), config, ctx(2000, 2));
    let info = await jsm.streams.info('FLUX');
    expect(info.state.messages).toBe(1);
    const stored = await jsm.streams.getMessage('FLUX', { seq: info.state.last_seq });
    expect(Buffer.from(stored!.data).toString()).toBe(CANONICAL_PAYLOAD);
    expect(stored!.header.get('Nats-Msg-Id')).toMatch(/^[0-9a-f]{64}$/);

    // Another notification (the info variant) is a different message.
    await NatsProvider.send(canonicalNotification(canonicalEvent('info')), config, ctx());
    info = await jsm.streams.info('FLUX');
    expect(info.state.messages).toBe(2);
  });

  it('without a stream on the subject: a clear retryable error naming the annotation', async () => {
    const config = parse({ address: server.url, channel: 'flux.nostream', annotations: { 'herald.dev/nats-jetstream': 'true' } });
    const err = await sendError(config);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^error publishing event to subject flux\.nostream: no JetStream stream captures the subject/);
    expect(err.message).toContain('herald.dev/nats-jetstream');
  });
});
