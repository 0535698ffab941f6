// The doc pages of the incident providers carry working examples: each parses as Herald parses manifests and,
// pointed at a local endpoint, sends the request its page describes.
import { describe, expect, it } from 'vitest';
import type { ProviderType } from '../../../src/api/provider.js';
import { docExample } from '../../helpers/doc-example.js';
import { canonicalEvent, deliverOnce, parseProvider } from '../../helpers/providers.js';
import { incidentKit } from './incident-kit.js';

const kit = incidentKit('generic');

const pages: [ProviderType, string, (url: string) => string, string, string | undefined][] = [
  // type, address in the example, local address, request path, Authorization (or DD-API-KEY for datadog)
  ['pagerduty', 'https://events.pagerduty.com', (u) => u, '/v2/enqueue', undefined],
  ['opsgenie', 'https://api.opsgenie.com/v2/alerts', (u) => `${u}/v2/alerts`, '/v2/alerts', 'GenieKey 0123abcd-4567-89ef-0123-456789abcdef'],
  ['incident.io', 'https://api.incident.io/v2/alert_events/http/01HXYZABCDEF', (u) => `${u}/v2/alert_events/http/01HXYZABCDEF`, '/v2/alert_events/http/01HXYZABCDEF', 'Bearer inc_alert_source_token'],
  ['alertmanager', 'http://alertmanager-operated.monitoring:9093/api/v2/alerts', (u) => `${u}/api/v2/alerts`, '/api/v2/alerts', 'Bearer am-bearer-token'],
  ['grafana', 'https://grafana.example.com/api/annotations', (u) => `${u}/api/annotations`, '/api/annotations', 'Bearer glsa_serviceaccounttoken'],
  ['datadog', 'https://api.datadoghq.eu', (u) => u, '/api/v1/events', '0123456789abcdef0123456789abcdef'],
];

describe('incident providers: docs/providers/<type>.md examples', () => {
  it.each(pages)('%s: the example parses and sends its request', async (type, address, local, path, auth) => {
    const { provider, secrets, problems } = docExample(type);
    expect(problems).toEqual([]);
    expect(provider.spec.type).toBe(type);
    expect(provider.spec.address).toBe(address);
    parseProvider(kit.runtime, provider, secrets);

    const srv = await kit.server({ respond: () => ({ status: 202, body: '{}' }) });
    const p = { ...provider, spec: { ...provider.spec, address: local(srv.url) } };
    await deliverOnce(kit.runtime, p, secrets, canonicalEvent('error'));
    const [req] = await srv.waitFor(1);
    expect(req!.url).toBe(path);
    expect(type === 'datadog' ? req!.headers['dd-api-key'] : req!.headers['authorization']).toBe(auth);
  });
});
