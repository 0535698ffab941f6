// `herald serve` in Kubernetes mode end to end, against the protocol-level test API server (not a real kube-apiserver).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/fake-apiserver.js';
import { startHerald, postEvent, type HeraldProcess } from '../../helpers/herald-process.js';
import { startRecordingServer, type RecordingServer } from '../../helpers/recording-server.js';
import { fixtureJson } from '../../helpers/fixtures.js';

const NV = 'notification.toolkit.fluxcd.io/v1beta3';
const SECRET_KEY = 'sig-7c1d0e5a9b';

interface FluxEvent {
  involvedObject: { kind: string; namespace: string; name: string; apiVersion: string };
  message: string;
  severity: string;
  [key: string]: unknown;
}

let api: FakeApiServer;
let hook: RecordingServer;
let herald: HeraldProcess | undefined;

beforeEach(async () => {
  api = await startFakeApiServer();
  // The receiving end rejects the call and echoes the credential back, as some real services do.
  hook = await startRecordingServer({ respond: (req) => req.url.includes('/reject') ? { status: 400, body: `unknown key ${SECRET_KEY}` } : { status: 200 } });
});

afterEach(async () => {
  await herald?.stop();
  herald = undefined;
  await hook.close();
  await api.close();
});

function event(name: string, message: string): FluxEvent {
  const e = fixtureJson<FluxEvent>('events/kustomize-controller-health-check-failed.json');
  return { ...e, involvedObject: { ...e.involvedObject, namespace: 'apps', name }, message };
}

async function serve(): Promise<HeraldProcess> {
  herald = await startHerald({ args: ['--kubeconfig', api.kubeconfigPath], env: { RUNTIME_NAMESPACE: 'flux-system' } });
  return herald;
}

describe('herald serve without --config-dir', () => {
  it('routes with matchLabels read from the API and records one masked Event for a repeatedly failing provider', async () => {
    api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hook-address', namespace: 'apps' },
      data: { address: Buffer.from(`${hook.url}/reject?key=${SECRET_KEY}`).toString('base64') } });
    api.apply({ apiVersion: NV, kind: 'Provider', metadata: { name: 'rejecting', namespace: 'apps' },
      spec: { type: 'generic', secretRef: { name: 'hook-address' } } });
    api.apply({ apiVersion: NV, kind: 'Provider', metadata: { name: 'accepting', namespace: 'apps' },
      spec: { type: 'generic', address: `${hook.url}/accept` } });
    api.apply({ apiVersion: NV, kind: 'Alert', metadata: { name: 'failing', namespace: 'apps' },
      spec: { providerRef: { name: 'rejecting' }, eventSources: [{ kind: 'Kustomization', name: 'podinfo' }] } });
    api.apply({ apiVersion: NV, kind: 'Alert', metadata: { name: 'team-a', namespace: 'apps' },
      spec: { providerRef: { name: 'accepting' }, eventSources: [{ kind: 'Kustomization', name: '*', matchLabels: { team: 'a' } }] } });
    api.apply({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'team-a-app', namespace: 'apps', labels: { team: 'a' } }, spec: {} });
    api.apply({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'team-b-app', namespace: 'apps', labels: { team: 'b' } }, spec: {} });
    const h = await serve();

    // matchLabels: only the object whose labels (read from the API) match is delivered.
    expect((await postEvent(h.eventsUrl, event('team-b-app', 'not for team a'))).status).toBe(202);
    expect((await postEvent(h.eventsUrl, event('team-a-app', 'for team a'))).status).toBe(202);
    const [accepted] = await hook.waitFor(1);
    expect(accepted!.url).toBe('/accept');
    expect(JSON.parse(accepted!.text)).toMatchObject({ involvedObject: { name: 'team-a-app' }, message: 'for team a' });

    // A provider that rejects: three failures with the same error become one Event, not three.
    for (const m of ['first', 'second', 'third']) expect((await postEvent(h.eventsUrl, event('podinfo', m))).status).toBe(202);
    const deadline = Date.now() + 10_000;
    const failures = () => h.logs.filter((l) => l.includes('"msg":"failed to send notification"')).length;
    const failed = () => api.events().filter((e) => e['reason'] === 'NotificationDispatchFailed');
    while (failures() < 3 || failed().length === 0) {
      if (Date.now() > deadline) throw new Error(`failures logged: ${failures()}; events: ${JSON.stringify(api.events())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    // The repeats wait for the next patch (10 s by default), so only the creation is visible yet.
    expect(failed()).toHaveLength(1);
    expect(api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/events') &&
      (r.body as { involvedObject?: { name?: string } }).involvedObject?.name === 'failing')).toHaveLength(1);
    const ev = failed()[0]!;
    expect(ev).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'Alert', apiVersion: NV, namespace: 'apps', name: 'failing' },
      source: { component: 'notification-controller' },
      reportingComponent: 'notification-controller',
    });
    expect(String(ev['message'])).toMatch(/^failed to send notification for Kustomization\/apps\/podinfo: .*status code 400: unknown key \*\*\*\*\*$/);
    expect(JSON.stringify(api.events())).not.toContain(SECRET_KEY);
    expect(h.logs.join('\n')).not.toContain(`${hook.url}/reject?key=`);
    // The echoed key in the worker's own log line is masked too.
    expect(h.logs.join('\n')).not.toContain(SECRET_KEY);
  });

  it('follows Alert changes made after start without a restart', async () => {
    api.apply({ apiVersion: NV, kind: 'Provider', metadata: { name: 'accepting', namespace: 'apps' },
      spec: { type: 'generic', address: `${hook.url}/accept` } });
    const h = await serve();
    expect((await postEvent(h.eventsUrl, event('late', 'before the alert'))).status).toBe(202);
    api.apply({ apiVersion: NV, kind: 'Alert', metadata: { name: 'late', namespace: 'apps' },
      spec: { providerRef: { name: 'accepting' }, eventSources: [{ kind: 'Kustomization', name: '*' }] } });
    await new Promise((r) => setTimeout(r, 300));
    expect((await postEvent(h.eventsUrl, event('late', 'after the alert'))).status).toBe(202);
    const [req] = await hook.waitFor(1);
    expect(JSON.parse(req!.text)).toMatchObject({ message: 'after the alert' });
    expect(hook.requests).toHaveLength(1);
  });
});
