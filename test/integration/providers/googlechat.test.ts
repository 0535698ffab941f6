// googlechat against real local servers: the Cards v1 message field by field, the key/token query kept, certSecretRef
// ignored as Flux ignores it, errors without the webhook's key.
import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type RecordingServerOptions } from '../../helpers/recording-server.js';
import { makeTestPki } from '../../helpers/tls.js';

const track = closeAfterEach();
const runtime = testRuntime();
const server = async (opts?: RecordingServerOptions) => track(await startRecordingServer(opts));
const deliver = (spec: Partial<ProviderSpec>, secrets: Secret[] = [], event = canonicalEvent()) =>
  deliverOnce(runtime, providerObject('googlechat', spec), secrets, event);

const QUERY = '?key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI&token=Xq3-tok3n_tok3n%3D';

describe('googlechat: the message', () => {
  it('posts to the webhook with its key and token query as given', async () => {
    const srv = await server();
    await deliver({ address: `${srv.url}/v1/spaces/AAAA/messages${QUERY}` });
    expect(srv.requests[0]!.url).toBe(`/v1/spaces/AAAA/messages${QUERY}`);
    expect(srv.requests[0]!.headers['content-type']).toBe('application/json');
  });

  it('sends the spec\'s canonical bytes, with < and > escaped as Go does', async () => {
    const srv = await server();
    await deliver({ address: srv.url });
    expect(srv.requests[0]!.text).toBe('{"cards":[{"header":{"title":"kustomization/webapp.apps","subtitle":"kustomize-controller","imageUrl":null,"imageStyle":null},"sections":[{"header":"","widgets":[{"textParagraph":{"text":"\\u003cfont color=\\"#ff0000\\"\\u003eHealth check failed after 2m\\u003c/font\\u003e"},"keyValue":null}]},{"header":"","widgets":[{"textParagraph":null,"keyValue":{"topLabel":"cluster","content":"prod-eu","contentMultiline":false,"bottomLabel":null,"icon":null}},{"textParagraph":null,"keyValue":{"topLabel":"revision","content":"main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567","contentMultiline":false,"bottomLabel":null,"icon":null}},{"textParagraph":null,"keyValue":{"topLabel":"summary","content":"Production cluster","contentMultiline":false,"bottomLabel":null,"icon":null}}]}]}]}');
  });

  it('reproduces upstream vector 1 and leaves out the metadata section without metadata', async () => {
    const srv = await server();
    const event = decodeEvent('{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"message","reason":"reason","metadata":{"test":"metadata"},"reportingController":"source-controller"}');
    await deliver({ address: srv.url }, [], event);
    await deliver({ address: srv.url }, [], { ...event, metadata: {}, message: 'a <b>&</b>' });
    const [a, b] = srv.requests.map((r) => JSON.parse(r.text));
    expect(a.cards[0].header.title).toBe('gitrepository/webapp.gitops-system');
    expect(a.cards[0].header.subtitle).toBe('source-controller');
    expect(a.cards[0].sections[0].widgets[0].textParagraph.text).toBe('message');
    expect(a.cards[0].sections[1].widgets[0].keyValue).toEqual({ topLabel: 'test', content: 'metadata', contentMultiline: false, bottomLabel: null, icon: null });
    expect(b.cards[0].sections).toEqual([{ header: '', widgets: [{ textParagraph: { text: 'a <b>&</b>' }, keyValue: null }] }]);
  });

  it('ignores certSecretRef as Flux does', async () => {
    const pki = makeTestPki();
    const srv = await server({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const err = await deliveryFailure(deliver({ address: srv.url.replace('127.0.0.1', 'localhost'), certSecretRef: { name: 'ca' } }, [secretObject('ca', { 'ca.crt': pki.ca })]));
    expect(err.message).toContain('tls: failed to verify certificate');
  });
});

describe('googlechat: errors', () => {
  it('refuses an unparseable address without printing it, sending nothing', async () => {
    let err: unknown;
    try {
      await deliver({ address: `chat.googleapis.com/v1/spaces/AAAA/messages${QUERY}` });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^provider apps\/ops: spec\.address: invalid Google Chat hook URL: /);
    expect((err as Error).message).not.toContain('AIzaSy');
  });

  it('keeps the key and token in spec.address out of errors', async () => {
    const srv = await server({ respond: (r) => ({ status: 400, body: `{"error": {"message": "API key not valid: ${r.url}"}}` }) });
    const err = await deliveryFailure(deliver({ address: `${srv.url}/v1/spaces/AAAA/messages${QUERY}` }));
    expect(err.message).not.toContain('AIzaSyDdI0hCZtE6vySjMm');
    expect(err.message).not.toContain('tok3n');
    const down = await deliveryFailure(deliver({ address: `http://127.0.0.1:9/v1/spaces/AAAA/messages${QUERY}` }));
    expect(down.message).not.toContain('AIzaSyDdI0hCZtE6vySjMm');
    expect(down.message).toContain('http://127.0.0.1:9');
  });
});
