// Alert message templates through every chat and incident type and generic / generic-hmac, against real local
// servers: the template's output lands where docs/templates.md says, and the preview (`herald explain --render`) is
// exactly the request the server then receives.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/api/alert.js';
import type { ProviderSpec, ProviderType } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { AlertTemplates } from '../../../src/routing/templates.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { trustTestCaAsSystemRoot } from '../../helpers/fixed-host.js';
import {
  canonicalEvent, CANONICAL, definitionOf, notificationFor, parseProvider, providerObject, secretObject, sendContext, testRuntime,
} from '../../helpers/providers.js';
import { startProxy } from '../../helpers/proxy.js';
import { startRecordingServer, type RecordedRequest, type RecordingServer } from '../../helpers/recording-server.js';
import { serverCertFor } from '../../helpers/tls.js';
import type { Notification, RequestPreview } from '../../../src/providers/types.js';

trustTestCaAsSystemRoot();
const track = closeAfterEach();
const runtime = testRuntime();
const templates = new AlertTemplates();

const TEXT_TEMPLATE = '{{ event.involvedObject.kind }}/{{ event.involvedObject.name }} {{ event.severity | upcase }} via {{ provider.type }}: {{ event.message }} ({{ event.metadata.cluster }})';
const TITLE_TEMPLATE = '{{ alert.namespace }}/{{ alert.name }} on {{ provider.name }}';
const text = (type: string) => `Kustomization/webapp ERROR via ${type}: Health check failed after 2m (prod-eu)`;
const TITLE = `apps/webapp-alerts on ${CANONICAL.provider.name}`;

function alertWith(annotations: Record<string, string>): Alert {
  return {
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
    kind: 'Alert',
    metadata: { ...CANONICAL.alert, annotations },
    spec: { providerRef: { name: CANONICAL.provider.name }, eventSeverity: 'info', eventSources: [{ kind: 'Kustomization', name: '*' }] },
  };
}

interface Case {
  type: ProviderType;
  spec: (srv: RecordingServer) => Partial<ProviderSpec>;
  secret?: (srv: RecordingServer) => Record<string, string>;
  /** Where the template's text and title must be in what the server received. */
  check: (req: RecordedRequest, type: string) => void;
  /** The request carries random ids (sentry): the preview cannot equal it byte for byte. */
  random?: boolean;
}

const json = (r: RecordedRequest) => JSON.parse(r.text) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const slackShaped = (r: RecordedRequest, type: string) => {
  const a = json(r)['attachments'][0];
  expect(a.text).toBe(text(type));
  expect(a.author_name).toBe(TITLE);
  // Flux's structured fields stay.
  expect(a.fields.map((f: { title: string }) => f.title)).toEqual(['cluster', 'revision', 'summary']);
};

