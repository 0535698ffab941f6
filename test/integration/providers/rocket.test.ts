// rocket against real local servers: channel and username verbatim (no fallback), hex colours, no fallback text,
// errors without the webhook.
import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type RecordingServerOptions } from '../../helpers/recording-server.js';

const track = closeAfterEach();
const runtime = testRuntime();
const server = async (opts?: RecordingServerOptions) => track(await startRecordingServer(opts));
const deliver = (spec: Partial<ProviderSpec>, secrets: Secret[] = [], event = canonicalEvent()) =>
  deliverOnce(runtime, providerObject('rocket', spec), secrets, event);

const upstream = decodeEvent('{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"message","reason":"reason","metadata":{"test":"metadata"},"reportingController":"source-controller"}');

describe('rocket: the payload', () => {
  it('sends channel and username verbatim (upstream vector 1) and "" when unset, never the reporting controller (vector 2)', async () => {
    const srv = await server();
    await deliver({ address: srv.url, username: 'test', channel: 'test' }, [], upstream);
    await deliver({ address: srv.url }, [], upstream);
    const [a, b] = srv.requests.map((r) => JSON.parse(r.text));
    expect([a.channel, a.username]).toEqual(['test', 'test']);
    expect([b.channel, b.username]).toEqual(['', '']);
    for (const body of [a, b]) {
      expect(body.attachments[0].author_name).toBe('gitrepository/webapp.gitops-system');
      expect(body.attachments[0].fields[0].value).toBe('metadata');
      expect(body.attachments[0].fallback).toBe('');
      expect(body.attachments[0].color).toBe('#0076D7');
    }
  });

  it('colours error #FF0000 and sends the spec\'s bytes in Flux\'s field order', async () => {
    const srv = await server();
    await deliver({ address: srv.url, channel: '#flux' });
    expect(srv.requests[0]!.text).toBe('{"channel":"#flux","username":"","icon_url":"","icon_emoji":"","attachments":[{"fallback":"","color":"#FF0000","author_name":"kustomization/webapp.apps","text":"Health check failed after 2m","mrkdwn_in":["text"],"fields":[{"title":"cluster","value":"prod-eu","short":false},{"title":"revision","value":"main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567","short":false},{"title":"summary","value":"Production cluster","short":false}]}]}');
  });

  it('takes the username from the Secret (username+password) over spec.username, and sends fields [] without metadata', async () => {
    const srv = await server();
    await deliver({ address: srv.url, username: 'spec-bot', secretRef: { name: 'u' } }, [secretObject('u', { username: 'secret-bot', password: 'x' })], { ...upstream, metadata: {} });
    const body = JSON.parse(srv.requests[0]!.text);
    expect(body.username).toBe('secret-bot');
    expect(body.attachments[0].fields).toEqual([]);
  });
});

describe('rocket: errors', () => {
  it('refuses a missing address naming the Secret, sending nothing', async () => {
    const srv = await server();
    let err: unknown;
    try {
      await deliver({ secretRef: { name: 'r' } }, [secretObject('r', { address: '' })]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe("provider apps/ops: no Rocket hook URL: set spec.address or the key 'address' of secret apps/r");
    expect(srv.requests).toHaveLength(0);
  });

  it('keeps the webhook token in spec.address out of errors', async () => {
    const srv = await server({ respond: (r) => ({ status: 404, body: `no hook at ${r.url}` }) });
    const err = await deliveryFailure(deliver({ address: `${srv.url}/hooks/6a1b2c3d/t0k3nt0k3nt0k3n` }));
    expect(err.message).toBe('postMessage failed: request failed with status code 404: no hook at *****');
  });
});
