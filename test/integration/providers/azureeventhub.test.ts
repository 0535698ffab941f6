// azureeventhub against a local AMQP 1.0 Event Hubs peer (rhea, the library @azure/event-hubs runs on) reached through
// development-emulator connection strings: the batch transfer and its event bytes, the CBS put-token and its SAS
// signature, one connection per Provider version, every construction error of the spec, masking of connection
// strings, failures and the attempt deadline; the static JWT and the workload-identity token (a local HTTPS Entra ID
// token endpoint, the federated token file as the webhook mounts it).
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProviderSpec } from '../../../src/api/provider.js';
import { AzureEventHubProvider, type AzureEventHubConfig } from '../../../src/providers/cloud/azureeventhub.js';
import { EVENTHUBS_SCOPE, jwtExpiry, serviceBusSuffix, staticJwtCredential } from '../../../src/providers/cloud/identity/azure.js';
import { maskError } from '../../../src/providers/masking.js';
import { ProviderRuntime } from '../../../src/providers/runtime.js';
import type { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { configErrorOf, providerWithSecret } from '../../helpers/provider-parse.js';
import { entraAuthority } from '../../helpers/entra.js';
import { startEventHubPeer, type EventHubPeerOptions } from '../../helpers/eventhub-peer.js';
import {
  CANONICAL_BODY, canonicalEvent, deliverOnce, deliveryFailure, notificationFor, sendContext, settingsFor, testRuntime,
} from '../../helpers/providers.js';

const runtime = testRuntime();
const track = closeAfterEach();
const KEY = 'bXktc2FzLWtleS0wMTIzNDU2Nzg5YWJjZGVmZ2hpams=';
const peer = async (opts?: EventHubPeerOptions) => track(await startEventHubPeer(opts));

const provider = (spec: Partial<ProviderSpec>, secret?: Record<string, string>) => providerWithSecret('azureeventhub', 'eventhub', spec, secret);

function parse(spec: Partial<ProviderSpec>, secret?: Record<string, string>, rt = runtime): AzureEventHubConfig {
  const { p, secrets } = provider(spec, secret);
  return AzureEventHubProvider.parse(settingsFor(p, secrets), { runtime: rt });
}

const configError = (spec: Partial<ProviderSpec>, secret?: Record<string, string>): ConfigError => configErrorOf(() => parse(spec, secret));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('azureeventhub: SAS connection string', () => {
  it('sends the event bytes as one message of an Event Hubs batch after a SAS put-token', async () => {
    const hub = await peer();
    const { p, secrets } = provider({}, { address: hub.connectionString('flux-events', 'flux-sender', KEY) });
    await deliverOnce(runtime, p, secrets, canonicalEvent('error'));
    await deliverOnce(runtime, p, secrets, canonicalEvent('info'));
    expect(hub.events).toHaveLength(2);
    for (const e of hub.events) {
      expect(e.address).toBe('flux-events');
      expect(e.format).toBe(0x80013700);
      expect(e.messages).toHaveLength(1);
      expect(e.messages[0]!.messageId).toMatch(UUID);
      expect(e.messages[0]!.contentType).toBeUndefined();
      expect(e.messages[0]!.applicationProperties).toBeUndefined();
    }
    expect(hub.events[0]!.messages[0]!.body.toString('utf8')).toBe(CANONICAL_BODY);
    expect(hub.events[1]!.messages[0]!.body.toString('utf8')).toBe(CANONICAL_BODY.replace('"severity":"error"', '"severity":"info"'));
    expect(hub.events[0]!.messages[0]!.messageId).not.toBe(hub.events[1]!.messages[0]!.messageId);

    // Claims-based security: a SAS token for the hub, signed with the key.
    const t = hub.tokens[0]!;
    expect(t.type).toBe('servicebus.windows.net:sastoken');
    const audience = `sb://localhost:${hub.port}/flux-events`;
    expect(t.name).toBe(audience);
    const fields = new URLSearchParams(t.token.replace(/^SharedAccessSignature /, ''));
    expect(fields.get('sr')).toBe(audience);
    expect(fields.get('skn')).toBe('flux-sender');
    const se = fields.get('se')!;
    expect(Number(se)).toBeGreaterThan(Date.now() / 1000);
    const sig = createHmac('sha256', KEY).update(`${encodeURIComponent(audience)}\n${se}`).digest('base64');
    expect(fields.get('sig')).toBe(sig);
    expect(t.token).toContain(`sig=${encodeURIComponent(sig)}`);
  });

  it('keeps one AMQP connection per Provider version and closes it with the version', async () => {
    const hub = await peer();
    const spec = { address: hub.connectionString('flux-events', 'flux-sender', KEY) };
    const config = parse(spec);
    const { p } = provider(spec);
    for (let i = 0; i < 3; i++) await AzureEventHubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext());
    await Promise.all([1, 2, 3].map(() => AzureEventHubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext())));
    expect(hub.events).toHaveLength(6);
    expect(hub.connections()).toBe(1);
    expect(hub.openConnections()).toBe(1);
    await AzureEventHubProvider.close!(config);
    for (let i = 0; i < 50 && hub.openConnections() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(hub.openConnections()).toBe(0);
    const next = parse(spec);
    await AzureEventHubProvider.send(notificationFor(canonicalEvent(), p), next, sendContext());
    await AzureEventHubProvider.close!(next);
    expect(hub.connections()).toBe(2);
  });

  it('reconnects on the next send when the service closed the connection', async () => {
    const hub = await peer();
    const spec = { address: hub.connectionString('flux-events', 'flux-sender', KEY) };
    const config = parse(spec);
    const { p } = provider(spec);
    await AzureEventHubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext());
    hub.dropConnections();
    for (let i = 0; i < 50 && hub.openConnections() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await AzureEventHubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext(8000));
    expect(hub.events).toHaveLength(2);
    expect(hub.connections()).toBe(2);
    await AzureEventHubProvider.close!(config);
  });

  it('takes a connection string from spec.address too, and keeps its key out of errors', async () => {
    const hub = await peer({ reject: () => ({ condition: 'amqp:not-allowed', description: `refused ${KEY} of Endpoint=sb://localhost;SharedAccessKey=${KEY}` }) });
    const address = hub.connectionString('flux-events', 'flux-sender', KEY);
    const { p, secrets } = provider({ address, timeout: '3s' });
    const settings = settingsFor(p, secrets);
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent()));
    expect(err.message).toMatch(/^failed to send msg: /);
    expect(err.message).not.toContain(KEY);
    expect(maskError(err.message, settings)).not.toContain(KEY);
    expect(JSON.stringify(parse({ address }))).not.toContain(KEY);
  });

  it('reports a refused put-token as an authentication failure when the batch is created', async () => {
    const hub = await peer({ cbs: () => ({ status: 401, description: 'InvalidSignature: The token has an invalid signature.' }) });
    const { p, secrets } = provider({ timeout: '3s' }, { address: hub.connectionString('flux-events', 'flux-sender', KEY) });
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent()));
    expect(err.message).toMatch(/^failed to create event data batch: InvalidSignature: The token has an invalid signature\.$/);
    expect([err.retryable, err.reason]).toEqual([false, 'auth']);
    expect(hub.events).toHaveLength(0);
  });

  it('fails an event larger than the hub link allows without sending it', async () => {
    const hub = await peer({ maxMessageSize: 400 });
    const { p, secrets } = provider({}, { address: hub.connectionString('flux-events', 'flux-sender', KEY) });
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent()));
    expect(err.message).toBe("failed to add event data to batch: the event of 552 bytes is larger than the event hub's maximum message size of 400 bytes");
    expect([err.retryable, err.reason]).toEqual([false, 'invalid']);
    expect(hub.events).toHaveLength(0);
  });

  it('ends a send that is never settled at the attempt deadline, as a timeout', async () => {
    const hub = await peer({ hang: true });
    const { p, secrets } = provider({}, { address: hub.connectionString('flux-events', 'flux-sender', KEY) });
    const started = Date.now();
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent(), { timeoutMs: 600 }));
    expect(Date.now() - started).toBeLessThan(2500);
    expect(err.message).toBe('failed to send msg: context deadline exceeded');
    expect([err.retryable, err.reason]).toEqual([true, 'timeout']);
  });
});

