// bitbucketserver against a local HTTPS fake of Bitbucket Data Center's build-status API (CA made in the test), alone and through the delivery worker.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Alert } from '../../../src/api/alert.js';
import type { FluxEvent } from '../../../src/api/event.js';
import type { Provider } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { ProviderCache } from '../../../src/delivery/provider-cache.js';
import { FluxRetryPolicy } from '../../../src/delivery/retry.js';
import { createDeliveryHandler } from '../../../src/delivery/worker.js';
import { BitbucketServerProvider } from '../../../src/providers/git/bitbucketserver.js';
import { resolveProviderSettings } from '../../../src/providers/settings/resolve.js';
import { providerObject, secretObject, testRuntime } from '../../helpers/providers.js';
import { DeliveryError, type Notification } from '../../../src/providers/types.js';
import type { AlertEventRecorder, AlertRef, EventReason } from '../../../src/resources/recorder.js';
import { ResourceStore } from '../../../src/resources/store.js';
import { startFakeBitbucket, type FakeBitbucket } from '../../helpers/fake-bitbucket-server.js';

const H = '9f1c2e3d4b5a69788796a5b4c3d2e1f001234567';
const KEY = '4abc3ba6f171924ecece234c03192982da12888b'; // sha1("kustomization/webapp/0c9c2e41")
const TOKEN = 'BBDC-exampletoken';
const log = pino({ level: 'silent' });
const runtime = testRuntime();

let fakes: FakeBitbucket[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
});

async function fake(opts: Parameters<typeof startFakeBitbucket>[0]): Promise<FakeBitbucket> {
  const f = await startFakeBitbucket(opts);
  fakes.push(f);
  return f;
}

const providerObj = (address: string, extra: Record<string, unknown> = {}): Provider =>
  providerObject('bitbucketserver', { address, secretRef: { name: 'bbs-auth' }, ...extra }, { uid: '0c9c2e41-d2f9-4f9f-9c8a-5d2b0f0e7c11' });
const secretObj = (name: string, data: Record<string, string>): Secret => secretObject(name, data);

function notification(variant: 'E' | 'I'): Notification {
  const event: FluxEvent = {
    involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'webapp', uid: '4f3c2a1b-8d7e-4c6b-9a5f-0e1d2c3b4a59', apiVersion: 'kustomize.toolkit.fluxcd.io/v1', resourceVersion: '184467' },
    severity: variant === 'E' ? 'error' : 'info',
    timestamp: '2025-06-01T10:15:30Z',
    message: variant === 'E' ? 'Health check failed after 2m' : 'Reconciliation finished in 4s, next run in 10m0s',
    reason: variant === 'E' ? 'HealthCheckFailed' : 'ReconciliationSucceeded',
    metadata: variant === 'E' ? { revision: `main@sha1:${H}` } : { commit_status: 'update', revision: `main@sha1:${H}` },
    reportingController: 'kustomize-controller',
    reportingInstance: 'kustomize-controller-6f8c9d7b5-q2w4x',
  };
  return {
    event,
    alert: { namespace: 'apps', name: 'webapp-status', uid: 'alert-uid' },
    provider: { namespace: 'apps', name: 'ops', uid: '0c9c2e41-d2f9-4f9f-9c8a-5d2b0f0e7c11', type: 'bitbucketserver' },
    commitStatusId: 'kustomization/webapp/0c9c2e41',
  };
}

async function send(provider: Provider, secrets: Secret[], n: Notification): Promise<void> {
  const settings = resolveProviderSettings(provider, (ns, name) => secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === name));
  const config = BitbucketServerProvider.parse(settings, { runtime });
  await BitbucketServerProvider.send(n, config, { signal: AbortSignal.timeout(5000), attempt: 1, log });
}

