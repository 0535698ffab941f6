// alertmanager against real local servers (spec providers/alertmanager.md): the alert list, labels, auth, errors.
import { describe, expect, it } from 'vitest';
import { titleCase } from '../../../src/providers/incident/alertmanager.js';
import { canonicalEvent } from '../../helpers/providers.js';
import { bytesOf, incidentKit, upstreamEvent } from './incident-kit.js';

const kit = incidentKit('alertmanager');
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('alertmanager: request', () => {
  it('posts the canonical alert list byte for byte', async () => {
    const srv = await kit.server();
    await kit.deliver(kit.provider({ address: `${srv.url}/api/v2/alerts`, secretRef: { name: 'am' } }), [kit.secret('am', { token: 'am-token' })], canonicalEvent('error'));
    const [req] = await srv.waitFor(1);
    expect(`${req!.method} ${req!.url}`).toBe('POST /api/v2/alerts');
    expect(req!.headers['authorization']).toBe('Bearer am-token');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.text).toBe(bytesOf([{
      status: 'firing',
      labels: {
        alertname: 'FluxKustomizationHealthcheckfailed', cluster: 'prod-eu', kind: 'Kustomization', name: 'webapp', namespace: 'apps',
        reason: 'HealthCheckFailed', reportingcontroller: 'kustomize-controller', revision: 'main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', severity: 'error',
      },
      annotations: { message: 'Health check failed after 2m', summary: 'Production cluster' },
      startsAt: '2025-06-01T10:15:30Z',
      endsAt: '0001-01-01T00:00:00Z',
    }]));
  });

  it('fires info events too (only labels.severity differs) and skips nothing, Progressing included', async () => {
    const srv = await kit.server();
    const p = kit.provider({ address: srv.url });
    await kit.deliver(p, [], canonicalEvent('error'));
    await kit.deliver(p, [], canonicalEvent('info'));
    await kit.deliver(p, [], upstreamEvent({ reason: 'Progressing' }));
    const [error, info, progressing] = srv.requests.map((r) => JSON.parse(r.text));
    expect(info[0].status).toBe('firing');
    expect(info[0].labels.severity).toBe('info');
    expect({ ...info[0], labels: { ...info[0].labels, severity: 'error' } }).toEqual(error[0]);
    expect(progressing[0].labels.alertname).toBe('FluxGitRepositoryProgressing');
  });

  it('lets the computed labels win over metadata, moves summary to annotations, keeps other metadata as labels', async () => {
    const srv = await kit.server();
    const metadata = { alertname: 'a', severity: 's', reason: 'r', kind: 'k', name: 'n', namespace: 'ns', reportingcontroller: 'rc', team: 'platform' };
    await kit.deliver(kit.provider({ address: srv.url }), [], upstreamEvent({ metadata }));
    const [alert] = JSON.parse(srv.requests[0]!.text);
    expect(alert.labels).toEqual({
      alertname: 'FluxGitRepositoryReason', severity: 'info', reason: 'reason', kind: 'GitRepository', name: 'webapp',
      namespace: 'gitops-system', reportingcontroller: 'source-controller', team: 'platform',
    });
    expect(alert.annotations).toEqual({ message: 'message' });
    expect(alert.startsAt).toBe('2022-09-30T06:40:29Z');
    // Flux vector 1: the body decodes as a list of alerts.
    expect(Array.isArray(JSON.parse(srv.requests[0]!.text))).toBe(true);
  });

  it('title-cases the reason as Go\'s cases.Title does: one word per CamelCase reason', () => {
    expect(titleCase('HealthCheckFailed')).toBe('Healthcheckfailed');
    expect(titleCase('Progressing')).toBe('Progressing');
    expect(titleCase('ReconciliationSucceeded')).toBe('Reconciliationsucceeded');
    expect(titleCase('install failed')).toBe('Install Failed');
    expect(titleCase('UPGRADE-FAILED')).toBe('Upgrade-Failed');
    expect(titleCase('')).toBe('');
  });
});

describe('alertmanager: authentication', () => {
  const cases: [string, Record<string, string> | undefined, string | undefined][] = [
    ['token only: Bearer', { token: 'am-token' }, 'Bearer am-token'],
    ['username and password: Basic', { username: 'am-user', password: 'am-pass' }, basic('am-user', 'am-pass')],
    ['token and username+password: Basic replaces the token hook', { token: 'am-token', username: 'am-user', password: 'am-pass' }, basic('am-user', 'am-pass')],
    ['an empty password: the token', { token: 'am-token', username: 'am-user', password: '' }, 'Bearer am-token'],
    ['no Secret: no header', undefined, undefined],
  ];
  it.each(cases)('%s', async (_name, data, expected) => {
    const srv = await kit.server();
    const p = kit.provider({ address: srv.url, ...(data ? { secretRef: { name: 'am' } } : {}) });
    await kit.deliver(p, data ? [kit.secret('am', data)] : []);
    expect(srv.requests[0]!.headers['authorization']).toBe(expected);
  });

  it('keeps the token and password out of a failure that echoes the request', async () => {
    const srv = await kit.server({ respond: (r) => ({ status: 400, body: `rejected ${r.headers['authorization']} ${Buffer.from((r.headers['authorization'] ?? '').slice(6), 'base64').toString()}` }) });
    const masked = await kit.maskedFailure(kit.provider({ address: srv.url, secretRef: { name: 'am' } }), [kit.secret('am', { token: 'am-t0ken', username: 'am-user', password: 'am-passw0rd' })]);
    expect(masked).toMatch(/^postMessage failed: request failed with status code 400: rejected /);
    expect(masked).not.toContain('am-passw0rd');
    expect(masked).not.toContain('am-t0ken');
  });
});

describe('alertmanager: construction', () => {
  it('refuses an address that is not a request URI, with Flux\'s text naming the Provider; nothing is sent', async () => {
    const srv = await kit.server();
    expect(await kit.refusedWithoutSending(kit.provider({ address: 'alertmanager.monitoring/api/v2/alerts' }), [], srv))
      .toContain(`provider apps/ops: spec.address: invalid Alertmanager URL alertmanager.monitoring/api/v2/alerts: 'parse "alertmanager.monitoring/api/v2/alerts": invalid URI for request'`);
    expect(await kit.refusedWithoutSending(kit.provider({}), [], srv))
      .toContain(`provider apps/ops: spec.address: invalid Alertmanager URL : 'parse "": empty url'`);
  });

  it('reports a Secret with a username but no password, naming Secret and key, and masks its address', () => {
    const err = kit.configError(kit.provider({ secretRef: { name: 'am' } }), [kit.secret('am', { address: 'am.example/api?sig=0123456789abcdef', username: 'u' })]);
    expect(err.message).toContain('secret apps/am');
    expect(err.message).toContain('password');
    const bad = kit.configError(kit.provider({ secretRef: { name: 'am' } }), [kit.secret('am', { address: 'am.example/api?sig=0123456789abcdef', token: 't0ken' })]);
    expect(bad.message).toContain("provider apps/ops: secret apps/am key 'address': invalid Alertmanager URL");
    expect(bad.message).not.toContain('0123456789abcdef');
  });
});
