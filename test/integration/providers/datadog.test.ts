// datadog against real local servers (spec providers/datadog.md): the SDK's request as one exchange, tags, errors.
import { describe, expect, it } from 'vitest';
import { datadogEventsUrl } from '../../../src/providers/incident/datadog.js';
import { startProxy } from '../../helpers/proxy.js';
import { canonicalEvent } from '../../helpers/providers.js';
import { bytesOf, incidentKit, upstreamEvent } from './incident-kit.js';

const kit = incidentKit('datadog');
const ok = () => ({ status: 202, headers: { 'Content-Type': 'application/json' }, body: '{"status":"ok"}' });

describe('datadog: request', () => {
  it('posts the canonical event to /api/v1/events on the address\'s scheme and host, byte for byte', async () => {
    const srv = await kit.server({ respond: ok });
    await kit.deliver(kit.provider({ address: `${srv.url}/some/path?x=1`, secretRef: { name: 'dd' } }), [kit.secret('dd', { token: 'dd-api-key' })], canonicalEvent('error'));
    const [req] = await srv.waitFor(1);
    expect(`${req!.method} ${req!.url}`).toBe('POST /api/v1/events');
    expect(req!.headers['dd-api-key']).toBe('dd-api-key');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['accept']).toBe('application/json');
    expect(req!.headers['authorization']).toBeUndefined();
    expect(req!.text).toBe(bytesOf({
      alert_type: 'error',
      date_happened: 1748772930,
      source_type_name: 'fluxcd',
      tags: [
        'flux_reporting_controller:kustomize-controller', 'flux_reason:healthcheckfailed', 'kube_kind:kustomization', 'kube_name:webapp',
        'kube_namespace:apps', 'cluster:prod-eu', 'revision:main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', 'summary:production cluster',
      ],
      text: 'Health check failed after 2m',
      title: 'Events from the Kustomization webapp/apps',
    }));
  });

  it('sets alert_type info for other severities, lower-cases every tag (Flux vector 5) and skips nothing', async () => {
    const srv = await kit.server({ respond: ok });
    const p = kit.provider({ address: srv.url, secretRef: { name: 'dd' } });
    await kit.deliver(p, [kit.secret('dd', { token: 'sdfsdf' })], upstreamEvent({ reason: 'Progressing', metadata: { Test: 'MetaData' } }));
    const body = JSON.parse(srv.requests[0]!.text);
    expect(body.alert_type).toBe('info');
    expect(body.tags).toEqual([
      'flux_reporting_controller:source-controller', 'flux_reason:progressing', 'kube_kind:gitrepository', 'kube_name:webapp',
      'kube_namespace:gitops-system', 'test:metadata',
    ]);
    expect(body.title).toBe('Events from the GitRepository webapp/gitops-system');
  });

  it('defaults the scheme and host the address leaves out to https://api.datadoghq.com', async () => {
    expect(datadogEventsUrl('')).toBe('https://api.datadoghq.com/api/v1/events');
    expect(datadogEventsUrl('api.datadoghq.eu')).toBe('https://api.datadoghq.com/api/v1/events');
    expect(datadogEventsUrl('https://api.us5.datadoghq.com/ignored?q=1')).toBe('https://api.us5.datadoghq.com/api/v1/events');
    expect(datadogEventsUrl('http://127.0.0.1:8126')).toBe('http://127.0.0.1:8126/api/v1/events');
    // On the wire: a proxy that refuses the tunnel shows where the request was going, and nothing leaves the machine.
    const proxy = kit.track(await startProxy('Basic never-matches'));
    const p = kit.provider({ secretRef: { name: 'dd' }, proxySecretRef: { name: 'px' } });
    const err = await kit.failure(p, [kit.secret('dd', { token: 'dd-api-key' }), kit.secret('px', { address: proxy.url })]);
    expect(proxy.used.map((u) => `${u.method} ${u.target}`)).toEqual(['CONNECT api.datadoghq.com:443']);
    expect(err.message).toMatch(/^failed to post event to DataDog: Post "https:\/\/api\.datadoghq\.com\/api\/v1\/events": /);
  });
});

describe('datadog: answers', () => {
  it('fails a refused request with the SDK\'s status line and Datadog\'s answer (Flux vector 2), keeping the key out', async () => {
    const srv = await kit.server({ respond: (r) => ({ status: 403, body: `{"errors":["Forbidden"],"key":"${r.headers['dd-api-key']}"}` }) });
    const p = kit.provider({ address: srv.url, secretRef: { name: 'dd' } });
    const s = [kit.secret('dd', { token: 'dd-api-k3y-0123' })];
    const err = await kit.failure(p, s);
    expect(err.retryable).toBe(false);
    expect(err.reason).toBe('auth');
    expect(await kit.maskedFailure(p, s)).toBe('failed to post event to DataDog: 403 Forbidden: {"errors":["Forbidden"],"key":"*****"}');
  });

  it('accepts an empty 2xx body, fails a 2xx body that is not JSON, and prints the status line alone for an empty error body', async () => {
    const srv = await kit.server({
      respond: (_r, n) => [{ status: 200, body: '' }, { status: 200, body: '<html>ok</html>' }, { status: 500, body: '' }][n]!,
    });
    const p = kit.provider({ address: srv.url, secretRef: { name: 'dd' } });
    const s = [kit.secret('dd', { token: 'dd-api-key' })];
    await kit.deliver(p, s);
    const notJson = await kit.failure(p, s);
    expect(notJson.message).toMatch(/^failed to post event to DataDog: /);
    expect(notJson.retryable).toBe(false);
    const e500 = await kit.failure(p, s);
    expect([e500.message, e500.retryable]).toEqual(['failed to post event to DataDog: 500 Internal Server Error', true]);
  });
});

describe('datadog: construction', () => {
  it('refuses an empty token first (Flux vector 3), naming Provider, Secret and key; nothing is sent', async () => {
    const srv = await kit.server();
    expect(await kit.refusedWithoutSending(kit.provider({ address: 'https://bad url :)', secretRef: { name: 'dd' } }), [kit.secret('dd', { token: '' })], srv))
      .toBe("provider apps/ops: token cannot be empty (secret apps/dd key 'token' is empty)");
    expect(await kit.refusedWithoutSending(kit.provider({ address: srv.url }), [], srv))
      .toBe("provider apps/ops: token cannot be empty (spec.secretRef is not set; put the Datadog API key in a Secret under the key 'token')");
  });

  it('refuses an address a URL parser rejects (Flux vector 4) and an unparseable proxy, without the key', async () => {
    const srv = await kit.server();
    const bad = await kit.refusedWithoutSending(kit.provider({ address: 'https://bad url :)', secretRef: { name: 'dd' } }), [kit.secret('dd', { token: 'dd-api-key' })], srv);
    expect(bad).toBe('provider apps/ops: spec.address: failed to parse address "https://bad url :)": parse "https://bad url :)": invalid port ":)" after host');
    // spec.proxy (deprecated): the Secret's `proxy` key is already checked when the settings are resolved.
    const proxy = kit.configError(kit.provider({ address: srv.url, proxy: 'http://proxy:port', secretRef: { name: 'dd' } }), [kit.secret('dd', { token: 'dd-api-key' })]);
    expect(proxy.message).toBe('provider apps/ops: failed to parse proxy URL "http://proxy:port": parse "http://proxy:port": invalid port ":port" after host');
    expect(proxy.message).not.toContain('dd-api-key');
  });
});
