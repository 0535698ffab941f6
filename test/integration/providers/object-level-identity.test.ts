// Object-level workload identity (spec.serviceAccountName behind --feature-gates=ObjectLevelWorkloadIdentity=true):
// Flux's error without the gate (routing and parse), the flag, the ServiceAccount's token through the TokenRequest API
// of the test API server (cached per ServiceAccount and audience, renewed before it expires) exchanged at a local HTTPS
// Entra ID authority for azuredevops and azureeventhub, and the errors for a missing ServiceAccount or annotation and
// for config-dir mode.
import { KubeConfig } from '@kubernetes/client-node';
import * as tls from 'node:tls';
import type { GoogleAuth } from 'google-auth-library';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/api/alert.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import { loadConfig, UsageError } from '../../../src/config.js';
import { AzureEventHubProvider, type AzureEventHubConfig } from '../../../src/providers/cloud/azureeventhub.js';
import { GooglePubSubProvider, type GooglePubSubConfig } from '../../../src/providers/cloud/googlepubsub.js';
import { AZURE_DEVOPS_SCOPE, EVENTHUBS_SCOPE } from '../../../src/providers/cloud/identity/azure.js';
import { FEATURE_GATE_ERROR } from '../../../src/providers/cloud/identity/service-account.js';
import { ProviderRuntime } from '../../../src/providers/runtime.js';
import type { ConfigError } from '../../../src/providers/types.js';
import { KubeRest } from '../../../src/resources/kube-rest.js';
import { kubeServiceAccounts } from '../../../src/resources/service-accounts.js';
import { compileAlert } from '../../../src/resources/store.js';
import { prepareNotification } from '../../../src/routing/notification.js';
import { closeAfterEach, restoreEnvAndCaAfterEach } from '../../helpers/cleanup.js';
import { entraAuthority, entraToken, ENTRA_TENANT } from '../../helpers/entra.js';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/fake-apiserver.js';
import { startFakeAzureDevOps, trackHosts, type FakeHost } from '../../helpers/fake-git-hosts.js';
import { gitObjects, STATUS_ID, variantI } from '../../helpers/git-variants.js';
import { configErrorOf, providerWithSecret } from '../../helpers/provider-parse.js';
import { startPublicHost } from '../../helpers/public-host.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { makeTestPki } from '../../helpers/tls.js';
import { canonicalEvent, deliverOnce, deliveryFailure, notificationFor, parseProvider, providerObject, sendContext, settingsFor } from '../../helpers/providers.js';

const track = closeAfterEach();
const trackHost = trackHosts();
const entra = entraAuthority(track);

const SA_CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const SA_TENANT = 'tenant-of-the-sa';
const ACCESS = 'entra-token-of-the-service-account';

/** The test API server with ServiceAccount `apps/<name>` (annotations given) and a runtime with the gate on. */
async function cluster(opts: { tokenLifetimeSeconds?: number; annotations?: Record<string, string>; name?: string } = {}) {
  const api: FakeApiServer = track(await startFakeApiServer(opts.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: opts.tokenLifetimeSeconds } : {}));
  api.apply({
    apiVersion: 'v1', kind: 'ServiceAccount',
    metadata: { name: opts.name ?? 'flux-azure', namespace: 'apps', annotations: opts.annotations ?? { 'azure.workload.identity/client-id': SA_CLIENT_ID, 'azure.workload.identity/tenant-id': SA_TENANT } },
  });
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  const rt = track(new ProviderRuntime({ objectLevelWorkloadIdentity: true, serviceAccounts: kubeServiceAccounts(new KubeRest(kc)) }));
  return { api, rt };
}

const tokenRequests = (api: FakeApiServer) => api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/token'));

