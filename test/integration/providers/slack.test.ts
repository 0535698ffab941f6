// slack against real local servers: every payload field, the optional token, webhook vs Web API answers (the real
// https://slack.com/api/chat.postMessage address, routed through the recording proxy to a local HTTPS server),
// configuration errors and webhook URLs kept out of errors.
import { describe, expect, it } from 'vitest';
import { decodeEvent, type FluxEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { maskError } from '../../../src/providers/masking.js';
import { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import {
  canonicalEvent, deliverOnce, deliveryFailure, parseProvider, providerObject, secretObject, settingsFor, testRuntime,
} from '../../helpers/providers.js';
import { startPublicHost } from '../../helpers/public-host.js';
import { startRecordingServer, type RecordingServerOptions } from '../../helpers/recording-server.js';

const track = closeAfterEach();
const runtime = testRuntime();
const server = async (opts?: RecordingServerOptions) => track(await startRecordingServer(opts));
const slack = (spec: Partial<ProviderSpec>) => providerObject('slack', spec);
const deliver = (spec: Partial<ProviderSpec>, secrets: Secret[] = [], event: FluxEvent = canonicalEvent()) =>
  deliverOnce(runtime, slack(spec), secrets, event);

/** The upstream test event (slack.md vector 1): GitRepository gitops-system/webapp, metadata {test: metadata}. */
const upstreamEvent = (extra: Partial<FluxEvent> = {}): FluxEvent => ({
  ...decodeEvent('{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"message","reason":"reason","metadata":{"test":"metadata"},"reportingController":"source-controller","reportingInstance":"source-controller-xyz"}'),
  ...extra,
});

describe('slack: the payload', () => {
  it('sends every field of the spec, in Flux order, with the Bearer token', async () => {
    const srv = await server();
    await deliver({ address: `${srv.url}/services/T0/B0/x`, channel: 'flux-alerts', secretRef: { name: 's' } }, [secretObject('s', { token: 'xoxb-1' })]);
    const [req] = srv.requests;
    expect(req!.headers['authorization']).toBe('Bearer xoxb-1');
    expect(req!.headers['content-type']).toBe('application/json');
    // Exact bytes: field order, no whitespace, `text` omitted.
    expect(req!.text).toBe('{"channel":"flux-alerts","username":"kustomize-controller","icon_url":"","icon_emoji":"","attachments":[{"fallback":"kustomization/webapp.apps: Health check failed after 2m","color":"danger","author_name":"kustomization/webapp.apps","text":"Health check failed after 2m","mrkdwn_in":["text"],"fields":[{"title":"cluster","value":"prod-eu","short":false},{"title":"revision","value":"main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567","short":false},{"title":"summary","value":"Production cluster","short":false}]}]}');
  });

  it('reproduces upstream vector 1 (no token: no Authorization header)', async () => {
    const srv = await server();
    await deliver({ address: srv.url, channel: 'test' }, [], upstreamEvent());
    const [req] = srv.requests;
    expect(req!.headers['authorization']).toBeUndefined();
    const body = JSON.parse(req!.text);
    expect(body.attachments[0].author_name).toBe('gitrepository/webapp.gitops-system');
    expect(body.attachments[0].fields[0].value).toBe('metadata');
    expect(body.attachments[0].color).toBe('good');
    expect(body.username).toBe('source-controller');
    expect(body.channel).toBe('test');
  });

  it('takes the username from spec.username, then from the Secret (username+password), else the reporting controller', async () => {
    const srv = await server();
    await deliver({ address: srv.url, username: 'flux-bot' });
    await deliver({ address: srv.url, username: 'flux-bot', secretRef: { name: 'u' } }, [secretObject('u', { username: 'secret-bot', password: '' })]);
    await deliver({ address: srv.url });
    expect(srv.requests.map((r) => JSON.parse(r.text).username)).toEqual(['flux-bot', 'secret-bot', 'kustomize-controller']);
  });

  it('sends channel "" and fields [] when unset; fallback is the first line; the message is not escaped', async () => {
    const srv = await server();
    await deliver({ address: srv.url }, [], upstreamEvent({ metadata: {}, message: 'first *line* <b>\nsecond line', severity: 'trace' }));
    const body = JSON.parse(srv.requests[0]!.text);
    expect(body.channel).toBe('');
    expect(body.attachments[0].fields).toEqual([]);
    expect(body.attachments[0].fallback).toBe('gitrepository/webapp.gitops-system: first *line* <b>');
    expect(body.attachments[0].text).toBe('first *line* <b>\nsecond line');
    expect(body.attachments[0].color).toBe('good');
    expect('text' in body).toBe(false);
    // Go's encoder escapes < and > on the wire.
    expect(srv.requests[0]!.text).toContain('first *line* \\u003cb\\u003e\\nsecond line');
  });

  it('lists metadata sorted by key', async () => {
    const srv = await server();
    await deliver({ address: srv.url }, [], upstreamEvent({ metadata: { zeta: '1', alpha: '2', Mid: '3' } }));
    expect(JSON.parse(srv.requests[0]!.text).attachments[0].fields.map((f: { title: string }) => f.title)).toEqual(['Mid', 'alpha', 'zeta']);
  });
});

describe('slack: answers', () => {
  const WEB_API = 'https://slack.com/api/chat.postMessage';

  async function slackCom(body: string, status = 200) {
    return track(await startPublicHost(['slack.com'], () => ({ status, headers: { 'Content-Type': 'application/json' }, body })));
  }

  it('delivers to the real Web API address when the answer says ok: true', async () => {
    const host = await slackCom('{"ok": true, "channel": "C1", "ts": "1.2"}');
    await deliver({ address: WEB_API, channel: 'flux-alerts', secretRef: { name: 't' }, ...host.spec }, [secretObject('t', { token: 'xoxb-123-456-abc' }), ...host.secrets]);
    const [req] = host.server.requests;
    expect(req!.url).toBe('/api/chat.postMessage');
    expect(req!.headers['host']).toBe('slack.com');
    expect(req!.headers['authorization']).toBe('Bearer xoxb-123-456-abc');
    expect(JSON.parse(req!.text).channel).toBe('flux-alerts');
    expect(host.proxy.used.map((u) => u.target)).toEqual(['slack.com:443']);
  });

  it('fails a 200 whose body says ok: false with Slack\'s error, not retried (upstream vector 3)', async () => {
    const host = await slackCom('{"ok": false, "error": "too_many_attachments"}');
    const err = await deliveryFailure(deliver({ address: WEB_API, ...host.spec }, host.secrets));
    expect(err.message).toBe('postMessage failed: Slack responded with error: too_many_attachments');
    expect([err.retryable, err.reason]).toEqual([false, 'client']);
    expect(host.server.requests).toHaveLength(1);
  });

  it('labels token errors as auth, and a body that is not JSON as an unmarshal error', async () => {
    const auth = await slackCom('{"ok":false,"error":"invalid_auth"}');
    const e1 = await deliveryFailure(deliver({ address: WEB_API, ...auth.spec }, auth.secrets));
    expect([e1.message, e1.reason]).toEqual(['postMessage failed: Slack responded with error: invalid_auth', 'auth']);
    const html = await slackCom('<html>oops</html>');
    const e2 = await deliveryFailure(deliver({ address: WEB_API, ...html.spec }, html.secrets));
    expect(e2.message).toMatch(/^postMessage failed: unable to unmarshal response body: /);
    expect(e2.retryable).toBe(false);
    const empty = await slackCom('{}');
    const e3 = await deliveryFailure(deliver({ address: WEB_API, ...empty.spec }, empty.secrets));
    expect(e3.message).toBe('postMessage failed: Slack responded with error: ');
  });

  it('reads Slack\'s answer only for the exact Web API address: a trailing slash or a query is webhook mode', async () => {
    for (const address of [`${WEB_API}/`, `${WEB_API}?x=1`]) {
      const host = await slackCom('{"ok": false, "error": "not_checked"}');
      await deliver({ address, ...host.spec }, host.secrets);
      expect(host.server.requests).toHaveLength(1);
    }
  });

  it('answers a webhook by status alone', async () => {
    const srv = await server({ respond: () => ({ status: 200, body: '{"ok": false}' }) });
    await deliver({ address: srv.url });
    const bad = await server({ respond: () => ({ status: 404, body: 'no_service' }) });
    const err = await deliveryFailure(deliver({ address: bad.url }));
    expect(err.message).toBe('postMessage failed: request failed with status code 404: no_service');
  });
});

describe('slack: configuration errors and secrets', () => {
  const hook = 'https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX';

  it('refuses a missing or unparseable address naming the Provider, the Secret and the key, without the URL', async () => {
    const srv = await server();
    const cases: [Partial<ProviderSpec>, Secret[], string][] = [
      [{}, [], "provider apps/ops: no Slack hook URL: set spec.address, or the key 'address' of a Secret named by spec.secretRef"],
      [{ secretRef: { name: 'hook' } }, [secretObject('hook', { token: 'xoxb-1' })], "provider apps/ops: no Slack hook URL: set spec.address or the key 'address' of secret apps/hook"],
      [{ address: 'hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX' }, [], 'provider apps/ops: spec.address: invalid Slack hook URL: invalid URI for request (the URL is not shown: it carries the webhook\'s key)'],
      [{ address: srv.url, secretRef: { name: 'hook' } }, [secretObject('hook', { address: 'hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX' })], "provider apps/ops: secret apps/hook key 'address': invalid Slack hook URL: invalid URI for request (the URL is not shown: it carries the webhook's key)"],
    ];
    for (const [spec, secrets, message] of cases) {
      let err: unknown;
      try {
        await deliver(spec, secrets);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(message);
      expect((err as Error).message).not.toContain('XXXXXXXX');
    }
    expect(srv.requests).toHaveLength(0);
  });

  it('keeps a webhook in spec.address out of transport and status errors (the worker does not know it is secret)', async () => {
    const echo = await server({ respond: (r) => ({ status: 400, body: `invalid_token for ${r.url}` }) });
    const address = `${echo.url}/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX`;
    const err = await deliveryFailure(deliver({ address }));
    expect(echo.requests[0]!.url).toBe('/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX');
    expect(err.message).toBe('postMessage failed: request failed with status code 400: invalid_token for *****');

    // Nothing listens on port 9: a transport error names the URL as Go does, minus its key.
    const down = await deliveryFailure(deliver({ address: hook.replace('https://hooks.slack.com', 'http://127.0.0.1:9') }));
    expect(down.message).toMatch(/^postMessage failed: Post "http:\/\/127\.0\.0\.1:9\*\*\*\*\*": /);
    expect(down.message).not.toContain('XXXXXXXX');
    expect(down.retryable).toBe(true);

    const settings = settingsFor(slack({ address }));
    expect(settings.sensitive).not.toContain('/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX');
  });

  it('keeps the Secret address and token out of errors once masked', async () => {
    const echo = await server({ respond: (r) => ({ status: 403, body: `denied ${r.url} ${r.headers['authorization']}` }) });
    const p = slack({ secretRef: { name: 'hook' } });
    const secrets = [secretObject('hook', { address: `${echo.url}/services/T1/B1/secretpart`, token: 'xoxb-very-secret' })];
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets));
    const masked = maskError(err.message, settingsFor(p, secrets));
    expect(masked).not.toContain('secretpart');
    expect(masked).not.toContain('xoxb-very-secret');
  });

  it('parses the Web API address as a public endpoint: nothing of it is masked', () => {
    const { config } = parseProvider(runtime, slack({ address: 'https://slack.com/api/chat.postMessage' }));
    expect((config as { config: { masked: string[]; webApi: boolean } }).config).toMatchObject({ masked: [], webApi: true });
  });
});
