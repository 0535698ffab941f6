// `herald serve` in cluster mode with object-level workload identity, end to end: without
// --feature-gates=ObjectLevelWorkloadIdentity=true a Provider with spec.serviceAccountName fails with Flux's error
// (recorded on the Alert); with it, azuredevops gets the ServiceAccount's token from the test API server (TokenRequest),
// exchanges it at a local HTTPS Entra ID authority and posts the commit status with the Entra ID token.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { entraAuthority, entraToken } from '../../helpers/entra.js';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/fake-apiserver.js';
import { startFakeAzureDevOps, trackHosts } from '../../helpers/fake-git-hosts.js';
import { postEvent, startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import type { FluxEvent } from '../../../src/api/event.js';
import { fixtureJson } from '../../helpers/fixtures.js';
import { makeTestPki } from '../../helpers/tls.js';

const NV = 'notification.toolkit.fluxcd.io/v1beta3';
const ACCESS = 'entra-token-of-flux-azure';
const track = closeAfterEach();
const trackHost = trackHosts();
const entra = entraAuthority(track);
let herald: HeraldProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  await herald?.stop();
  herald = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The API server with an azuredevops Provider naming ServiceAccount apps/flux-azure, and an Alert for webapp. */
async function clusterWith(devopsUrl: string): Promise<FakeApiServer> {
  const api = track(await startFakeApiServer());
  api.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'flux-azure', namespace: 'apps', annotations: { 'azure.workload.identity/client-id': '11111111-2222-3333-4444-555555555555' } } });
  api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'azdo-ca', namespace: 'apps' }, data: { 'ca.crt': Buffer.from(makeTestPki().ca).toString('base64') } });
  api.apply({ apiVersion: NV, kind: 'Provider', metadata: { name: 'azdo', namespace: 'apps' },
    spec: { type: 'azuredevops', address: `${devopsUrl}/acme/platform/_git/webapp`, secretRef: { name: 'azdo-ca' }, serviceAccountName: 'flux-azure' } });
  api.apply({ apiVersion: NV, kind: 'Alert', metadata: { name: 'webapp', namespace: 'apps' },
    spec: { providerRef: { name: 'azdo' }, eventSources: [{ kind: 'Kustomization', name: 'webapp' }] } });
  return api;
}

async function serve(api: FakeApiServer, args: string[]): Promise<HeraldProcess> {
  // The child trusts the test CA (Entra ID authority) as the parent does.
  dir = mkdtempSync(path.join(tmpdir(), 'herald-olwi-'));
  const ca = path.join(dir, 'ca.pem');
  writeFileSync(ca, makeTestPki().ca);
  herald = await startHerald({ args: ['--kubeconfig', api.kubeconfigPath, ...args], env: { RUNTIME_NAMESPACE: 'flux-system', NODE_EXTRA_CA_CERTS: ca } });
  return herald;
}

/** kustomize-controller's event for Kustomization apps/webapp as it posts it (prefixed revision key). */
function event(kind: 'health-check-failed' | 'reconciliation-succeeded'): FluxEvent {
  const e = fixtureJson<FluxEvent>(`events/kustomize-controller-${kind}.json`);
  return { ...e, involvedObject: { ...e.involvedObject, namespace: 'apps', name: 'webapp' } };
}

async function until(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; logs:\n${herald?.logs.slice(-15).join("\n") ?? ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('herald serve: spec.serviceAccountName', () => {
  it("fails with Flux's feature-gate error without --feature-gates=ObjectLevelWorkloadIdentity=true", async () => {
    const authority = await entra(() => entraToken(ACCESS), { controller: false });
    const h = trackHost(await startFakeAzureDevOps({ pat: ACCESS, org: 'acme', project: 'platform', repo: 'webapp' }));
    const api = await clusterWith(h.url);
    const herald = await serve(api, []);
    expect((await postEvent(herald.eventsUrl, event('health-check-failed'))).status).toBe(202);
    const failed = () => api.events().filter((e) => e['reason'] === 'NotificationDispatchFailed');
    await until('the NotificationDispatchFailed Event', () => failed().length > 0);
    expect(String(failed()[0]!['message'])).toBe('failed to dispatch notification for Kustomization/apps/webapp: to use spec.serviceAccountName for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller');
    expect(h.server.requests).toHaveLength(0);
    expect(api.issuedTokens).toHaveLength(0);
    expect(authority.tokenRequests()).toHaveLength(0);
  });

  it('posts the commit status with the ServiceAccount identity\'s token with the gate, one TokenRequest for two events', async () => {
    const authority = await entra(() => entraToken(ACCESS), { controller: false });
    const h = trackHost(await startFakeAzureDevOps({ pat: ACCESS, org: 'acme', project: 'platform', repo: 'webapp' }));
    const api = await clusterWith(h.url);
    const herald = await serve(api, ['--feature-gates=ObjectLevelWorkloadIdentity=true']);
    expect((await postEvent(herald.eventsUrl, event('health-check-failed'))).status).toBe(202);
    await until('the first commit status', () => h.statuses.length === 1);
    expect((await postEvent(herald.eventsUrl, event('reconciliation-succeeded'))).status).toBe(202);
    await until('the second commit status', () => h.statuses.length === 2);
    expect(h.statuses.map((s) => s['state'])).toEqual(['error', 'succeeded']);
    expect(api.issuedTokens.map((t) => [t.namespace, t.name, t.audiences])).toEqual([['apps', 'flux-azure', ['api://AzureADTokenExchange']]]);
    expect(authority.tokenRequests().map((r) => r.form.get('client_assertion'))).toEqual([api.issuedTokens[0]!.token]);
    expect(api.events().filter((e) => e['reason'] === 'NotificationDispatchFailed')).toEqual([]);
  });
});