describe('object-level workload identity: the feature gate', () => {
  const alert: Alert = {
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert',
    metadata: { namespace: 'apps', name: 'webapp', uid: 'a1' } as Alert['metadata'],
    spec: { providerRef: { name: 'ops' }, eventSeverity: 'info', eventSources: [{ kind: 'Kustomization', name: '*' }] } as Alert['spec'],
  };
  const prepare = (gate: boolean, type: 'slack' | 'googlepubsub') => prepareNotification(canonicalEvent(), compileAlert(alert), {
    noCrossNamespaceRefs: false, objectLevelWorkloadIdentity: gate, provider: () => providerObject(type, { serviceAccountName: 'flux-azure', address: 'x', channel: 'y' }),
  });

  it("refuses spec.serviceAccountName with Flux's text while the gate is off, for any type, and routes it with the gate", () => {
    for (const type of ['slack', 'googlepubsub'] as const) {
      expect(prepare(false, type)).toEqual({ kind: 'error', message: FEATURE_GATE_ERROR });
      expect(prepare(true, type).kind).toBe('ready');
    }
    expect(FEATURE_GATE_ERROR).toBe('to use spec.serviceAccountName for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller');
  });

  it('parses --feature-gates as Flux does: known gates only, booleans', () => {
    expect(loadConfig([]).featureGates.ObjectLevelWorkloadIdentity).toBe(false);
    expect(loadConfig(['--feature-gates=ObjectLevelWorkloadIdentity=true']).featureGates.ObjectLevelWorkloadIdentity).toBe(true);
    expect(loadConfig(['--feature-gates', 'CacheSecretsAndConfigMaps=true,ObjectLevelWorkloadIdentity=false']).featureGates)
      .toEqual({ CacheSecretsAndConfigMaps: true, DisableConfigWatchers: false, ObjectLevelWorkloadIdentity: false });
    expect(() => loadConfig(['--feature-gates=NoSuchGate=true'])).toThrow(new UsageError('--feature-gates: unknown feature gate "NoSuchGate" (known: CacheSecretsAndConfigMaps, DisableConfigWatchers, ObjectLevelWorkloadIdentity)'));
    expect(() => loadConfig(['--feature-gates=ObjectLevelWorkloadIdentity'])).toThrow(UsageError);
    expect(() => loadConfig(['--feature-gates=ObjectLevelWorkloadIdentity=yes'])).toThrow(UsageError);
  });

  it('names cluster mode when the gate is on but there is no Kubernetes API (config-dir mode)', () => {
    const rt = track(new ProviderRuntime({ objectLevelWorkloadIdentity: true }));
    const { p, secrets } = providerWithSecret('azureeventhub', 'eh', { address: 'flux-events', channel: 'fluxns', serviceAccountName: 'flux-azure' });
    const err: ConfigError = configErrorOf(() => AzureEventHubProvider.parse(settingsFor(p, secrets), { runtime: rt }));
    expect(err.message).toBe('provider apps/ops: spec.serviceAccountName "flux-azure" needs cluster mode: object-level workload identity asks the Kubernetes API for the ServiceAccount\'s tokens, and Herald runs with --config-dir');
    // Without the gate, the parse-time check gives Flux's text (herald check).
    const off = track(new ProviderRuntime());
    expect(configErrorOf(() => AzureEventHubProvider.parse(settingsFor(p, secrets), { runtime: off })).message).toBe(`provider apps/ops: ${FEATURE_GATE_ERROR}`);
  });
});

