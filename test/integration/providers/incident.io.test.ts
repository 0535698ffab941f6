// incident.io against real local servers (spec providers/incident.io.md): firing/resolved, one dedup key, metadata, errors.
import { describe, expect, it } from 'vitest';
import { canonicalEvent } from '../../helpers/providers.js';
import { bytesOf, incidentKit, upstreamEvent } from './incident-kit.js';

const kit = incidentKit('incident.io');
const accepted = () => ({ status: 202, body: '{"status":"success","message":"Event accepted for processing"}' });

describe('incident.io: request', () => {
  it('fires the canonical error event byte for byte with Bearer auth', async () => {
    const srv = await kit.server({ respond: accepted });
    await kit.deliver(kit.provider({ address: `${srv.url}/v2/alert_events/http/01HXYZ`, secretRef: { name: 'inc' } }), [kit.secret('inc', { token: 'inc-token' })], canonicalEvent('error'));
    const [req] = await srv.waitFor(1);
    expect(`${req!.method} ${req!.url}`).toBe('POST /v2/alert_events/http/01HXYZ');
    expect(req!.headers['authorization']).toBe('Bearer inc-token');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.text).toBe(bytesOf({
      title: 'kustomization/webapp.apps: HealthCheckFailed',
      status: 'firing',
      deduplication_key: '4f3c2a1b-8d7e-4c6b-9a5f-0e1d2c3b4a59',
      description: 'Health check failed after 2m',
      metadata: {
        cluster: 'prod-eu', reason: 'HealthCheckFailed', reportingController: 'kustomize-controller',
        revision: 'main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', severity: 'error', summary: 'Production cluster',
      },
    }));
  });

  it('reproduces Flux\'s vectors 1-3: resolved for info, firing for error, the same dedup key, Progressing skipped', async () => {
    const srv = await kit.server({ respond: accepted });
    const p = kit.provider({ address: srv.url, secretRef: { name: 'inc' } });
    const s = [kit.secret('inc', { token: 'token' })];
    await kit.deliver(p, s, upstreamEvent());
    await kit.deliver(p, s, upstreamEvent({ severity: 'error' }));
    await kit.deliver(p, s, upstreamEvent({ reason: 'Progressing' }));
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.requests).toHaveLength(2);
    const [info, error] = srv.requests.map((r) => JSON.parse(r.text));
    expect(srv.requests[0]!.headers['authorization']).toBe('Bearer token');
    expect(info).toEqual({
      title: 'gitrepository/webapp.gitops-system: reason', status: 'resolved', deduplication_key: '2f5c9d21-b62c-4a35-9b17-1b0f4c8e2d3a',
      description: 'message', metadata: { test: 'metadata', severity: 'info', reason: 'reason', reportingController: 'source-controller' },
    });
    expect([error.status, error.metadata.severity, error.deduplication_key]).toEqual(['firing', 'error', info.deduplication_key]);
  });

  it('lets severity, reason and reportingController replace metadata keys; omits an empty description and controller; keeps an empty dedup key', async () => {
    const srv = await kit.server({ respond: accepted });
    const p = kit.provider({ address: srv.url, secretRef: { name: 'inc' } });
    const e = upstreamEvent({ message: '', reportingController: '', severity: 'trace', metadata: { severity: 'x', reason: 'y', reportingController: 'z', other: 'o' } });
    e.involvedObject = { kind: 'GitRepository', namespace: 'gitops-system', name: 'webapp' };
    await kit.deliver(p, [kit.secret('inc', { token: 'token' })], e);
    expect(srv.requests[0]!.text).toBe(bytesOf({
      title: 'gitrepository/webapp.gitops-system: reason', status: 'resolved', deduplication_key: '',
      metadata: { other: 'o', reason: 'reason', reportingController: 'z', severity: 'trace' },
    }));
  });

  it('keeps the token out of a failure that echoes the request', async () => {
    const srv = await kit.server({ respond: (r) => ({ status: 401, body: `invalid ${r.headers['authorization']}` }) });
    const masked = await kit.maskedFailure(kit.provider({ address: srv.url, secretRef: { name: 'inc' } }), [kit.secret('inc', { token: 'inc-t0ken-xyz' })]);
    expect(masked).toBe('postMessage failed: request failed with status code 401: invalid Bearer *****');
  });
});

describe('incident.io: construction', () => {
  it('refuses a bad address, then an empty token, with Flux\'s texts naming Provider, Secret and key; nothing is sent', async () => {
    const srv = await kit.server();
    expect(await kit.refusedWithoutSending(kit.provider({ address: 'invalid-url', secretRef: { name: 'inc' } }), [kit.secret('inc', { token: 'token' })], srv))
      .toContain(`provider apps/ops: spec.address: invalid incident.io alert source URL invalid-url: 'parse "invalid-url": invalid URI for request'`);
    expect(await kit.refusedWithoutSending(kit.provider({ address: srv.url, secretRef: { name: 'inc' } }), [kit.secret('inc', { token: '' })], srv))
      .toContain("provider apps/ops: empty incident.io API token (secret apps/inc key 'token' is empty)");
    expect(await kit.refusedWithoutSending(kit.provider({ address: srv.url, secretRef: { name: 'inc' } }), [kit.secret('inc', { username: 'u', password: 'p' })], srv))
      .toContain("provider apps/ops: empty incident.io API token (secret apps/inc has no key 'token')");
    expect(await kit.refusedWithoutSending(kit.provider({ address: srv.url }), [], srv)).toContain('empty incident.io API token (spec.secretRef is not set');
  });
});