describe('bitbucketserver against a Bitbucket Data Center fake over HTTPS', () => {
  it('first status: GET finds none (404), POST sends the exact spec request with a Bearer token', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    const address = `${bb.url}/scm/PLAT/webapp.git`;
    await send(providerObj(address), [secretObj('bbs-auth', { token: TOKEN, 'ca.crt': bb.pki.ca })], notification('E'));

    expect(bb.violations).toEqual([]);
    const [get, post] = bb.server.requests;
    expect(bb.server.requests).toHaveLength(2);
    expect(get!.method).toBe('GET');
    expect(get!.url).toBe(`/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds?key=${KEY}`);
    expect(get!.headers['content-type']).toBeUndefined();
    expect(get!.body).toHaveLength(0);
    expect(post!.method).toBe('POST');
    expect(post!.url).toBe(`/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`);
    // header names as Go sends them over HTTP/1.1
    const names = post!.rawHeaders.map(([k]) => k);
    expect(names).toEqual(expect.arrayContaining(['Authorization', 'X-Atlassian-Token', 'X-Requested-With', 'Content-Type']));
    expect(post!.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'x-atlassian-token': 'no-check', 'x-requested-with': 'XMLHttpRequest', 'content-type': 'application/json' });
    expect(post!.headers['accept']).toBeUndefined();
    expect(post!.text).toBe(
      `{"description":"health check failed","key":"${KEY}","name":"kustomization/webapp [health check failed]","state":"FAILED","url":"${address}"}\n`,
    );
    expect(bb.statuses.get(`${H}/${KEY}`)).toMatchObject({ state: 'FAILED', name: 'kustomization/webapp [health check failed]' });
  });

  it('identical status: GET answers 200 with it and nothing is posted; a changed state is posted', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    const provider = providerObj(`${bb.url}/scm/PLAT/webapp.git`);
    const secrets = [secretObj('bbs-auth', { token: TOKEN, 'ca.crt': bb.pki.ca })];
    await send(provider, secrets, notification('E'));
    await send(provider, secrets, notification('E'));
    expect(bb.server.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET']);
    expect(bb.posts).toHaveLength(1);

    await send(provider, secrets, notification('I'));
    expect(bb.server.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET', 'GET', 'POST']);
    expect(bb.posts[1]!.body).toMatchObject({ key: KEY, state: 'SUCCESSFUL', name: 'kustomization/webapp [reconciliation succeeded]', description: 'reconciliation succeeded' });
    expect(bb.statuses.get(`${H}/${KEY}`)!.state).toBe('SUCCESSFUL');
    expect(bb.violations).toEqual([]);
  });

  it('basic auth and a context path: both calls go under /bitbucket/rest/...', async () => {
    const bb = await fake({ authorization: 'Basic Zmx1eDpzM2NyM3Q=', contextPath: '/bitbucket' });
    const provider = providerObj(`${bb.url}/bitbucket/scm/PLAT/webapp.git`, { certSecretRef: { name: 'bbs-ca' } });
    await send(provider, [secretObj('bbs-auth', { username: 'flux', password: 's3cr3t' }), secretObj('bbs-ca', { 'ca.crt': bb.pki.ca })], notification('I'));
    expect(bb.violations).toEqual([]);
    expect(bb.server.requests.map((r) => r.url.split('?')[0])).toEqual([
      `/bitbucket/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`,
      `/bitbucket/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`,
    ]);
    expect(bb.server.requests.every((r) => r.headers['authorization'] === 'Basic Zmx1eDpzM2NyM3Q=')).toBe(true);
    expect(bb.posts[0]!.body['state']).toBe('SUCCESSFUL');
  });

  it('a bad token: 401 is a final error naming the Provider and Secret, without the token', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    const err = await send(providerObj(`${bb.url}/scm/PLAT/webapp.git`), [secretObj('bbs-auth', { token: 'BBDC-wrong', 'ca.crt': bb.pki.ca })], notification('E'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).retryable).toBe(false);
    expect((err as Error).message).toBe(
      'could not get existing commit status: failed api call to check duplicate commit status: 401 - Unauthorized (provider apps/ops: Bitbucket rejected the credentials from secret apps/bbs-auth)',
    );
    expect(bb.posts).toHaveLength(0);
  });

  it('a 400 on the POST is final and carries Flux text', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    bb.failNext.push({ status: 404 }, { status: 400 });
    const err = await send(providerObj(`${bb.url}/scm/PLAT/webapp.git`), [secretObj('bbs-auth', { token: TOKEN, 'ca.crt': bb.pki.ca })], notification('E'))
      .catch((e: unknown) => e as DeliveryError);
    expect(err).toMatchObject({ retryable: false, message: 'could not post build status: could not post build commit status: 400 - Bad Request' });
  });

  it('a 200 GET with an empty body is reported with Go\'s JSON error; an error document is not a duplicate', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    const provider = providerObj(`${bb.url}/scm/PLAT/webapp.git`);
    const secrets = [secretObj('bbs-auth', { token: TOKEN, 'ca.crt': bb.pki.ca })];
    bb.failNext.push({ status: 200, body: '' });
    await expect(send(provider, secrets, notification('E'))).rejects.toThrow(
      'could not get existing commit status: could not unmarshal json response body for duplicate commit status: unexpected end of JSON input',
    );
    bb.failNext.push({ status: 200 });
    await send(provider, secrets, notification('E'));
    expect(bb.posts).toHaveLength(1);
  });

  it('a server certificate from an untrusted CA is a final TLS error; the system roots are not consulted', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    const err = (await send(providerObj(`${bb.url}/scm/PLAT/webapp.git`), [secretObj('bbs-auth', { token: TOKEN, 'ca.crt': bb.pki.otherCa })], notification('E'))
      .catch((e: unknown) => e)) as DeliveryError;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^could not get existing commit status: failed api call to check duplicate commit status: Get ".*": tls: failed to verify certificate/);
    expect(bb.server.requests).toHaveLength(0);
  });

  it('a long object name is shortened to Bitbucket\'s 255 characters and accepted', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    const n = notification('I');
    n.event.involvedObject.name = 'x'.repeat(253);
    await send(providerObj(`${bb.url}/scm/PLAT/webapp.git`), [secretObj('bbs-auth', { token: TOKEN, 'ca.crt': bb.pki.ca })], n);
    expect(bb.violations).toEqual([]);
    expect((bb.posts[0]!.body['name'] as string).length).toBe(255);
    expect(bb.posts[0]!.body['name']).toMatch(/… \[reconciliation succeeded\]$/);
  });
});