describe('object-level workload identity: azuredevops', () => {
  async function devops(pat = ACCESS): Promise<FakeHost> {
    return trackHost(await startFakeAzureDevOps({ pat, org: 'acme', project: 'platform', repo: 'webapp' }));
  }
  async function send(rt: ProviderRuntime, h: FakeHost, event = canonicalEvent('error'), serviceAccountName = 'flux-azure') {
    const { provider, secrets } = gitObjects('azuredevops', `${h.url}/acme/platform/_git/webapp`, 'azdo', { 'ca.crt': h.pki.ca }, { serviceAccountName });
    return deliverOnce(rt, provider, secrets, event, { commitStatusId: STATUS_ID, timeoutMs: 8000 });
  }

  it("exchanges the ServiceAccount's Kubernetes token for its Entra ID identity's token: requested once, cached", async () => {
    const authority = await entra(() => entraToken(ACCESS), { controller: false });
    const { api, rt } = await cluster();
    const h = await devops();
    await send(rt, h);
    await send(rt, h, variantI());
    expect(h.statuses.map((s) => s['state'])).toEqual(['error', 'succeeded']);
    const basic = `Basic ${Buffer.from(`:${ACCESS}`).toString('base64')}`;
    expect(h.server.requests.every((r) => r.headers['authorization'] === basic)).toBe(true);
    // One TokenRequest for the ServiceAccount with the audience Entra ID accepts.
    expect(tokenRequests(api).map((r) => [r.path, r.body])).toEqual([[
      '/api/v1/namespaces/apps/serviceaccounts/flux-azure/token',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['api://AzureADTokenExchange'], expirationSeconds: 3600 } },
    ]]);
    expect(api.issuedTokens).toHaveLength(1);
    // One exchange, at the ServiceAccount's tenant, as its client ID, with the Kubernetes token as the assertion.
    const exchanges = authority.tokenRequests();
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.url).toMatch(new RegExp(`^/${SA_TENANT}/oauth2/v2\\.0/token`));
    expect(exchanges[0]!.form.get('client_id')).toBe(SA_CLIENT_ID);
    expect(exchanges[0]!.form.get('client_assertion')).toBe(api.issuedTokens[0]!.token);
    expect(exchanges[0]!.form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(exchanges[0]!.form.get('scope')).toContain(AZURE_DEVOPS_SCOPE);
  });

  it('renews the Kubernetes token shortly before it expires and exchanges the new one', async () => {
    // Entra tokens of two minutes are inside the library's renewal margin, so every send exchanges again.
    const authority = await entra(() => entraToken(ACCESS, 120), { controller: false });
    const { api, rt } = await cluster({ tokenLifetimeSeconds: 2 });
    const h = await devops();
    await send(rt, h);
    await send(rt, h, variantI());
    // Within the first half of its two seconds the Kubernetes token is reused...
    expect(api.issuedTokens).toHaveLength(1);
    expect(authority.tokenRequests().map((r) => r.form.get('client_assertion'))).toEqual([api.issuedTokens[0]!.token, api.issuedTokens[0]!.token]);
    await new Promise((r) => setTimeout(r, 1100));
    await send(rt, h, canonicalEvent('error'));
    // ...then a new one is requested and exchanged.
    expect(api.issuedTokens).toHaveLength(2);
    expect(api.issuedTokens[1]!.token).not.toBe(api.issuedTokens[0]!.token);
    expect(authority.tokenRequests().at(-1)!.form.get('client_assertion')).toBe(api.issuedTokens[1]!.token);
  });

  it('reports a missing ServiceAccount, one without the client-id annotation and a refused TokenRequest clearly, before any Azure DevOps call', async () => {
    const authority = await entra(() => entraToken(ACCESS), { controller: false });
    const { api, rt } = await cluster();
    api.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'plain', namespace: 'apps' } });
    const h = await devops();
    const missing = await deliveryFailure(send(rt, h, canonicalEvent('error'), 'missing'));
    expect(missing.message).toBe('failed to acquire azure devops token: failed to get token: failed to get service account \'apps/missing\': serviceaccounts "missing" not found');
    expect([missing.retryable, missing.reason]).toEqual([true, 'auth']);
    const plain = await deliveryFailure(send(rt, h, canonicalEvent('error'), 'plain'));
    expect(plain.message).toBe("failed to acquire azure devops token: failed to get token: failed to create provider access token for service account 'apps/plain': the service account has no azure.workload.identity/client-id annotation");
    expect(h.server.requests).toHaveLength(0);
    expect(authority.tokenRequests()).toHaveLength(0);
    expect(tokenRequests(api)).toHaveLength(0);
    // A TokenRequest the API server refuses (RBAC without serviceaccounts/token create), then accepts: not cached.
    api.failNext({ method: 'POST', path: '/serviceaccounts/flux-azure/token', status: 403, reason: 'Forbidden' });
    const forbidden = await deliveryFailure(send(rt, h));
    expect(forbidden.message).toBe("failed to acquire azure devops token: failed to get token: failed to create kubernetes token for service account 'apps/flux-azure': injected failure 403");
    expect(authority.tokenRequests()).toHaveLength(0);
    await send(rt, h);
    expect(tokenRequests(api)).toHaveLength(2);
    expect(h.statuses).toHaveLength(1);
  });

  it("reports a refused exchange naming the ServiceAccount, and uses AZURE_TENANT_ID without a tenant annotation", async () => {
    const authority = await entra(() => ({ status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'AADSTS70021: No matching federated identity record found for presented assertion.' }) }), { controller: false });
    const { rt } = await cluster({ annotations: { 'azure.workload.identity/client-id': SA_CLIENT_ID } });
    const h = await devops();
    const err = await deliveryFailure(send(rt, h));
    expect(err.message).toMatch(/^failed to acquire azure devops token: failed to get token: failed to create provider access token for service account 'apps\/flux-azure': .*AADSTS70021/s);
    expect(authority.tokenRequests()[0]!.url).toMatch(new RegExp(`^/${ENTRA_TENANT}/oauth2/v2\\.0/token`));
  });
});

