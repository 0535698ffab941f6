// nats provider configuration: spec vectors, auth precedence, server lists, annotation, and secrets kept out of sight.
import { describe, expect, it } from 'vitest';
import { createAccount, createUser, fromPublic } from '@nats-io/nkeys';
import type { Auth, Authenticator } from '@nats-io/transport-node';
import { NatsProvider, natsMessageId, parseServers, type NatsConfig } from '../../../src/providers/cloud/nats.js';
import { ConfigError } from '../../../src/providers/types.js';
import { canonicalEvent, canonicalNotification, makeOperatorChain, natsSettings, type NatsProviderInput } from '../../helpers/nats-fixtures.js';
import { testRuntime } from '../../helpers/providers.js';

const runtime = testRuntime();

const parse = (input: NatsProviderInput): NatsConfig => NatsProvider.parse(natsSettings({ address: 'nats', channel: 'test', ...input }), { runtime });

function parseError(input: NatsProviderInput): ConfigError {
  try {
    parse(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** What the client would put in CONNECT for this config, for a given server nonce. */
function connectAuth(config: NatsConfig, nonce = 'test-nonce'): Record<string, unknown> {
  const a = config.connection.options().authenticator as Authenticator | Authenticator[] | undefined;
  if (!a) return {};
  const list = Array.isArray(a) ? a : [a];
  return Object.assign({}, ...list.map((f) => f(nonce) as Auth)) as Record<string, unknown>;
}

// providers/nats.md "Upstream test vectors".
const SEED = 'SUAGMJH5XLGZKQQWAWKRZJIGMOU4HPFUYLXJMXOO5NLFEO2OOQJ5LPRDPM';

describe('nats provider: upstream vectors', () => {
  it('1: empty subject', () => {
    expect(parseError({ address: 'nats', channel: '' }).message).toBe('provider apps/ops: NATS subject (channel) cannot be empty');
  });

  it('2: empty server, checked before the subject', () => {
    expect(parseError({ address: '', channel: 'test' }).message).toBe('provider apps/ops: NATS server (address) cannot be empty');
    expect(parseError({ address: '', channel: '' }).message).toMatch(/address/);
    expect(parseError({ address: ' , ,', channel: 'test' }).message).toMatch(/NATS server \(address\) cannot be empty/);
  });

  it('3: no credentials, no auth', () => {
    const c = parse({});
    expect(c.auth).toBe('none');
    expect(c.servers).toEqual(['nats://nats:4222']);
    expect(connectAuth(c)).toEqual({});
  });

  it('4: username and password', () => {
    const c = parse({ secret: { username: 'user', password: 'pass' } });
    expect(c.auth).toBe('userpass');
    expect(connectAuth(c)).toEqual({ user: 'user', pass: 'pass' });
  });

  it('5: a creds value that is not a credentials file is a ConfigError naming Provider, Secret and key (Flux fails at publish)', () => {
    const err = parseError({ secret: { creds: 'credentials-content' } });
    expect(err.message).toBe("provider apps/ops: secret apps/ops-auth key 'creds' is not a NATS credentials file: no user JWT block found");
  });

  it('6: nkey seed: public key and a signature of the server nonce that verifies', () => {
    const c = parse({ secret: { nkey: SEED } });
    expect(c.auth).toBe('nkey');
    const auth = connectAuth(c, 'abc-nonce') as { nkey: string; sig: string };
    expect(auth.nkey).toMatch(/^U[A-Z2-7]{55}$/);
    const sig = Buffer.from(auth.sig, 'base64url');
    expect(fromPublic(auth.nkey).verify(new TextEncoder().encode('abc-nonce'), sig)).toBe(true);
  });

  it('7: creds + nkey + user/pass: creds wins', async () => {
    const chain = await makeOperatorChain();
    const c = parse({ secret: { creds: chain.creds, nkey: SEED, username: 'user', password: 'pass' } });
    expect(c.auth).toBe('creds');
    const auth = connectAuth(c) as { jwt: string; nkey: string; sig: string; user?: string };
    expect(auth.jwt.split('.')).toHaveLength(3);
    expect(auth.nkey).toBe(chain.user.getPublicKey());
    expect(auth.user).toBeUndefined();
  });

  it('8: nkey + user/pass: nkey wins', () => {
    expect(parse({ secret: { nkey: SEED, username: 'user', password: 'pass' } }).auth).toBe('nkey');
  });
});

describe('nats provider: Herald configuration rules', () => {
  it('token auth (Herald addition) only when no other method is configured; whitespace around it is dropped', () => {
    const c = parse({ secret: { token: ' tok3n\n' } });
    expect(c.auth).toBe('token');
    expect(connectAuth(c)).toEqual({ auth_token: 'tok3n' });
    expect(parse({ secret: { token: 'tok3n', username: 'user', password: 'pass' } }).auth).toBe('userpass');
    expect(parse({ secret: { token: 'tok3n', nkey: SEED } }).auth).toBe('nkey');
  });

  it('username and password are used only when both are non-empty', () => {
    expect(parse({ secret: { username: 'user', password: '' } }).auth).toBe('none');
  });

  it('a trailing newline after the nkey seed is accepted (Flux fails to parse it)', () => {
    expect(parse({ secret: { nkey: `${SEED}\n` } }).auth).toBe('nkey');
  });

  it('a malformed or non-user nkey seed is a ConfigError that never shows the seed', () => {
    const bad = parseError({ secret: { nkey: 'SUAGMJH5XLGZKQQWAWKRZJIGMOU4HPFUYLXJMXOO5NLFEO2OOQJ5LPRDPX' } });
    expect(bad.message).toMatch(/^provider apps\/ops: secret apps\/ops-auth key 'nkey' holds an invalid NATS nkey seed: /);
    expect(bad.message).not.toContain('SUAGMJH5');
    const accountSeed = new TextDecoder().decode(createAccount().getSeed());
    const account = parseError({ secret: { nkey: accountSeed } });
    expect(account.message).toMatch(/a user seed \(SU\.\.\.\) is required/);
    expect(account.message).not.toContain(accountSeed);
  });

  it('creds with a JWT block but no seed block is a ConfigError', async () => {
    const chain = await makeOperatorChain();
    const jwtOnly = chain.creds.split('************************* IMPORTANT *************************')[0]!;
    expect(parseError({ secret: { creds: jwtOnly } }).message).toBe("provider apps/ops: secret apps/ops-auth key 'creds' is not a NATS credentials file: no user nkey seed block found");
  });

  it('URL user info replaces nkey and username/password, and never shows up in the server list', () => {
    const up = parse({ address: 'nats://alice:p%40ss@nats.example:4223', secret: { nkey: SEED } });
    expect(up.auth).toBe('url');
    expect(up.servers).toEqual(['nats://nats.example:4223']);
    expect(connectAuth(up)).toEqual({ user: 'alice', pass: 'p@ss' });
    expect(up.sensitive).toContain('p@ss');
    const tok = parse({ address: 'nats://s3cr3t-token@nats.example' });
    expect(connectAuth(tok)).toEqual({ auth_token: 's3cr3t-token' });
    expect(JSON.stringify(tok)).not.toContain('s3cr3t-token');
  });

  it('server lists: split on commas, trimmed, one trailing slash dropped, nats:// and :4222 defaulted; tls:// turns on TLS', () => {
    const s = parseServers(' nats://a.example:1/ , b.example ,, tls://c.example , [::1]:5000', 'provider apps/ops');
    expect(s.display).toEqual(['nats://a.example:1', 'nats://b.example:4222', 'tls://c.example:4222', 'nats://[::1]:5000']);
    expect(s.hostPorts).toEqual(['a.example:1', 'b.example:4222', 'c.example:4222', '[::1]:5000']);
    expect(s.tls).toBe(true);
    expect(parseServers('nats://a.example', 'p').tls).toBe(false);
  });

  it('websocket and other schemes are ConfigErrors naming the position, not the URL', () => {
    expect(parseError({ address: 'nats://ok.example, wss://user:pw@ws.example' }).message)
      .toBe("provider apps/ops: server 2 of the address uses wss://, but Herald's nats provider supports only nats:// and tls:// servers");
    expect(parseError({ address: 'http://nats.example' }).message).toMatch(/server 1 of the address has the unsupported scheme "http"/);
    expect(parseError({ address: 'nats://user:%E0%A4%A@nats.example' }).message).toBe('provider apps/ops: server 1 of the address has badly percent-encoded user info');
  });

  it('certSecretRef TLS material (a Herald addition) turns on TLS with a client certificate when present', () => {
    const c = NatsProvider.parse({ ...natsSettings({ address: 'nats', channel: 'test' }), tls: { ca: 'CA PEM' } }, { runtime });
    expect(c.tls).toBe(true);
    expect(c.clientCertificate).toBe(false);
    expect(c.connection.options().tls).toEqual({ ca: 'CA PEM' });
    expect(parse({}).connection.options().tls).toBeUndefined();
    expect(parse({ address: 'tls://nats' }).connection.options().tls).toEqual({});
  });

  it('a subject with whitespace is rejected up front (the Go client drops the publish silently)', () => {
    expect(parseError({ channel: 'flux events' }).message).toBe('provider apps/ops: NATS subject (channel) "flux events" must not contain whitespace');
  });

  it('JetStream is opt-in through the herald.dev/nats-jetstream annotation', () => {
    expect(parse({}).jetstream).toBe(false);
    expect(parse({ annotations: { 'herald.dev/nats-jetstream': 'true' } }).jetstream).toBe(true);
    expect(parse({ annotations: { 'herald.dev/nats-jetstream': 'false' } }).jetstream).toBe(false);
    expect(parseError({ annotations: { 'herald.dev/nats-jetstream': 'enabled' } }).message)
      .toBe('provider apps/ops: annotation herald.dev/nats-jetstream must be "true" or "false", got "enabled"');
  });
});

describe('nats provider: secrets stay out of sight', () => {
  it('a serialised config holds no credential; the pool key is a hash that changes with the credentials', async () => {
    const chain = await makeOperatorChain();
    const seed = new TextDecoder().decode(createUser().getSeed());
    const configs = [
      parse({ secret: { username: 'user', password: 'pa55word-x' } }),
      parse({ secret: { token: 'tok3n-value' } }),
      parse({ secret: { nkey: seed } }),
      parse({ secret: { creds: chain.creds } }),
    ];
    const text = JSON.stringify(configs);
    for (const secret of ['pa55word-x', 'tok3n-value', seed, chain.creds.split('\n')[1]!]) expect(text).not.toContain(secret);
    for (const c of configs) expect(c.connection.key).toMatch(/^[0-9a-f]{64}$/);

    const a = parse({ secret: { username: 'user', password: 'one' } }).connection.key;
    expect(parse({ secret: { username: 'user', password: 'one' } }).connection.key).toBe(a);
    expect(parse({ secret: { username: 'user', password: 'two' } }).connection.key).not.toBe(a);
    expect(parse({ address: 'nats://other', secret: { username: 'user', password: 'one' } }).connection.key).not.toBe(a);
    // The subject is not part of the key: providers on one server share a connection.
    expect(parse({ channel: 'other', secret: { username: 'user', password: 'one' } }).connection.key).toBe(a);
  });

  it('every credential is in the masking list', () => {
    const seed = new TextDecoder().decode(createUser().getSeed());
    expect(parse({ secret: { nkey: seed } }).sensitive).toContain(seed);
    expect(parse({ secret: { username: 'u', password: 'pa55word-x' } }).sensitive).toContain('pa55word-x');
    expect(parse({ secret: { token: 'tok3n-value\n' } }).sensitive).toContain('tok3n-value');
  });
});

describe('nats provider: JetStream message id', () => {
  it('is the same for a retried notification and differs per alert and per event', () => {
    const n = canonicalNotification();
    const payload = 'x';
    expect(natsMessageId(n, payload)).toBe(natsMessageId(canonicalNotification(), payload));
    expect(natsMessageId(n, payload)).toMatch(/^[0-9a-f]{64}$/);
    const otherAlert = { ...n, alert: { ...n.alert, uid: 'other' } };
    expect(natsMessageId(otherAlert, payload)).not.toBe(natsMessageId(n, payload));
    expect(natsMessageId(canonicalNotification(canonicalEvent('info')), 'y')).not.toBe(natsMessageId(n, payload));
  });
});