/** A minimal HTTP CONNECT proxy that records the tunnels it opens. */
async function startConnectProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

describe('bitbucketserver through a proxy', () => {
  it('uses the Provider proxy (proxySecretRef) for both calls, TLS verified end to end against the Secret CA', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    const proxy = await startConnectProxy();
    try {
      const provider = providerObj(`${bb.url}/scm/PLAT/webapp.git`, { proxySecretRef: { name: 'bbs-proxy' } });
      await send(provider, [secretObj('bbs-auth', { token: TOKEN, 'ca.crt': bb.pki.ca }), secretObj('bbs-proxy', { address: proxy.url })], notification('E'));
      expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1);
      expect(new Set(proxy.tunnels)).toEqual(new Set([`127.0.0.1:${bb.server.port}`]));
      expect(bb.server.requests.map((r) => r.method)).toEqual(['GET', 'POST']);
      expect(bb.violations).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describe('bitbucketserver through the delivery worker', () => {
  class CapturingRecorder implements AlertEventRecorder {
    events: { alert: AlertRef; reason: EventReason; message: string }[] = [];
    warning(alert: AlertRef, reason: EventReason, message: string): void {
      this.events.push({ alert, reason, message });
    }
  }

  async function worker(bb: FakeBitbucket, token: string) {
    const store = new ResourceStore();
    const provider = providerObj(`${bb.url}/scm/PLAT/webapp.git`);
    store.upsert(provider);
    store.upsert(secretObj('bbs-auth', { token, 'ca.crt': bb.pki.ca }));
    store.upsert({
      apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
      kind: 'Alert',
      metadata: { name: 'webapp-status', namespace: 'apps', uid: 'alert-uid' },
      spec: { providerRef: { name: 'ops' }, eventSeverity: 'info', eventSources: [{ kind: 'Kustomization', name: 'webapp' }] },
    } as Alert);
    const recorder = new CapturingRecorder();
    const providers = new ProviderCache(store, log, runtime);
    const handler = createDeliveryHandler({ store, providers, recorder, policy: new FluxRetryPolicy(20), log });
    return { handler, recorder, providers };
  }

  it('5xx is retried: 503 with Retry-After then 500 then success', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    bb.failNext.push({ status: 503, headers: { 'retry-after': '0' } }, { status: 500 });
    const { handler, recorder, providers } = await worker(bb, TOKEN);
    const delivery = { id: 'd1', notification: notification('E'), acceptedAt: Date.now() };
    const signal = new AbortController().signal;

    const first = await handler(delivery, signal);
    expect(first).toMatchObject({ result: 'retry', delayMs: 0 });
    expect(first.result === 'retry' && first.error).toBe('could not get existing commit status: failed api call to check duplicate commit status: 503 - Service Unavailable');
    const second = await handler(delivery, signal);
    expect(second).toMatchObject({ result: 'retry', delayMs: 40 });
    expect(await handler(delivery, signal)).toEqual({ result: 'delivered' });
    expect(bb.posts).toHaveLength(1);
    expect(recorder.events).toEqual([]);
    await providers.closeAll();
  });

  it('a bad token fails at once with a Warning event on the Alert that never shows the token', async () => {
    const bb = await fake({ authorization: `Bearer ${TOKEN}` });
    const { handler, recorder, providers } = await worker(bb, 'BBDC-wrong-token');
    const outcome = await handler({ id: 'd2', notification: notification('E'), acceptedAt: Date.now() }, new AbortController().signal);
    expect(outcome.result).toBe('failed');
    expect(bb.server.requests).toHaveLength(1);
    expect(recorder.events).toHaveLength(1);
    expect(recorder.events[0]!.reason).toBe('NotificationDispatchFailed');
    expect(recorder.events[0]!.message).toBe(
      'failed to send notification for Kustomization/apps/webapp: could not get existing commit status: failed api call to check duplicate commit status: 401 - Unauthorized (provider apps/ops: Bitbucket rejected the credentials from secret apps/bbs-auth)',
    );
    expect(JSON.stringify(recorder.events)).not.toContain('BBDC-wrong-token');
    await providers.closeAll();
  });
});