describe('object-level workload identity: azureeventhub', () => {
  const parse = (rt: ProviderRuntime, spec: Partial<ProviderSpec>): AzureEventHubConfig => {
    const { p, secrets } = providerWithSecret('azureeventhub', 'eh', spec);
    return AzureEventHubProvider.parse(settingsFor(p, secrets), { runtime: rt });
  };

  it("gets the Event Hubs token for the ServiceAccount's identity, cached per ServiceAccount and audience", async () => {
    const authority = await entra(() => entraToken('entra-token-for-eventhubs'), { controller: false });
    const { api, rt } = await cluster();
    const a = parse(rt, { address: 'flux-events', channel: 'fluxns', serviceAccountName: 'flux-azure' });
    const b = parse(rt, { address: 'other-hub', channel: 'fluxns', serviceAccountName: 'flux-azure' });
    expect(a.serviceAccount).toBe('apps/flux-azure');
    expect((await (await a.credential!()).getToken(EVENTHUBS_SCOPE))!.token).toBe('entra-token-for-eventhubs');
    expect((await (await b.credential!()).getToken(EVENTHUBS_SCOPE))!.token).toBe('entra-token-for-eventhubs');
    expect(api.issuedTokens).toHaveLength(1);
    expect(authority.tokenRequests()).toHaveLength(1);
    expect(authority.tokenRequests()[0]!.form.get('scope')).toContain('https://eventhubs.azure.net//.default');
    await Promise.all([AzureEventHubProvider.close!(a), AzureEventHubProvider.close!(b)]);
  });

  it('reports a missing ServiceAccount as Flux words a token failure, before any connection', async () => {
    await entra(() => entraToken('unused'), { controller: false });
    const { rt } = await cluster();
    const config = parse(rt, { address: 'flux-events', channel: 'fluxns', serviceAccountName: 'nobody' });
    const { p } = providerWithSecret('azureeventhub', 'eh', { address: 'flux-events', channel: 'fluxns', serviceAccountName: 'nobody' });
    const err = await deliveryFailure(AzureEventHubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext(8000)));
    expect(err.message).toBe('failed to create a eventhub using managed identity: failed to get token: failed to get service account \'apps/nobody\': serviceaccounts "nobody" not found');
    expect(config.client.started).toBe(false);
    await AzureEventHubProvider.close!(config);
  });
});