const CASES: Case[] = [
  { type: 'slack', spec: (s) => ({ address: `${s.url}/services/T0/B0/xyz` }), check: slackShaped },
  { type: 'discord', spec: (s) => ({ address: `${s.url}/api/webhooks/1/tok` }), check: slackShaped },
  { type: 'rocket', spec: (s) => ({ address: `${s.url}/hooks/abc` }), check: slackShaped },
  {
    type: 'msteams', spec: (s) => ({ address: `${s.url}/workflows/1` }),
    check: (r, t) => {
      const items = json(r)['attachments'][0].content.body[0].items;
      expect(items[0].text).toBe(TITLE);
      expect(items[1].text).toBe(text(t));
    },
  },
  {
    type: 'googlechat', spec: (s) => ({ address: `${s.url}/v1/spaces/x/messages?key=k&token=t` }),
    check: (r, t) => {
      const card = json(r)['cards'][0];
      expect(card.header.title).toBe(TITLE);
      expect(card.sections[0].widgets[0].textParagraph.text).toBe(text(t));
    },
  },
  { type: 'webex', spec: (s) => ({ address: `${s.url}/v1/messages`, channel: 'room', secretRef: { name: 's' } }), secret: () => ({ token: 'webex-token' }), check: (r, t) => expect(json(r)['markdown']).toBe(text(t)) },
  {
    type: 'lark', spec: (s) => ({ address: `${s.url}/open-apis/bot/v2/hook/abc` }),
    check: (r, t) => {
      const card = json(r)['card'];
      expect(card.header.title.content).toBe(TITLE);
      expect(card.elements[0].text.content).toBe(text(t));
    },
  },
  {
    type: 'matrix', spec: (s) => ({ address: s.url, channel: '!room:example.org', secretRef: { name: 's' } }), secret: () => ({ token: 'mx-token' }),
    check: (r, t) => expect(json(r)['body']).toBe(text(t)),
  },
  {
    type: 'zulip', spec: (s) => ({ address: s.url, channel: 'ops/flux', secretRef: { name: 's' } }), secret: () => ({ username: 'bot@example.org', password: 'zulip-key' }),
    check: (r, t) => expect(new URLSearchParams(r.text).get('content')).toBe(text(t)),
  },
  {
    type: 'zoom', spec: (s) => ({ address: `${s.url}/chat/webhooks/incomingwebhook/abc`, secretRef: { name: 's' } }), secret: () => ({ token: 'zoom-token' }),
    check: (r, t) => {
      const c = json(r)['content'];
      expect(c.head.text).toBe(TITLE);
      expect(c.body[0].text).toBe(text(t));
    },
  },
  { type: 'pagerduty', spec: (s) => ({ address: s.url, channel: 'routing-key' }), check: (r, t) => expect(json(r)['payload'].summary).toBe(text(t)) },
  {
    type: 'opsgenie', spec: (s) => ({ address: `${s.url}/v2/alerts`, secretRef: { name: 's' } }), secret: () => ({ token: 'genie-key' }),
    check: (r, t) => {
      expect(json(r)['message']).toBe(TITLE);
      expect(json(r)['description']).toBe(text(t));
    },
  },
  {
    type: 'incident.io', spec: (s) => ({ address: `${s.url}/v2/alert_events/http/src`, secretRef: { name: 's' } }), secret: () => ({ token: 'iio-token' }),
    check: (r, t) => {
      expect(json(r)['title']).toBe(TITLE);
      expect(json(r)['description']).toBe(text(t));
    },
  },
  {
    type: 'alertmanager', spec: (s) => ({ address: `${s.url}/api/v2/alerts` }),
    check: (r, t) => {
      const a = (JSON.parse(r.text) as { annotations: Record<string, string> }[])[0]!;
      expect(a.annotations).toEqual({ message: 'Health check failed after 2m', summary: text(t) });
    },
  },
  { type: 'grafana', spec: (s) => ({ address: `${s.url}/api/annotations` }), check: (r, t) => expect(json(r)['text']).toBe(text(t)) },
  {
    type: 'datadog', spec: (s) => ({ address: s.url, secretRef: { name: 's' } }), secret: () => ({ token: 'dd-key' }),
    check: (r, t) => {
      expect(json(r)['text']).toBe(text(t));
      expect(json(r)['title']).toBe(TITLE);
    },
  },
  {
    type: 'sentry', spec: () => ({ secretRef: { name: 's' } }), secret: (s) => ({ address: `${s.url.replace('://', '://pub@')}/42` }), random: true,
    check: (r, t) => expect((JSON.parse(r.text.split('\n')[2]!) as { message: string }).message).toBe(text(t)),
  },
];

async function rendered(type: ProviderType, spec: Partial<ProviderSpec>, annotations: Record<string, string>): Promise<Notification> {
  const p = providerObject(type, spec);
  const n = notificationFor(canonicalEvent('error'), p);
  const outcome = await templates.render(n, alertWith(annotations), p);
  expect(outcome.error).toBeUndefined();
  if (outcome.rendered) n.rendered = outcome.rendered;
  return n;
}

/** The preview, then one real send of the same notification. */
async function previewThenSend(type: ProviderType, spec: Partial<ProviderSpec>, secrets: Secret[], n: Notification): Promise<RequestPreview | undefined> {
  const p = providerObject(type, spec);
  const { config } = parseProvider(runtime, p, secrets);
  const def = definitionOf(type);
  try {
    const preview = def.preview?.(n, config);
    await def.send(n, config, sendContext());
    return preview;
  } finally {
    await def.close?.(config);
  }
}

function expectSameRequest(preview: RequestPreview | undefined, req: RecordedRequest): void {
  if (preview?.kind !== 'http') throw new Error(`expected an HTTP preview, got ${JSON.stringify(preview)}`);
  expect(preview.method).toBe(req.method);
  const u = new URL(preview.url);
  expect(`${u.pathname}${u.search}`).toBe(req.url);
  expect(Buffer.from(preview.body ?? '')).toEqual(req.body);
  for (const [name, value] of Object.entries(preview.headers)) expect(req.headers[name.toLowerCase()], name).toBe(value);
}

