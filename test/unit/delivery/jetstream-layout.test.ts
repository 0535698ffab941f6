// Subject layout of the JetStream outbox and the --nats-* flags turned into connection options.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeSubjectToken, deadSubject, encodeSubjectToken, jetStreamNames, outboxSubject, parseProviderRef, providerOfSubject,
} from '../../../src/jetstream/layout.js';
import { displayServers, natsConnectOptions } from '../../../src/jetstream/link.js';

describe('outbox subjects', () => {
  const names = jetStreamNames();

  it('puts one provider in exactly two tokens, even with dots in its name, and reads it back', () => {
    const s = outboxSubject(names, { namespace: 'flux-system', name: 'slack.team_a' });
    expect(s).toBe('herald.outbox.flux-system.slack%2Eteam_a');
    expect(s.split('.')).toHaveLength(4);
    expect(providerOfSubject(s)).toBe('flux-system/slack.team_a');
    expect(deadSubject(names, { namespace: 'ns', name: 'a' })).toBe('herald.dead.ns.a');
  });

  it('encodes every byte a subject token must not hold, and round-trips', () => {
    for (const v of ['a.b', 'x*y', 'p>q', 'sp ace', '%', 'ünï', '']) {
      const t = encodeSubjectToken(v);
      expect(t).toMatch(/^[A-Za-z0-9_%-]+$/);
      expect(decodeSubjectToken(t)).toBe(v);
    }
  });

  it('rejects names NATS would not accept and provider references without a namespace', () => {
    expect(() => jetStreamNames({ outboxStream: 'HERALD.OUT' })).toThrow(/outboxStream "HERALD.OUT"/);
    expect(() => parseProviderRef('slack')).toThrow('--provider: expected namespace/name, got "slack"');
    expect(parseProviderRef('ns/name')).toEqual({ namespace: 'ns', name: 'name' });
  });
});

describe('natsConnectOptions', () => {
  it('takes user and password together and never shows them in the server list', () => {
    const o = natsConnectOptions({ natsUrl: 'nats://a:4222, nats://u:secret@b:4222', natsUser: 'herald', natsPassword: 'pw' });
    expect(o.servers).toEqual(['nats://a:4222', 'nats://u:secret@b:4222']);
    expect(o.user).toBe('herald');
    expect(o.pass).toBe('pw');
    expect(displayServers('nats://u:secret@b:4222')).toBe('nats://*****@b:4222');
    expect(() => natsConnectOptions({ natsUrl: 'nats://a:4222', natsUser: 'herald' })).toThrow('--nats-user and --nats-password must be given together');
  });

  it('uses the token when no other credentials are given, and the creds file over everything', () => {
    expect(natsConnectOptions({ natsUrl: 'nats://a:4222', natsToken: 't0k' }).token).toBe('t0k');
    const dir = mkdtempSync(path.join(tmpdir(), 'herald-creds-'));
    const creds = path.join(dir, 'user.creds');
    writeFileSync(creds, '-----BEGIN NATS USER JWT-----\neyJ0\n------END NATS USER JWT------\n-----BEGIN USER NKEY SEED-----\nSUAM\n------END USER NKEY SEED------\n');
    const o = natsConnectOptions({ natsUrl: 'nats://a:4222', natsCreds: creds, natsToken: 't0k' });
    expect(o.authenticator).toBeTypeOf('function');
    expect(o.token).toBeUndefined();
  });

  it('names the flag and file that cannot be used', () => {
    expect(() => natsConnectOptions({ natsUrl: 'nats://a:4222', natsCreds: '/nonexistent/user.creds' })).toThrow('--nats-creds: cannot read /nonexistent/user.creds: ENOENT');
    const dir = mkdtempSync(path.join(tmpdir(), 'herald-creds-'));
    const bad = path.join(dir, 'bad.creds');
    writeFileSync(bad, 'hello');
    expect(() => natsConnectOptions({ natsUrl: 'nats://a:4222', natsCreds: bad })).toThrow(`--nats-creds: ${bad} is not a NATS credentials file`);
    expect(() => natsConnectOptions({ natsUrl: 'nats://a:4222', natsCert: '/x' })).toThrow('--nats-cert and --nats-key must be given together');
    expect(() => natsConnectOptions({ natsUrl: 'http://a:4222' })).toThrow('--nats-url: "http://a:4222" is not a NATS URL');
    expect(() => natsConnectOptions({ natsUrl: ' , ' })).toThrow('--nats-url: no server URL given');
  });
});