describe('azureeventhub: construction errors (spec Validation and upstream vectors)', () => {
  const sas = 'Endpoint=sb://example.com/;SharedAccessKeyName=keyName;SharedAccessKey=key;EntityPath=eventhub';
  it.each([
    ['#8 empty address', { address: '', channel: 'namespace' }, { token: 'test-token' }, 'invalid authentication options: endpoint URL cannot be empty'],
    ['#5 SAS and serviceAccountName', { address: sas, channel: 'namespace', serviceAccountName: 'test-service-account' }, undefined,
      'invalid authentication options: serviceAccountName and SAS authentication cannot be set at the same time'],
    ['#6 SAS and token', { address: sas, channel: 'namespace' }, { token: 'test-token' },
      'invalid authentication options: jwt token and SAS authentication cannot be set at the same time'],
    ['#7 token and serviceAccountName', { address: 'azure-nc-eventhub', channel: 'namespace', serviceAccountName: 'test-service-account' }, { token: 'test-token' },
      'invalid authentication options: serviceAccountName and jwt token authentication cannot be set at the same time'],
  ] as const)('%s', (_name, spec, secret, text) => {
    expect(configError(spec, secret).message).toBe(`provider apps/ops: ${text}`);
  });

  it('#3 a SAS string without EntityPath, and the other SAS parse errors, never quoting the string', () => {
    const cases: [string, string][] = [
      ['Endpoint=sb://example.com/;SharedAccessKeyName=keyName;SharedAccessKey=s3cr3t-key-value', 'connection string does not contain an EntityPath. eventHub cannot be an empty string'],
      ['SharedAccessKeyName=keyName;SharedAccessKey=s3cr3t-key-value;EntityPath=hub', 'connection string has no Endpoint'],
      ['Endpoint=example.com;SharedAccessKeyName=keyName;SharedAccessKey=s3cr3t-key-value;EntityPath=hub', 'connection string Endpoint must be sb://<namespace host>/'],
      ['Endpoint=sb://example.com/;SharedAccessKey=s3cr3t-key-value;EntityPath=hub', 'connection string needs both SharedAccessKeyName and SharedAccessKey'],
      ['Endpoint=sb://example.com/;SharedAccessKeyName=keyName;SharedAccessKey s3cr3t-key-value', 'connection string is malformed: every part must be Key=value'],
    ];
    for (const [address, why] of cases) {
      expect(configError({ address, channel: 'namespace' }).message).toBe(`provider apps/ops: address: failed to create a eventhub using SAS: ${why}`);
      // In the Secret, the error names the Secret and key.
      const inSecret = configError({ channel: 'namespace' }, { address });
      expect(inSecret.message).toBe(`provider apps/ops: secret apps/eventhub key 'address': failed to create a eventhub using SAS: ${why}`);
      expect(inSecret.message).not.toContain('s3cr3t');
    }
  });

  it('#1 #2 accept a static JWT and a SAS string; a JWT or identity without namespace is refused', () => {
    expect(parse({ address: sas, channel: 'namespace' })).toMatchObject({ auth: 'sas', host: 'example.com', hub: 'eventhub' });
    expect(parse({ address: 'azure-nc-eventhub', channel: 'namespace' }, { token: 'jwt-token' }))
      .toMatchObject({ auth: 'jwt', host: 'namespace.servicebus.windows.net', hub: 'azure-nc-eventhub' });
    expect(configError({ address: 'azure-nc-eventhub' }, { token: 'jwt-token' }).message)
      .toBe('provider apps/ops: Event Hubs namespace (channel) cannot be empty when the address is the event hub name');
  });

  it('refuses serviceAccountName for workload identity with the feature-gate error while the gate is off', () => {
    expect(configError({ address: 'flux-events', channel: 'fluxns', serviceAccountName: 'sa' }).message)
      .toBe('provider apps/ops: to use spec.serviceAccountName for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller');
  });
});

