// zoom against a real local webhook: format=full, the raw token, head/body/fields, info vs error, configuration errors.
import { describe, expect, it } from 'vitest';
import { zoomBody, zoomWebhookUrl } from '../../../src/providers/chat/zoom.js';
import { configErrorOf, proxyUses, upstreamChatEvent } from '../../helpers/chat.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type ScriptedResponse } from '../../helpers/recording-server.js';

const track = closeAfterEach();
const runtime = testRuntime();

async function zoom(suffix = '', token = 'token', reply?: ScriptedResponse) {
  const srv = track(await startRecordingServer(reply ? { respond: () => reply } : {}));
  const p = providerObject('zoom', { secretRef: { name: 'zw' } });
  return { srv, p, secrets: [secretObject('zw', { address: `${srv.url}${suffix}`, token })] };
}

describe('zoom: the request', () => {
  it('upstream vector 1: format=full, raw Authorization, head, sub_head, message and fields', async () => {
    const { srv, p, secrets } = await zoom();
    await deliverOnce(runtime, p, secrets, upstreamChatEvent());
    const [req] = srv.requests;
    expect(`${req!.method} ${req!.url}`).toBe('POST /?format=full');
    expect(req!.headers['authorization']).toBe('token');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.text).toBe('{"content":{"head":{"text":"gitrepository/webapp.gitops-system","sub_head":{"text":"info"}},'
      + '"body":[{"type":"message","text":"message"},{"type":"fields","items":[{"key":"test","value":"metadata"}]}]}}');
  });

  it('upstream vector 2: an address with ?format=message is kept as is', async () => {
    const { srv, p, secrets } = await zoom('/hook?format=message');
    await deliverOnce(runtime, p, secrets, canonicalEvent());
    expect(srv.requests[0]!.url).toBe('/hook?format=message');
  });

  it('adds format=full by re-encoding the whole query as Go does (sorted keys, + for space)', () => {
    expect(zoomWebhookUrl('https://integrations.zoom.us/chat/webhooks/incomingwebhook/abc'))
      .toBe('https://integrations.zoom.us/chat/webhooks/incomingwebhook/abc?format=full');
    expect(zoomWebhookUrl('https://h/x?b=2&a=x%20y&format=')).toBe('https://h/x?a=x+y&b=2&format=full');
    expect(zoomWebhookUrl('https://h/x?format=message&b=1')).toBe('https://h/x?format=message&b=1');
    expect(zoomWebhookUrl('https://h/x?bad=%zz;&ok=1')).toBe('https://h/x?format=full&ok=1');
  });

  it('info and error differ only in sub_head; no fields block without metadata; no text for an empty message', () => {
    const info = zoomBody(canonicalEvent('info'));
    const error = zoomBody(canonicalEvent('error'));
    expect(info.replace('"sub_head":{"text":"info"}', '"sub_head":{"text":"error"}')).toBe(error);
    const bare = upstreamChatEvent({}, 'error');
    bare.message = '';
    expect(zoomBody(bare)).toBe('{"content":{"head":{"text":"gitrepository/webapp.gitops-system","sub_head":{"text":"error"}},"body":[{"type":"message"}]}}');
  });

  it('sorts the fields by key', () => {
    const body = JSON.parse(zoomBody(upstreamChatEvent({ zeta: '1', alpha: '2', mid: '3' }))) as { content: { body: { items?: { key: string }[] }[] } };
    expect(body.content.body[1]!.items!.map((i) => i.key)).toEqual(['alpha', 'mid', 'zeta']);
  });

  it('applies the Provider proxy', async () => {
    const { srv, p, secrets } = await zoom();
    expect(await proxyUses(runtime, p, secrets)).toBe(1);
    expect(srv.requests).toHaveLength(1);
  });

  it('reports a refusal with the postMessage prefix', async () => {
    const { p, secrets } = await zoom('', 'token', { status: 401, body: '{"code":401,"message":"Invalid authorization token."}' });
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent()));
    expect(err.message).toBe('postMessage failed: request failed with status code 401: {"code":401,"message":"Invalid authorization token."}');
    expect([err.retryable, err.reason]).toEqual([false, 'auth']);
  });
});

describe('zoom: configuration errors', () => {
  it('upstream vectors 3 and 4: an invalid URL, an empty token', () => {
    expect(configErrorOf(runtime, providerObject('zoom', { address: 'invalid-url', secretRef: { name: 'zw' } }), [secretObject('zw', { token: 't' })]))
      .toBe(`provider apps/ops: spec.address: invalid Zoom incoming webhook URL invalid-url: 'parse "invalid-url": invalid URI for request'`);
    expect(configErrorOf(runtime, providerObject('zoom', { address: 'https://integrations.zoom.us/x', secretRef: { name: 'zw' } }), [secretObject('zw', { token: '' })]))
      .toBe("provider apps/ops: empty Zoom verification token (secret apps/zw has no 'token' (or it is empty))");
  });

  it('refuses a token with a line break, naming the Secret key', () => {
    expect(configErrorOf(runtime, providerObject('zoom', { address: 'https://integrations.zoom.us/x', secretRef: { name: 'zw' } }), [secretObject('zw', { token: 'abc\n' })]))
      .toBe("provider apps/ops: secret apps/zw key 'token' contains a line break, which cannot be sent in the Authorization header");
  });
});
