// msteams against real local servers: the schema chosen by host (the pure chooser on the spec's table and look-alike
// hosts, plus requests to the real host names routed through the recording proxy), both payloads field by field,
// errors without the webhook.
import { describe, expect, it } from 'vitest';
import { decodeEvent, type FluxEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { teamsSchema } from '../../../src/providers/chat/msteams.js';
import { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { canonicalEvent, deliverOnce, deliveryFailure, providerObject, testRuntime } from '../../helpers/providers.js';
import { startPublicHost } from '../../helpers/public-host.js';
import { startRecordingServer, type RecordingServerOptions } from '../../helpers/recording-server.js';

const track = closeAfterEach();
const runtime = testRuntime();
const server = async (opts?: RecordingServerOptions) => track(await startRecordingServer(opts));
const deliver = (spec: Partial<ProviderSpec>, secrets: Secret[] = [], event: FluxEvent = canonicalEvent()) =>
  deliverOnce(runtime, providerObject('msteams', spec), secrets, event);

const upstream = decodeEvent('{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"message","reason":"reason","metadata":{"test":"metadata"},"reportingController":"source-controller"}');

const WORKFLOWS = 'https://prod-28.northeurope.logic.azure.com:443/workflows/xxx/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s1gn4tur3s1gn4tur3';
const CONNECTOR = 'https://xxx.webhook.office.com/webhookb2/1111-2222@3333-4444/IncomingWebhook/abcdef0123456789/5555-6666';

describe('msteams: schema by host', () => {
  it('chooses as the spec\'s table (upstream vectors 1-4)', () => {
    expect(teamsSchema('https://xxx.webhook.office.com')).toBe('message-card');
    expect(teamsSchema('https://xxx.webhook.office.com:443')).toBe('message-card');
    expect(teamsSchema('https://xxx-webhook.office.com')).toBe('adaptive-card');
    expect(teamsSchema('https://prod-28.northeurope.logic.azure.com:443/workflows/xxx/triggers/manual/paths/invoke')).toBe('adaptive-card');
  });

  it('treats look-alike hosts and non-host parts as Adaptive Card, exactly as Go\'s suffix test', () => {
    expect(teamsSchema('https://webhook.office.com/x')).toBe('adaptive-card');
    expect(teamsSchema('https://xxx.webhook.office.com.example.net/x')).toBe('adaptive-card');
    expect(teamsSchema('https://example.net/xxx.webhook.office.com')).toBe('adaptive-card');
    expect(teamsSchema('https://example.net/?h=xxx.webhook.office.com')).toBe('adaptive-card');
    expect(teamsSchema('https://xxx.webhook.office.com@example.net/x')).toBe('adaptive-card');
    expect(teamsSchema('https://XXX.WEBHOOK.OFFICE.COM/x')).toBe('adaptive-card');
    expect(teamsSchema('https://user@a.b.webhook.office.com:8443/x')).toBe('message-card');
    expect(teamsSchema(CONNECTOR)).toBe('message-card');
    expect(teamsSchema(WORKFLOWS)).toBe('adaptive-card');
  });

  it('sends the MessageCard to a real *.webhook.office.com address and the Adaptive Card to a Workflows one', async () => {
    const host = track(await startPublicHost(['xxx.webhook.office.com', 'prod-28.northeurope.logic.azure.com'], () => ({ status: 202, body: '' })));
    await deliver({ address: CONNECTOR, ...host.spec }, host.secrets);
    await deliver({ address: WORKFLOWS, ...host.spec }, host.secrets);
    const [card, adaptive] = host.server.requests;
    expect(card!.headers['host']).toBe('xxx.webhook.office.com');
    expect(card!.url).toBe('/webhookb2/1111-2222@3333-4444/IncomingWebhook/abcdef0123456789/5555-6666');
    expect(JSON.parse(card!.text)['@type']).toBe('MessageCard');
    expect(adaptive!.headers['host']).toMatch(/^prod-28\.northeurope\.logic\.azure\.com(:443)?$/);
    expect(adaptive!.url).toBe('/workflows/xxx/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s1gn4tur3s1gn4tur3');
    expect(JSON.parse(adaptive!.text).type).toBe('message');
    expect(host.proxy.used.map((u) => u.target)).toEqual(['xxx.webhook.office.com:443', 'prod-28.northeurope.logic.azure.com:443']);
  });
});

describe('msteams: Adaptive Card', () => {
  it('reproduces upstream vector 6 byte for byte', async () => {
    const srv = await server();
    await deliver({ address: srv.url }, [], upstream);
    expect(srv.requests[0]!.text).toBe('{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4","body":[{"type":"Container","items":[{"type":"TextBlock","text":"gitrepository/webapp.gitops-system","size":"large","weight":"bolder","wrap":true},{"type":"TextBlock","text":"message","wrap":true},{"type":"FactSet","facts":[{"title":"test","value":"metadata"}]}]}],"msteams":{"width":"Full"}}}]}');
  });

  it('puts summary first then the other facts by key, colours only errors, and sends {"type":"FactSet"} without metadata', async () => {
    const srv = await server();
    await deliver({ address: srv.url }, [], { ...canonicalEvent(), metadata: { zz: '1', summary: 'S', aa: '2' } });
    await deliver({ address: srv.url }, [], { ...canonicalEvent('info'), metadata: {} });
    const items = srv.requests.map((r) => JSON.parse(r.text).attachments[0].content.body[0].items);
    expect(items[0][2].facts).toEqual([{ title: 'summary', value: 'S' }, { title: 'aa', value: '2' }, { title: 'zz', value: '1' }]);
    expect(items[0][1]).toEqual({ type: 'TextBlock', text: 'Health check failed after 2m', color: 'attention', wrap: true });
    expect(items[1][1]).toEqual({ type: 'TextBlock', text: 'Health check failed after 2m', wrap: true });
    expect(srv.requests[1]!.text).toContain('{"type":"FactSet"}]');
  });
});

describe('msteams: MessageCard', () => {
  it('sends the spec\'s canonical MessageCard and its info colour', async () => {
    const host = track(await startPublicHost(['xxx.webhook.office.com'], () => ({ status: 200, body: '1' })));
    await deliver({ address: CONNECTOR, ...host.spec }, host.secrets);
    await deliver({ address: CONNECTOR, ...host.spec }, host.secrets, { ...upstream, message: 'message' });
    expect(host.server.requests[0]!.text).toBe('{"@type":"MessageCard","@context":"http://schema.org/extensions","themeColor":"FF0000","summary":"kustomization/webapp.apps","sections":[{"activityTitle":"Health check failed after 2m","activitySubtitle":"kustomization/webapp.apps","facts":[{"name":"cluster","value":"prod-eu"},{"name":"revision","value":"main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567"},{"name":"summary","value":"Production cluster"}]}]}');
    // Upstream vector 5.
    const info = JSON.parse(host.server.requests[1]!.text);
    expect(info.themeColor).toBe('0076D7');
    expect(info.sections[0].activitySubtitle).toBe('gitrepository/webapp.gitops-system');
    expect(info.sections[0].facts[0].value).toBe('metadata');
  });

  it('sends facts [] without metadata', async () => {
    const host = track(await startPublicHost(['xxx.webhook.office.com'], () => ({ status: 200, body: '1' })));
    await deliver({ address: CONNECTOR, ...host.spec }, host.secrets, { ...upstream, metadata: {} });
    expect(JSON.parse(host.server.requests[0]!.text).sections[0].facts).toEqual([]);
  });
});

describe('msteams: errors', () => {
  it('refuses an unparseable address without printing it', async () => {
    let err: unknown;
    try {
      await deliver({ address: 'xxx.webhook.office.com/webhookb2/s3cr3t' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe("provider apps/ops: spec.address: invalid MS Teams webhook URL: invalid URI for request (the URL is not shown: it carries the webhook's key)");
  });

  it('keeps the Workflows signature in spec.address out of errors', async () => {
    const srv = await server({ respond: (r) => ({ status: 401, body: `{"error":{"code":"DirectApiAuthorizationRequired","message":"${r.url}"}}` }) });
    const err = await deliveryFailure(deliver({ address: `${srv.url}/workflows/xxx/triggers/manual/paths/invoke?api-version=2016-06-01&sig=s1gn4tur3s1gn4tur3` }));
    expect(err.message).not.toContain('s1gn4tur3');
    expect(err.message).not.toContain('/workflows/xxx');
    const down = await deliveryFailure(deliver({ address: 'http://127.0.0.1:9/workflows/xxx/triggers/manual/paths/invoke?sig=s1gn4tur3s1gn4tur3' }));
    expect(down.message).not.toContain('s1gn4tur3');
  });
});
