// webex against real local servers: roomId from spec.channel, the markdown text, `Bearer` even without a token.
import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { maskError } from '../../../src/providers/masking.js';
import { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, settingsFor, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type RecordingServerOptions } from '../../helpers/recording-server.js';

const track = closeAfterEach();
const runtime = testRuntime();
const server = async (opts?: RecordingServerOptions) => track(await startRecordingServer(opts));
const deliver = (spec: Partial<ProviderSpec>, secrets: Secret[] = [], event = canonicalEvent()) =>
  deliverOnce(runtime, providerObject('webex', spec), secrets, event);

describe('webex: the message', () => {
  it('sends the spec\'s canonical bytes with the bot token', async () => {
    const srv = await server();
    await deliver({ address: `${srv.url}/v1/messages`, channel: 'Y2lzY29zcGFyazovL3VzL1JPT00vYWJj', secretRef: { name: 'bot' } }, [secretObject('bot', { token: 'bot-token-123' })]);
    const [req] = srv.requests;
    expect(req!.headers['authorization']).toBe('Bearer bot-token-123');
    expect(req!.text).toBe('{"roomId":"Y2lzY29zcGFyazovL3VzL1JPT00vYWJj","markdown":"💣 **kustomization/webapp.apps**\\nHealth check failed after 2m\\n\\u003e**cluster**: prod-eu\\n\\u003e**revision**: main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567\\n\\u003e**summary**: Production cluster\\n"}');
  });

  it('marks info with ✅, ends with the message line without metadata, and keeps markdown unescaped', async () => {
    const srv = await server();
    const event = decodeEvent('{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"*bold* _it_","reason":"reason","reportingController":"source-controller"}');
    await deliver({ address: srv.url, channel: 'room' }, [], event);
    expect(JSON.parse(srv.requests[0]!.text)).toEqual({ roomId: 'room', markdown: '✅ **gitrepository/webapp.gitops-system**\n*bold* _it_\n' });
  });

  it('omits roomId without spec.channel and sends Authorization "Bearer" without a token, as Flux', async () => {
    const srv = await server();
    await deliver({ address: srv.url });
    const [req] = srv.requests;
    expect(req!.headers['authorization']).toBe('Bearer');
    expect(Object.keys(JSON.parse(req!.text))).toEqual(['markdown']);
  });
});

describe('webex: errors', () => {
  it('refuses an unparseable address, naming where it is set (the API URL is not a secret)', async () => {
    let err: unknown;
    try {
      await deliver({ address: 'webexapis.com/v1/messages' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe("provider apps/ops: spec.address: invalid Webex hook URL webexapis.com/v1/messages: 'parse \"webexapis.com/v1/messages\": invalid URI for request'");
  });

  it('reports a bot outside the room (404) and keeps the token out of the error once masked', async () => {
    const srv = await server({ respond: (r) => ({ status: 404, body: `{"message":"room not found","auth":"${r.headers['authorization']}"}` }) });
    const p = providerObject('webex', { address: srv.url, channel: 'room', secretRef: { name: 'bot' } });
    const secrets = [secretObject('bot', { token: 'bot-token-123' })];
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets));
    expect([err.retryable, err.reason]).toEqual([false, 'client']);
    expect(maskError(err.message, settingsFor(p, secrets))).toBe('postMessage failed: request failed with status code 404: {"message":"room not found","auth":"Bearer *****"}');
  });
});
