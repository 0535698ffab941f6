// lark against a real local webhook: the card field by field, info vs error, metadata, Lark's 200-with-error-code reply.
import { describe, expect, it } from 'vitest';
import { maskError } from '../../../src/providers/masking.js';
import { configErrorOf, proxyUses, upstreamChatEvent } from '../../helpers/chat.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, settingsFor, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type ScriptedResponse } from '../../helpers/recording-server.js';
import { makeTestPki } from '../../helpers/tls.js';

const track = closeAfterEach();
const runtime = testRuntime();
const HOOK = '/open-apis/bot/v2/hook/3f2a9c1e';

async function lark(reply: ScriptedResponse = { status: 200, body: '{"code":0,"msg":"success","data":{}}' }) {
  const srv = track(await startRecordingServer({ respond: () => reply }));
  const secret = secretObject('lark-hook', { address: `${srv.url}${HOOK}` });
  const p = providerObject('lark', { secretRef: { name: 'lark-hook' } });
  return { srv, p, secrets: [secret] };
}

interface Card {
  msg_type: string;
  card: {
    config: { wide_screen_mode: boolean };
    header: { title: { tag: string; content: string }; template: string };
    elements: { tag: string; text: { tag: string; content: string } }[];
  };
}

describe('lark: the card', () => {
  it('sends every field of the card in Go field order, error in red with 🚨', async () => {
    const { srv, p, secrets } = await lark();
    await deliverOnce(runtime, p, secrets, canonicalEvent('error'));
    const [req] = srv.requests;
    expect(`${req!.method} ${req!.url}`).toBe(`POST ${HOOK}`);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.text).toBe('{"msg_type":"interactive","card":{"config":{"wide_screen_mode":true},'
      + '"header":{"title":{"tag":"plain_text","content":"🚨 kustomization/webapp.apps"},"template":"red"},'
      + '"elements":[{"tag":"div","text":{"tag":"lark_md","content":"**Health check failed after 2m**\\n\\ncluster: prod-eu\\n'
      + 'revision: main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567\\nsummary: Production cluster\\n"}}]}}');
  });

  it('upstream vector 1: info is turquoise with 💫', async () => {
    const { srv, p, secrets } = await lark();
    await deliverOnce(runtime, p, secrets, upstreamChatEvent());
    const card = JSON.parse(srv.requests[0]!.text) as Card;
    expect(card.card.header.title.content).toBe('💫 gitrepository/webapp.gitops-system');
    expect(card.card.header.template).toBe('turquoise');
    expect(card.card.elements[0]!.text.content).toBe('**message**\n\ntest: metadata\n');
  });

  it('without metadata the content ends after the bold message; nothing is escaped', async () => {
    const { srv, p, secrets } = await lark();
    const event = upstreamChatEvent({}, 'error');
    event.message = 'a *b* <c> & "d"';
    await deliverOnce(runtime, p, secrets, event);
    const req = srv.requests[0]!;
    expect((JSON.parse(req.text) as Card).card.elements[0]!.text.content).toBe('**a *b* <c> & "d"**\n\n');
    // Go's encoding/json escapes <, > and & in strings.
    expect(req.text).toContain('"content":"**a *b* \\u003cc\\u003e \\u0026 \\"d\\"**\\n\\n"');
  });

  it('ignores channel, username, token and headers', async () => {
    const { srv } = await lark();
    const p = providerObject('lark', { address: `${srv.url}${HOOK}`, channel: 'x', username: 'bot', secretRef: { name: 's' } });
    await deliverOnce(runtime, p, [secretObject('s', { token: 'tok-123', headers: 'X-Extra: 1' })], canonicalEvent());
    const req = srv.requests[0]!;
    expect(req.headers['authorization']).toBeUndefined();
    expect(req.headers['x-extra']).toBeUndefined();
    expect(req.text).not.toContain('"channel"');
  });

  it('applies neither proxySecretRef nor certSecretRef, as Flux', async () => {
    const { srv, p, secrets } = await lark();
    expect(await proxyUses(runtime, p, secrets)).toBe(0);
    expect(srv.requests).toHaveLength(1);

    const pki = makeTestPki();
    const tlsSrv = track(await startRecordingServer({ tls: { key: pki.serverKey, cert: pki.serverCert } }));
    const withCa = providerObject('lark', { address: `${tlsSrv.url.replace('127.0.0.1', 'localhost')}${HOOK}`, certSecretRef: { name: 'ca' } });
    const err = await deliveryFailure(deliverOnce(runtime, withCa, [secretObject('ca', { 'ca.crt': pki.ca })], canonicalEvent()));
    expect(err.message).toContain('tls: failed to verify certificate');
    expect(tlsSrv.requests).toHaveLength(0);
  });
});

