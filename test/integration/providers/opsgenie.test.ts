// opsgenie against real local servers (spec providers/opsgenie.md): GenieKey auth, the alias, details, construction errors.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { opsgenieAlias } from '../../../src/providers/incident/opsgenie.js';
import { canonicalEvent } from '../../helpers/providers.js';
import { bytesOf, incidentKit, upstreamEvent } from './incident-kit.js';

const kit = incidentKit('opsgenie');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const accepted = () => ({ status: 202, body: '{"result":"Request will be processed"}' });

describe('opsgenie: request', () => {
  it('posts the canonical alert byte for byte with GenieKey auth', async () => {
    const srv = await kit.server({ respond: accepted });
    await kit.deliver(kit.provider({ address: `${srv.url}/v2/alerts`, secretRef: { name: 'og' } }), [kit.secret('og', { token: 'og-key-123' })], canonicalEvent('error'));
    const [req] = await srv.waitFor(1);
    expect(`${req!.method} ${req!.url}`).toBe('POST /v2/alerts');
    expect(req!.headers['authorization']).toBe('GenieKey og-key-123');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.text).toBe(bytesOf({
      message: 'Kustomization/webapp',
      alias: '844b14d0ee5b4aab3bf9fe6335e07a3ea62b2d863a0af603731f23394df7e8a2',
      description: 'Health check failed after 2m',
      details: { cluster: 'prod-eu', revision: 'main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', severity: 'error', summary: 'Production cluster' },
    }));
  });

  it('sends info events too, differing only in details.severity; severity replaces a metadata key of that name', async () => {
    const srv = await kit.server({ respond: accepted });
    const p = kit.provider({ address: srv.url, secretRef: { name: 'og' } });
    const s = [kit.secret('og', { token: 'token' })];
    await kit.deliver(p, s, upstreamEvent());
    await kit.deliver(p, s, upstreamEvent({ severity: 'error', metadata: { severity: 'critical', test: 'metadata' } }));
    await kit.deliver(p, s, upstreamEvent({ metadata: {} }));
    const [info, error, bare] = srv.requests.map((r) => JSON.parse(r.text));
    expect(info).toEqual({ message: 'GitRepository/webapp', alias: info.alias, description: 'message', details: { test: 'metadata', severity: 'info' } });
    expect(error.details).toEqual({ test: 'metadata', severity: 'error' });
    expect(error.alias).toBe(info.alias);
    // Flux vector 2: no metadata gives details with severity only.
    expect(srv.requests[2]!.text).toContain('"details":{"severity":"info"}');
    expect(bare.details).toEqual({ severity: 'info' });
  });

  it('derives the alias from provider UID, kind, namespace, name and reason only (Flux vectors 3-9)', async () => {
    const uid = 'test-provider-uid-123';
    const base = upstreamEvent();
    const alias = opsgenieAlias(uid, base);
    expect(alias).toBe('fe0de7c3e730984dc8fa97aa4e3564e679cce5c2fa3103734a603115c16f7156');
    expect(alias).toHaveLength(64);
    expect(opsgenieAlias(uid, upstreamEvent({ message: 'other' }))).toBe(alias);
    expect(opsgenieAlias(uid, upstreamEvent({ metadata: {} }))).toBe(alias);
    expect(opsgenieAlias(uid, upstreamEvent({ reason: 'HealthCheckFailed' }))).toBe(sha256(`${uid}/GitRepository/gitops-system/webapp/HealthCheckFailed`));
    const prod = upstreamEvent();
    prod.involvedObject = { ...prod.involvedObject, namespace: 'production' };
    expect(opsgenieAlias(uid, prod)).toBe(sha256(`${uid}/GitRepository/production/webapp/reason`));
    expect(opsgenieAlias('other-uid', base)).not.toBe(alias);

    // The alias on the wire is the one of the Provider that sends it.
    const srv = await kit.server({ respond: accepted });
    await kit.deliver(kit.provider({ address: srv.url, secretRef: { name: 'og' } }, { uid }), [kit.secret('og', { token: 'token' })], base);
    expect(JSON.parse(srv.requests[0]!.text).alias).toBe(alias);
  });

  it('skips nothing: Progressing is sent as well', async () => {
    const srv = await kit.server({ respond: accepted });
    await kit.deliver(kit.provider({ address: srv.url, secretRef: { name: 'og' } }), [kit.secret('og', { token: 'token' })], upstreamEvent({ reason: 'Progressing' }));
    expect(srv.requests).toHaveLength(1);
  });

  it('keeps the API key out of a failure that echoes the request', async () => {
    const srv = await kit.server({ respond: (r) => ({ status: 422, body: `bad key ${r.headers['authorization']}` }) });
    const masked = await kit.maskedFailure(kit.provider({ address: srv.url, secretRef: { name: 'og' } }), [kit.secret('og', { token: 'og-key-abcdef' })]);
    expect(masked).toBe('postMessage failed: request failed with status code 422: bad key GenieKey *****');
  });
});

describe('opsgenie: construction', () => {
  it('checks the address first, then the token, with Flux\'s texts naming Provider, Secret and key; nothing is sent', async () => {
    const srv = await kit.server();
    const badAddress = await kit.refusedWithoutSending(kit.provider({ address: 'not a url', secretRef: { name: 'og' } }), [kit.secret('og', {})], srv);
    expect(badAddress).toContain(`provider apps/ops: spec.address: invalid Opsgenie hook URL not a url: 'parse "not a url": invalid URI for request'`);

    expect(await kit.refusedWithoutSending(kit.provider({ address: srv.url, secretRef: { name: 'og' } }), [kit.secret('og', {})], srv))
      .toContain("provider apps/ops: empty Opsgenie apikey/token (secret apps/og has no key 'token')");
    expect(await kit.refusedWithoutSending(kit.provider({ address: srv.url, secretRef: { name: 'og' } }), [kit.secret('og', { token: '' })], srv))
      .toContain("provider apps/ops: empty Opsgenie apikey/token (secret apps/og key 'token' is empty)");
    expect(await kit.refusedWithoutSending(kit.provider({ address: srv.url }), [], srv))
      .toContain("provider apps/ops: empty Opsgenie apikey/token (spec.secretRef is not set; put the Opsgenie API key in a Secret under the key 'token')");
  });

  it('masks a Secret address in the construction error and names its key', () => {
    const err = kit.configError(kit.provider({ secretRef: { name: 'og' } }), [kit.secret('og', { address: 'api.opsgenie.com/v2/alerts?k=0123456789', token: 'og-key-123' })]);
    expect(err.message).toContain('invalid Opsgenie hook URL');
    expect(err.message).toContain("provider apps/ops: secret apps/og key 'address': invalid Opsgenie hook URL");
    expect(err.message).not.toContain('0123456789');
    expect(err.message).not.toContain('og-key-123');
  });
});