describe('object-level workload identity: googlepubsub', () => {
  const WIP = 'projects/123456789/locations/global/workloadIdentityPools/flux-pool/providers/kubernetes';
  const GSA = 'flux-pubsub@my-project.iam.gserviceaccount.com';
  const PROXY_ENV = ['HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'PUBSUB_EMULATOR_HOST', 'GCE_METADATA_HOST'] as const;
  restoreEnvAndCaAfterEach(PROXY_ENV);
  const savedCa = tls.getCACertificates('default');

  /** Google's STS and IAM Credentials hosts on loopback, reached through the environment proxy as in a cluster. */
  async function google(opts: { stsSeconds?: number } = {}) {
    let n = 0;
    const host = track(await startPublicHost(['sts.googleapis.com', 'iamcredentials.googleapis.com'], (req) => {
      const json = { 'Content-Type': 'application/json' };
      if (req.headers['host'] === 'sts.googleapis.com' && req.url === '/v1/token') {
        return { status: 200, headers: json, body: JSON.stringify({ access_token: `federated-access-token-${++n}`, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: opts.stsSeconds ?? 3600 }) };
      }
      if (req.headers['host'] === 'iamcredentials.googleapis.com') {
        return { status: 200, headers: json, body: JSON.stringify({ accessToken: `impersonated-access-token-${n}`, expireTime: new Date(Date.now() + 3_600_000).toISOString() }) };
      }
      return { status: 404, headers: json, body: '{}' };
    }));
    tls.setDefaultCACertificates([...savedCa, makeTestPki().ca]);
    for (const k of ['NO_PROXY', 'no_proxy', 'PUBSUB_EMULATOR_HOST', 'https_proxy']) delete process.env[k];
    process.env['HTTPS_PROXY'] = host.proxy.url;
    return host;
  }

  const parse = (rt: ProviderRuntime, spec: Partial<ProviderSpec>, secret?: Record<string, string>): GooglePubSubConfig => {
    const { p, secrets } = providerWithSecret('googlepubsub', 'ps', spec, secret);
    return GooglePubSubProvider.parse(settingsFor(p, secrets), { runtime: rt });
  };

  it("exchanges the ServiceAccount's token at Google's STS and impersonates its Google service account, once, cached", async () => {
    const g = await google();
    const { api, rt } = await cluster({ name: 'flux-gcp', annotations: { 'gcp.auth.fluxcd.io/workload-identity-provider': WIP, 'iam.gke.io/gcp-service-account': GSA } });
    const config = parse(rt, { address: 'my-project', channel: 'flux-events', serviceAccountName: 'flux-gcp' });
    expect(config.auth).toEqual({ kind: 'service-account', serviceAccount: 'apps/flux-gcp' });
    const { pubsub } = await config.client.get();
    const auth = pubsub.options.auth as GoogleAuth;
    expect(await auth.getAccessToken()).toBe('impersonated-access-token-1');
    expect(await auth.getAccessToken()).toBe('impersonated-access-token-1');
    // A second Provider naming the same ServiceAccount shares the identity and its tokens.
    const other = parse(rt, { address: 'my-project', channel: 'other-topic', serviceAccountName: 'flux-gcp' });
    expect((await other.client.get()).pubsub.options.auth).toBe(auth);
    await Promise.all([GooglePubSubProvider.close!(config), GooglePubSubProvider.close!(other)]);

    const audience = `//iam.googleapis.com/${WIP}`;
    expect(api.issuedTokens.map((t) => [t.namespace, t.name, t.audiences])).toEqual([['apps', 'flux-gcp', [audience]]]);
    const sts = g.server.requests.filter((r) => r.headers['host'] === 'sts.googleapis.com');
    expect(sts).toHaveLength(1);
    const form = new URLSearchParams(sts[0]!.text);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:token-exchange');
    expect(form.get('audience')).toBe(audience);
    expect(form.get('subject_token')).toBe(api.issuedTokens[0]!.token);
    expect(form.get('subject_token_type')).toBe('urn:ietf:params:oauth:token-type:jwt');
    const iam = g.server.requests.filter((r) => r.headers['host'] === 'iamcredentials.googleapis.com');
    expect(iam.map((r) => [r.method, r.url, r.headers['authorization']])).toEqual([
      ['POST', `/v1/projects/-/serviceAccounts/${GSA}:generateAccessToken`, 'Bearer federated-access-token-1'],
    ]);
    expect(JSON.parse(iam[0]!.text)).toMatchObject({ scope: ['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/userinfo.email'] });
  });

  it('renews: a federated token about to expire is exchanged again with a renewed Kubernetes token', async () => {
    // STS tokens of one minute are inside the library's renewal margin; Kubernetes tokens of two seconds are renewed
    // after one.
    const g = await google({ stsSeconds: 60 });
    const { api, rt } = await cluster({ name: 'flux-gcp', tokenLifetimeSeconds: 2, annotations: { 'gcp.auth.fluxcd.io/workload-identity-provider': WIP } });
    const config = parse(rt, { address: 'my-project', channel: 'flux-events', serviceAccountName: 'flux-gcp' });
    const auth = (await config.client.get()).pubsub.options.auth as GoogleAuth;
    expect(await auth.getAccessToken()).toBe('federated-access-token-1');
    expect(await auth.getAccessToken()).toBe('federated-access-token-2');
    expect(api.issuedTokens).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await auth.getAccessToken()).toBe('federated-access-token-3');
    expect(api.issuedTokens).toHaveLength(2);
    const subjects = g.server.requests.map((r) => new URLSearchParams(r.text).get('subject_token'));
    expect(subjects).toEqual([api.issuedTokens[0]!.token, api.issuedTokens[0]!.token, api.issuedTokens[1]!.token]);
    await GooglePubSubProvider.close!(config);
  });

  it("uses GKE's own pool without a workload-identity-provider annotation: the cluster from the metadata server", async () => {
    const g = await google();
    const metadata = track(await startRecordingServer({
      respond: (req) => {
        const values: Record<string, string> = {
          '/computeMetadata/v1/project/project-id': 'my-project',
          '/computeMetadata/v1/instance/attributes/cluster-location': 'europe-west1',
          '/computeMetadata/v1/instance/attributes/cluster-name': 'prod',
        };
        const v = req.headers['metadata-flavor'] === 'Google' ? values[req.url] : undefined;
        return v === undefined ? { status: 404, body: 'not found' } : { status: 200, headers: { 'Metadata-Flavor': 'Google', 'Content-Type': 'application/text' }, body: v };
      },
    }));
    process.env['GCE_METADATA_HOST'] = `127.0.0.1:${metadata.port}`;
    process.env['NO_PROXY'] = '127.0.0.1';
    const { api, rt } = await cluster({ name: 'flux-gcp', annotations: { 'iam.gke.io/gcp-service-account': GSA } });
    const config = parse(rt, { address: 'my-project', channel: 'flux-events', serviceAccountName: 'flux-gcp' });
    const auth = (await config.client.get()).pubsub.options.auth as GoogleAuth;
    expect(await auth.getAccessToken()).toBe('impersonated-access-token-1');
    await GooglePubSubProvider.close!(config);
    expect(api.issuedTokens.map((t) => t.audiences)).toEqual([['my-project.svc.id.goog']]);
    const sts = g.server.requests.filter((r) => r.headers['host'] === 'sts.googleapis.com');
    expect(new URLSearchParams(sts[0]!.text).get('audience'))
      .toBe('identitynamespace:my-project.svc.id.goog:https://container.googleapis.com/v1/projects/my-project/locations/europe-west1/clusters/prod');
    expect(g.server.requests.filter((r) => r.headers['host'] === 'iamcredentials.googleapis.com')).toHaveLength(1);
  });

  it('reports a missing ServiceAccount, a bad annotation and a GKE cluster the metadata server does not name, as failed deliveries', async () => {
    await google();
    const metadata = track(await startRecordingServer({ respond: () => ({ status: 404, body: 'not found' }) }));
    process.env['GCE_METADATA_HOST'] = `127.0.0.1:${metadata.port}`;
    process.env['NO_PROXY'] = '127.0.0.1';
    const { api, rt } = await cluster({ name: 'flux-gcp', annotations: { 'gcp.auth.fluxcd.io/workload-identity-provider': 'foobar' } });
    api.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'gke-only', namespace: 'apps', annotations: { 'iam.gke.io/gcp-service-account': GSA } } });
    const failure = async (serviceAccountName: string) => {
      const spec = { address: 'my-project', channel: 'flux-events', serviceAccountName };
      const config = parse(rt, spec);
      const { p } = providerWithSecret('googlepubsub', 'ps', spec);
      try {
        return await deliveryFailure(GooglePubSubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext(8000)));
      } finally {
        await GooglePubSubProvider.close!(config);
      }
    };
    const prefix = 'error publishing to GCP Pub/Sub topic projects/my-project/topics/flux-events: ';
    const missing = await failure('nobody');
    expect([missing.message, missing.retryable, missing.reason]).toEqual([`${prefix}failed to get service account 'apps/nobody': serviceaccounts "nobody" not found`, true, 'auth']);
    expect((await failure('flux-gcp')).message).toBe(`${prefix}failed to create provider access token for service account 'apps/flux-gcp': invalid gcp.auth.fluxcd.io/workload-identity-provider annotation: 'foobar'. must match ^projects\\/\\d{1,30}\\/locations\\/global\\/workloadIdentityPools\\/[^/]{1,100}\\/providers\\/[^/]{1,100}$`);
    expect((await failure('gke-only')).message).toMatch(/^error publishing .*: failed to create provider access token for service account 'apps\/gke-only': failed to get the GKE cluster from the metadata server \(needed without the gcp.auth.fluxcd.io\/workload-identity-provider annotation\): /);
    expect(api.issuedTokens).toHaveLength(0);
  });

  it('uses a credentials JSON in the Secret over the ServiceAccount, as Flux does', async () => {
    const { rt } = await cluster();
    expect(() => parse(rt, { address: 'p', channel: 't', serviceAccountName: 'flux-gcp' }, { token: '{"type":"external_account","audience":"a","credential_source":{"file":"/x"}}' })).not.toThrow();
    expect(parse(rt, { address: 'p', channel: 't', serviceAccountName: 'flux-gcp' }, { token: '{"type":"external_account","audience":"a","credential_source":{"file":"/x"}}' }).auth.kind).toBe('credentials');
  });
});