describe('lark: the reply', () => {
  it('a 200 with a non-zero code is a failed delivery, not retried, quoting Lark without the webhook key', async () => {
    const { p, secrets } = await lark({ status: 200, body: `{"code":19001,"msg":"param invalid: incoming webhook access token invalid ${HOOK}"}` });
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent()));
    expect(err.message).toBe('postMessage failed: request failed with status code 200 and Lark error code 19001: {"code":19001,"msg":"param invalid: incoming webhook access token invalid *****"}');
    expect([err.retryable, err.reason]).toEqual([false, 'client']);
    expect(maskError(err.message, settingsFor(p, secrets))).toBe(err.message);
  });

  it('keeps a webhook written into spec.address out of errors too', async () => {
    const closed = track(await startRecordingServer());
    await closed.close();
    const p = providerObject('lark', { address: `${closed.url}${HOOK}` });
    const err = await deliveryFailure(deliverOnce(runtime, p, [], canonicalEvent(), { timeoutMs: 2000 }));
    expect(err.message).toMatch(/^postMessage failed: Post "http:\/\/127\.0\.0\.1:\d+\*\*\*\*\*": /);
    expect(err.message).not.toContain('3f2a9c1e');
  });

  it('code 11232 (frequency limited) is retried as rate-limited; the older StatusCode envelope counts too', async () => {
    const limited = await lark({ status: 200, body: '{"code":11232,"msg":"frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}' });
    const err = await deliveryFailure(deliverOnce(runtime, limited.p, limited.secrets, canonicalEvent()));
    expect([err.retryable, err.reason]).toEqual([true, 'rate-limited']);

    const old = await lark({ status: 200, body: '{"StatusCode":9499,"StatusMessage":"Bad Request"}' });
    const err2 = await deliveryFailure(deliverOnce(runtime, old.p, old.secrets, canonicalEvent()));
    expect(err2.message).toContain('Lark error code 9499');
  });

  it('code 0, StatusCode 0, an empty or non-JSON 2xx body is success', async () => {
    for (const body of ['{"code":0,"msg":"success","data":{}}', '{"StatusCode":0,"StatusMessage":"success","code":0}', '', 'ok', '[]', 'null']) {
      const { srv, p, secrets } = await lark({ status: 200, body });
      await deliverOnce(runtime, p, secrets, canonicalEvent());
      expect(srv.requests).toHaveLength(1);
    }
  });

  it('a non-2xx answer is classified as for every HTTP provider', async () => {
    const { p, secrets } = await lark({ status: 503, headers: { 'Retry-After': '3' }, body: '{"code":1,"msg":"busy"}' });
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent()));
    expect(err.message).toBe('postMessage failed: request failed with status code 503: {"code":1,"msg":"busy"}');
    expect([err.retryable, err.retryAfterMs]).toEqual([true, 3000]);
  });
});

describe('lark: configuration', () => {
  it("refuses a missing or invalid address with Flux's (Slack) wording, naming where it is set but not printing it", () => {
    expect(configErrorOf(runtime, providerObject('lark', { address: 'not a url' })))
      .toBe("provider apps/ops: spec.address: invalid Slack hook URL: invalid URI for request (the URL is not shown: it carries the webhook's key)");
    expect(configErrorOf(runtime, providerObject('lark', {})))
      .toBe("provider apps/ops: no Slack hook URL: set spec.address, or the key 'address' of a Secret named by spec.secretRef");
    expect(configErrorOf(runtime, providerObject('lark', { secretRef: { name: 'h' } }), [secretObject('h', { address: 'open.larksuite.com/hook/k3y' })]))
      .toBe("provider apps/ops: secret apps/h key 'address': invalid Slack hook URL: invalid URI for request (the URL is not shown: it carries the webhook's key)");
  });
});
