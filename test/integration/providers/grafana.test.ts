// grafana against real local servers (spec providers/grafana.md): the annotation, tags, Bearer over Basic, errors.
import { describe, expect, it } from 'vitest';
import { canonicalEvent } from '../../helpers/providers.js';
import { bytesOf, incidentKit, upstreamEvent } from './incident-kit.js';

const kit = incidentKit('grafana');
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('grafana: request', () => {
  it('posts the canonical annotation byte for byte; info and error are identical', async () => {
    const srv = await kit.server();
    const p = kit.provider({ address: `${srv.url}/api/annotations`, secretRef: { name: 'gf' } });
    const s = [kit.secret('gf', { token: 'glsa_abc' })];
    await kit.deliver(p, s, canonicalEvent('error'));
    await kit.deliver(p, s, canonicalEvent('info'));
    const [error, info] = srv.requests;
    expect(`${error!.method} ${error!.url}`).toBe('POST /api/annotations');
    expect(error!.headers['authorization']).toBe('Bearer glsa_abc');
    expect(error!.headers['content-type']).toBe('application/json');
    expect(error!.text).toBe(bytesOf({
      when: 1748772930,
      text: 'kustomization/webapp.apps',
      tags: ['flux', 'kustomize-controller', 'cluster: prod-eu', 'revision: main@sha1|9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', 'summary: Production cluster', 'kind: Kustomization', 'name: webapp', 'namespace: apps'],
    }));
    expect(info!.text).toBe(error!.text);
  });

  it('reproduces Flux\'s vector 1 and replaces ":" only inside metadata keys and values; skips nothing', async () => {
    const srv = await kit.server();
    const p = kit.provider({ address: srv.url });
    await kit.deliver(p, [], upstreamEvent({ reason: 'Progressing' }));
    expect(JSON.parse(srv.requests[0]!.text)).toEqual({
      when: 1664520029,
      text: 'gitrepository/webapp.gitops-system',
      tags: ['flux', 'source-controller', 'test: metadata', 'kind: GitRepository', 'name: webapp', 'namespace: gitops-system'],
    });
    const e = upstreamEvent({ metadata: { 'b:key': 'v:1:2', a: 'x' } });
    e.involvedObject = { ...e.involvedObject, name: 'web:app' };
    await kit.deliver(p, [], e);
    expect(JSON.parse(srv.requests[1]!.text).tags).toEqual(['flux', 'source-controller', 'a: x', 'b|key: v|1|2', 'kind: GitRepository', 'name: web:app', 'namespace: gitops-system']);
  });

  const cases: [string, Record<string, string> | undefined, string | undefined][] = [
    ['a token: Bearer, even with username and password', { token: 'glsa_abc', username: 'admin', password: 'pw' }, 'Bearer glsa_abc'],
    ['username and password without token: Basic', { username: 'admin', password: 'pw' }, basic('admin', 'pw')],
    ['an empty password: nothing', { username: 'admin', password: '' }, undefined],
    ['no Secret: nothing', undefined, undefined],
  ];
  it.each(cases)('authenticates with %s', async (_name, data, expected) => {
    const srv = await kit.server();
    await kit.deliver(kit.provider({ address: srv.url, ...(data ? { secretRef: { name: 'gf' } } : {}) }), data ? [kit.secret('gf', data)] : []);
    expect(srv.requests[0]!.headers['authorization']).toBe(expected);
  });

  it('keeps the token out of a failure that echoes the request', async () => {
    const srv = await kit.server({ respond: (r) => ({ status: 401, body: `invalid ${r.headers['authorization']}` }) });
    const masked = await kit.maskedFailure(kit.provider({ address: srv.url, secretRef: { name: 'gf' } }), [kit.secret('gf', { token: 'glsa_s3cret' })]);
    expect(masked).toBe('postMessage failed: request failed with status code 401: invalid Bearer *****');
  });
});

describe('grafana: construction', () => {
  it('refuses an address that is not a request URI with Flux\'s text (no cause), naming the Provider; nothing is sent', async () => {
    const srv = await kit.server();
    expect(await kit.refusedWithoutSending(kit.provider({ address: 'grafana.example.com/api/annotations' }), [], srv))
      .toBe('provider apps/ops: spec.address: invalid Grafana URL grafana.example.com/api/annotations');
  });
});
