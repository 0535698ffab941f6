// discord against real local servers: the `/slack` target and its quirks, the fields Discord gets, certSecretRef
// ignored as Flux ignores it, configuration errors and the webhook kept out of errors.
import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { discordTarget } from '../../../src/providers/chat/discord.js';
import { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type RecordingServerOptions } from '../../helpers/recording-server.js';
import { makeTestPki } from '../../helpers/tls.js';

const track = closeAfterEach();
const runtime = testRuntime();
const server = async (opts?: RecordingServerOptions) => track(await startRecordingServer(opts));
const deliver = (spec: Partial<ProviderSpec>, secrets: Secret[] = [], event = canonicalEvent()) =>
  deliverOnce(runtime, providerObject('discord', spec), secrets, event);

describe('discord: target', () => {
  it('appends /slack to the path as Go\'s path.Join does, keeping the query', () => {
    expect(discordTarget('https://discord.com/api/webhooks/123/abc')).toBe('https://discord.com/api/webhooks/123/abc/slack');
    expect(discordTarget('https://discord.com/api/webhooks/123/abc?wait=true')).toBe('https://discord.com/api/webhooks/123/abc/slack?wait=true');
    expect(discordTarget('https://discord.com/api/webhooks/123/abc/')).toBe('https://discord.com/api/webhooks/123/abc/slack');
    expect(discordTarget('https://discord.com//api//webhooks/123/abc')).toBe('https://discord.com/api/webhooks/123/abc/slack');
    expect(discordTarget('https://discord.com')).toBe('https://discord.com/slack');
    expect(discordTarget('https://discord.com:8443/api/webhooks/1/a%20b')).toBe('https://discord.com:8443/api/webhooks/1/a%20b/slack');
  });

  it('keeps an address ending in /slack verbatim, and doubles it when a query follows (upstream quirk)', () => {
    expect(discordTarget('https://discord.com/api/webhooks/123/abc/slack')).toBe('https://discord.com/api/webhooks/123/abc/slack');
    expect(discordTarget('https://discord.com/api/webhooks/123/abc//slack')).toBe('https://discord.com/api/webhooks/123/abc//slack');
    expect(discordTarget('https://discord.com/api/webhooks/123/abc/slack?wait=true')).toBe('https://discord.com/api/webhooks/123/abc/slack/slack?wait=true');
  });

  it('posts to the /slack endpoint (upstream vector 1)', async () => {
    const srv = await server();
    await deliver({ address: `${srv.url}/api/webhooks/123/abc?wait=true`, username: 'test', channel: 'test' });
    expect(srv.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /api/webhooks/123/abc/slack?wait=true']);
  });
});

describe('discord: the payload', () => {
  it('sends channel "" and fallback "" whatever spec.channel says, username from spec or the reporting controller', async () => {
    const srv = await server();
    await deliver({ address: srv.url, username: 'flux', channel: 'general' });
    await deliver({ address: srv.url, channel: 'general' }, [], canonicalEvent('info'));
    const [a, b] = srv.requests.map((r) => JSON.parse(r.text));
    expect([a.channel, a.username, a.attachments[0].fallback, a.attachments[0].color]).toEqual(['', 'flux', '', 'danger']);
    expect([b.channel, b.username, b.attachments[0].fallback, b.attachments[0].color]).toEqual(['', 'kustomize-controller', '', 'good']);
    expect(srv.requests[0]!.text.startsWith('{"channel":"","username":"flux","icon_url":"","icon_emoji":"","attachments":[{"fallback":"","color":"danger"')).toBe(true);
  });

  it('reproduces upstream vector 2, and sends fields [] without metadata', async () => {
    const srv = await server();
    const event = decodeEvent('{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"message","reason":"reason","metadata":{"test":"metadata"},"reportingController":"source-controller"}');
    await deliver({ address: srv.url }, [], event);
    await deliver({ address: srv.url }, [], { ...event, metadata: {} });
    const [a, b] = srv.requests.map((r) => JSON.parse(r.text));
    expect(a.attachments[0].author_name).toBe('gitrepository/webapp.gitops-system');
    expect(a.attachments[0].fields).toEqual([{ title: 'test', value: 'metadata', short: false }]);
    expect(b.attachments[0].fields).toEqual([]);
  });

  it('ignores certSecretRef as Flux does: the test CA is not trusted for this type', async () => {
    const pki = makeTestPki();
    const srv = await server({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const err = await deliveryFailure(deliver(
      { address: `${srv.url.replace('127.0.0.1', 'localhost')}/api/webhooks/1/a`, certSecretRef: { name: 'ca' } },
      [secretObject('ca', { 'ca.crt': pki.ca })],
    ));
    expect(err.message).toContain('tls: failed to verify certificate');
    expect(srv.requests).toHaveLength(0);
  });
});

describe('discord: errors', () => {
  it('refuses an unparseable address without printing it, and sends nothing', async () => {
    const srv = await server();
    for (const address of ['discord.com/api/webhooks/123/s3cr3t-token', 'https://discord.com/api/webhooks/123/s3cr3t\ttoken']) {
      let err: unknown;
      try {
        await deliver({ address });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/^provider apps\/ops: spec\.address: invalid Discord hook URL: /);
      expect((err as Error).message).not.toContain('s3cr3t');
    }
    expect(srv.requests).toHaveLength(0);
  });

  it('keeps the webhook token out of a status error that echoes the path, from spec.address too', async () => {
    const srv = await server({ respond: (r) => ({ status: 401, body: `{"message": "Invalid Webhook Token", "path": "${r.url}"}` }) });
    const err = await deliveryFailure(deliver({ address: `${srv.url}/api/webhooks/123/s3cr3t-token` }));
    expect(err.message).not.toContain('s3cr3t');
    expect(err.reason).toBe('auth');
  });
});
