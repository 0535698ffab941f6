// zulip against a real local Zulip stand-in: the form body, Basic auth, the replaced path, channel and address errors.
import { describe, expect, it } from 'vitest';
import { goEncodeQuery } from '../../../src/go/query.js';
import { goQueryEscape } from '../../../src/go/url.js';
import { splitZulipChannel, zulipMessagesUrl } from '../../../src/providers/chat/zulip.js';
import { configErrorOf, proxyUses } from '../../helpers/chat.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { decodeEvent } from '../../../src/api/event.js';
import { canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type ScriptedResponse } from '../../helpers/recording-server.js';

const track = closeAfterEach();
const runtime = testRuntime();

async function zulip(channel = 'general/announcements', creds = { username: 'user', password: 'pass' }, reply?: ScriptedResponse, path = '/api/v1/messages') {
  const srv = track(await startRecordingServer({ respond: () => reply ?? { status: 200, body: '{"id":42,"msg":"","result":"success"}' } }));
  const p = providerObject('zulip', { address: `${srv.url}${path}`, channel, secretRef: { name: 'zb' } });
  return { srv, p, secrets: [secretObject('zb', creds)] };
}

/** Flux's zulip test event (upstream vector 4). */
function upstreamEvent(severity: string) {
  return decodeEvent(JSON.stringify({
    involvedObject: { kind: 'Kustomization', namespace: 'default', name: 'test-ks' },
    severity, timestamp: '2024-01-01T00:00:00Z', message: 'Test event message', reason: 'ReconciliationSucceeded',
    metadata: { key1: 'value1', key2: 'value2' }, reportingController: 'kustomize-controller',
  }));
}

describe('zulip: the request', () => {
  it('upstream vectors 4 and 5: POST /api/v1/messages, basic auth, form fields, markdown content', async () => {
    const { srv, p, secrets } = await zulip();
    await deliverOnce(runtime, p, secrets, upstreamEvent('info'));
    await deliverOnce(runtime, p, secrets, upstreamEvent('error'));
    const [info, error] = srv.requests;
    expect(`${info!.method} ${info!.url}`).toBe('POST /api/v1/messages');
    expect(info!.headers['authorization']).toBe(`Basic ${Buffer.from('user:pass').toString('base64')}`);
    expect(info!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = (t: string) => Object.fromEntries(new URLSearchParams(t));
    expect(form(info!.text)).toEqual({
      type: 'stream', to: 'general', topic: 'announcements',
      content: '## Flux Status\n\nℹ️ Kustomization/default/test-ks\n\nTest event message\n\nMetadata:\n* `key1`: value1\n* `key2`: value2\n',
    });
    expect(form(error!.text)['content']).toBe('## Flux Status\n\n⚠️ Kustomization/default/test-ks\n\nTest event message\n\nMetadata:\n* `key1`: value1\n* `key2`: value2\n');
    expect(info!.text.split('&').map((kv) => kv.split('=')[0])).toEqual(['content', 'to', 'topic', 'type']);
  });

  it('replaces any path with /api/v1/messages, keeps the query, splits the channel at the first slash', async () => {
    const { srv, p, secrets } = await zulip('a/b/c', undefined, undefined, '/some/path?x=1');
    await deliverOnce(runtime, p, secrets, canonicalEvent());
    expect(srv.requests[0]!.url).toBe('/api/v1/messages?x=1');
    expect(srv.requests[0]!.text.endsWith('&to=a&topic=b%2Fc&type=stream')).toBe(true);
    expect(zulipMessagesUrl('https://zulip.example.com')).toBe('https://zulip.example.com/api/v1/messages');
    expect(zulipMessagesUrl('https://zulip.example.com/api/v1/messages')).toBe('https://zulip.example.com/api/v1/messages');
    expect(splitZulipChannel('general/announcements')).toEqual({ stream: 'general', topic: 'announcements' });
  });

  it('leaves change_request out of the content and encodes as Go does (+ for space, * as %2A, ~ kept)', async () => {
    const { srv, p, secrets } = await zulip('ops team/deploys ~ prod');
    const event = canonicalEvent();
    event.metadata = { change_request: '42', note: 'a*b c~d' };
    await deliverOnce(runtime, p, secrets, event);
    const body = srv.requests[0]!.text;
    expect(body).toContain('%2A+%60note%60%3A+a%2Ab+c~d%0A&to=ops+team&topic=deploys+~+prod&type=stream');
    expect(body).not.toContain('change_request');
    expect(goQueryEscape('a b*~-_.é/')).toBe('a+b%2A~-_.%C3%A9%2F');
    expect(goEncodeQuery({ b: '2', a: '1 %20' })).toBe('a=1+%2520&b=2');
  });

  it('applies the Provider proxy', async () => {
    const { srv, p, secrets } = await zulip();
    expect(await proxyUses(runtime, p, secrets)).toBe(1);
    expect(srv.requests).toHaveLength(1);
  });

  it("reports Zulip's refusal without the postMessage prefix", async () => {
    const reply = { status: 400, body: '{"result":"error","msg":"Stream \'general\' does not exist","code":"STREAM_DOES_NOT_EXIST"}' };
    const { p, secrets } = await zulip(undefined, undefined, reply);
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent()));
    expect(err.message).toBe(`request failed with status code 400: ${reply.body}`);
    expect([err.retryable, err.reason]).toEqual([false, 'client']);
  });
});