describe('templates: the text of every chat and incident type', () => {
  for (const c of CASES) {
    it(`${c.type}: the template's text (and title) replace Flux's, and the preview is the request received`, async () => {
      const srv = track(await startRecordingServer());
      const spec = c.spec(srv);
      const secrets = c.secret ? [secretObject('s', c.secret(srv))] : [];
      const n = await rendered(c.type, spec, { 'herald.dev/template': TEXT_TEMPLATE, 'herald.dev/template-title': TITLE_TEMPLATE });
      const preview = await previewThenSend(c.type, spec, secrets, n);
      const [req] = await srv.waitFor(1);
      c.check(req!, c.type);
      if (!c.random) expectSameRequest(preview, req!);
    });
  }

  it("telegram (fixed host, through a proxy): the text is the template's, sent as rendered", async () => {
    const api = track(await startRecordingServer({ tls: serverCertFor(['api.telegram.org']) }));
    const proxy = track(await startProxy(undefined, { route: () => ({ host: '127.0.0.1', port: api.port }) }));
    const spec: Partial<ProviderSpec> = { channel: '-100123', secretRef: { name: 'bot' }, proxy: proxy.url };
    const n = await rendered('telegram', spec, { 'herald.dev/template': '*{{ event.involvedObject.name | telegram_escape }}* {{ event.message | telegram_escape }}' });
    const preview = await previewThenSend('telegram', spec, [secretObject('bot', { token: '123:tok' })], n);
    const [req] = await api.waitFor(1);
    expect(json(req!)['text']).toBe('*webapp* Health check failed after 2m');
    expect(json(req!)['parse_mode']).toBe('MarkdownV2');
    expectSameRequest(preview, req!);
  });

  it("without a template every type sends Flux's text (the builder's fallback)", async () => {
    const srv = track(await startRecordingServer());
    const spec = { address: `${srv.url}/hook` };
    const n = notificationFor(canonicalEvent('error'), providerObject('slack', spec));
    await previewThenSend('slack', spec, [], n);
    const [req] = await srv.waitFor(1);
    expect(json(req!)['attachments'][0].text).toBe('Health check failed after 2m');
    expect(json(req!)['attachments'][0].author_name).toBe('kustomization/webapp.apps');
  });
});

describe('templates: generic and generic-hmac get the whole body', () => {
  const BODY = '{"text": {{ event.message | json }}, "object": "{{ event.involvedObject.kind }}/{{ event.involvedObject.name }}", "alert": "{{ alert.name }}"}';
  const EXPECTED = '{"text": "Health check failed after 2m", "object": "Kustomization/webapp", "alert": "webapp-alerts"}';

  it('generic: the rendered body with application/json by default, and the preview is the request received', async () => {
    const srv = track(await startRecordingServer());
    const spec = { address: `${srv.url}/hook` };
    const n = await rendered('generic', spec, { 'herald.dev/template': BODY });
    const preview = await previewThenSend('generic', spec, [], n);
    const [req] = await srv.waitFor(1);
    expect(req!.text).toBe(EXPECTED);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['gotk-component']).toBe('kustomize-controller');
    expectSameRequest(preview, req!);
  });

  it('generic-hmac: herald.dev/template-content-type, and the signature covers the rendered bytes', async () => {
    const srv = track(await startRecordingServer());
    const spec: Partial<ProviderSpec> = { address: `${srv.url}/hook`, secretRef: { name: 'hmac' } };
    const n = await rendered('generic-hmac', spec, { 'herald.dev/template': 'object={{ event.involvedObject.name }}&severity={{ event.severity }}', 'herald.dev/template-content-type': 'application/x-www-form-urlencoded' });
    const preview = await previewThenSend('generic-hmac', spec, [secretObject('hmac', { token: 'hmac-key' })], n);
    const [req] = await srv.waitFor(1);
    expect(req!.text).toBe('object=webapp&severity=error');
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req!.headers['x-signature']).toBe(`sha256=${createHmac('sha256', 'hmac-key').update(req!.body).digest('hex')}`);
    expectSameRequest(preview, req!);
  });
});