describe('azureeventhub: namespace host and cloud', () => {
  const saved = process.env['AZURE_AUTHORITY_HOST'];
  afterEach(() => {
    if (saved === undefined) delete process.env['AZURE_AUTHORITY_HOST'];
    else process.env['AZURE_AUTHORITY_HOST'] = saved;
  });

  it('appends the Service Bus suffix of the AZURE_AUTHORITY_HOST cloud, or takes a host with .servicebus. as it is', () => {
    delete process.env['AZURE_AUTHORITY_HOST'];
    expect(parse({ address: 'flux-events', channel: 'fluxns' })).toMatchObject({ auth: 'workload-identity', host: 'fluxns.servicebus.windows.net', hub: 'flux-events' });
    process.env['AZURE_AUTHORITY_HOST'] = 'https://login.chinacloudapi.cn/';
    expect(parse({ address: 'flux-events', channel: 'fluxns' }).host).toBe('fluxns.servicebus.chinacloudapi.cn');
    process.env['AZURE_AUTHORITY_HOST'] = 'https://login.microsoftonline.us/';
    expect(parse({ address: 'flux-events', channel: 'fluxns' }).host).toBe('fluxns.servicebus.usgovcloudapi.net');
    expect(parse({ address: 'flux-events', channel: 'fluxns.servicebus.windows.net' }).host).toBe('fluxns.servicebus.windows.net');
    expect(serviceBusSuffix('https://login.microsoftonline.com/')).toBe('.servicebus.windows.net');
  });
});