describe('zulip: configuration errors', () => {
  const p = (spec: object) => providerObject('zulip', { address: 'https://zulip.example.com', channel: 'general/announcements', secretRef: { name: 'zb' }, ...spec });
  const s = [secretObject('zb', { username: 'user', password: 'pass' })];

  it('upstream vectors 1-3: a bad address, a channel without a slash, a full messages URL', () => {
    expect(configErrorOf(runtime, p({ address: '\x7f' }), s)).toBe('provider apps/ops: spec.address: invalid Zulip endpoint URL: parse "\\x7f": net/url: invalid control character in URL');
    expect(configErrorOf(runtime, p({ channel: 'invalid_format' }), s))
      .toBe("provider apps/ops: invalid Zulip channel format, expected <channel>/<topic>, got 'invalid_format'");
    expect(() => configErrorOf(runtime, p({ address: 'https://zulip.example.com/api/v1/messages' }), s)).toThrow('expected a configuration error');
  });

  it('refuses an empty stream or topic, an address without http(s) scheme', () => {
    for (const channel of ['/topic', 'stream/', '/']) {
      expect(configErrorOf(runtime, p({ channel }), s)).toBe(`provider apps/ops: invalid Zulip channel format, expected <channel>/<topic>, got '${channel}'`);
    }
    expect(configErrorOf(runtime, p({ address: 'zulip.example.com' }), s)).toBe('provider apps/ops: spec.address: invalid Zulip endpoint URL: zulip.example.com is not an http(s) URL');
  });

  it('refuses missing credentials naming the Secret and the key; a half pair is refused by settings resolution', () => {
    expect(configErrorOf(runtime, p({ secretRef: undefined })))
      .toBe("provider apps/ops: empty Zulip bot e-mail (spec.secretRef is not set, so there is no Secret 'username', and spec.username is empty)");
    expect(configErrorOf(runtime, p({ username: 'bot@zulip.example.com', secretRef: undefined })))
      .toBe("provider apps/ops: empty Zulip API key (spec.secretRef is not set, so there is no Secret 'password')");
    expect(configErrorOf(runtime, p({}), [secretObject('zb', { username: 'user' })])).toContain("secret apps/zb has 'username' but no 'password'");
    expect(configErrorOf(runtime, p({}), [secretObject('zb', { username: 'user', password: '' })]))
      .toBe("provider apps/ops: empty Zulip API key (secret apps/zb has no 'password' (or it is empty))");
  });
});