describe('azureeventhub: static JWT and workload identity', () => {
  it('uses the static JWT verbatim, with the expiry of its exp claim', async () => {
    const payload = Buffer.from(JSON.stringify({ aud: 'https://eventhubs.azure.net', exp: 2000000000 })).toString('base64url');
    const jwt = `eyJhbGciOiJub25lIn0.${payload}.c2ln`;
    expect(jwtExpiry(jwt)).toBe(2000000000 * 1000);
    expect(await staticJwtCredential(jwt).getToken(EVENTHUBS_SCOPE)).toEqual({ token: jwt, expiresOnTimestamp: 2000000000 * 1000 });
    const opaque = await staticJwtCredential('not-a-jwt').getToken(EVENTHUBS_SCOPE);
    expect(opaque!.token).toBe('not-a-jwt');
    expect(opaque!.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });

  const entra = entraAuthority(track);

  it('gets the Event Hubs token with the federated token file of the controller identity, once per identity', async () => {
    const srv = await entra(() => ({ status: 200, body: JSON.stringify({ token_type: 'Bearer', expires_in: 3600, access_token: 'entra-access-token-for-eventhubs' }) }));
    const rt = new ProviderRuntime();
    try {
      const a = parse({ address: 'flux-events', channel: 'fluxns' }, undefined, rt);
      const b = parse({ address: 'other-hub', channel: 'otherns' }, undefined, rt);
      const token = await (await a.credential!()).getToken(EVENTHUBS_SCOPE);
      expect(token!.token).toBe('entra-access-token-for-eventhubs');
      // Every Provider shares the controller's credential and its cached token.
      expect(await b.credential!()).toBe(await a.credential!());
      await (await b.credential!()).getToken(EVENTHUBS_SCOPE);
      const tokenRequests = srv.tokenRequests();
      expect(tokenRequests).toHaveLength(1);
      const form = tokenRequests[0]!.form;
      expect(form.get('grant_type')).toBe('client_credentials');
      expect(form.get('client_id')).toBe('00000000-0000-0000-0000-00000000c1d2');
      expect(form.get('scope')).toContain('https://eventhubs.azure.net//.default');
      expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      expect(form.get('client_assertion')).toMatch(/^eyJhbGciOiJSUzI1NiJ9\./);
      expect(tokenRequests[0]!.url).toMatch(/^\/tenant-0123\/oauth2\/v2\.0\/token/);
    } finally {
      await rt.close();
    }
  });

  it('reports a token the controller identity cannot get as Flux does, before any connection', async () => {
    await entra(() => ({ status: 400, body: JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS700016: Application not found in the directory.' }) }));
    const rt = new ProviderRuntime();
    try {
      const config = parse({ address: 'flux-events', channel: 'fluxns', timeout: '5s' }, undefined, rt);
      const { p } = provider({ address: 'flux-events', channel: 'fluxns' });
      const err = await deliveryFailure(AzureEventHubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext(8000)));
      expect(err.message).toMatch(/^failed to create a eventhub using managed identity: failed to get token: failed to create provider access token for the controller: .*AADSTS700016/s);
      expect([err.retryable, err.reason]).toEqual([true, 'auth']);
      expect(config.client.started).toBe(false);
      await AzureEventHubProvider.close!(config);
    } finally {
      await rt.close();
    }
  });
});
