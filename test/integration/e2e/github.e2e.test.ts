// End to end: Flux fixture events POSTed to a real `herald serve` reach a GitHub fake as a commit status (GitHub App
// auth, one installation token), a pull-request comment created then edited, and repository dispatches.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.js';
import { fixtureJson } from '../../helpers/fixtures.js';
import { postEvent, startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import { until } from '../../helpers/wait.js';

const TOKEN = 'ghp_e2eExampleToken0123456789';
const COMMIT = '36e078398e08984c645aaad358c9b33e256195fd';
const UID = '400830b3-d8c5-4ead-ab31-c10e48866a7c';
const CONTEXT = `kustomization/apps/${UID.split('-')[0]}`;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

type Event = { message: string; metadata: Record<string, string> };

const indent = (text: string, n: number) => text.trim().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

function manifests(gh: FakeGitHub): string {
  const provider = (name: string, type: string, secret: string, extra = '') => `
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: ${name}, namespace: flux-system, uid: ${UID} }
spec:
  type: ${type}
  address: ${gh.url}/acme/webapp.git
  timeout: 5s
  secretRef: { name: ${secret} }${extra}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: ${name}, namespace: flux-system }
spec:
  providerRef: { name: ${name} }
  eventSources:
    - { kind: Kustomization, name: apps }
---`;
  return `${provider('github-status', 'github', 'github-app')}
${provider('github-pr', 'githubpullrequestcomment', 'github-token', '\n  certSecretRef: { name: github-ca }')}
${provider('github-dispatch', 'githubdispatch', 'github-token', '\n  certSecretRef: { name: github-ca }')}
apiVersion: v1
kind: Secret
metadata: { name: github-app, namespace: flux-system }
stringData:
  githubAppID: "123"
  githubAppInstallationOwner: acme
  githubAppBaseURL: ${gh.url}/api/v3
  githubAppPrivateKey: |
${indent(PEM, 4)}
  ca.crt: |
${indent(gh.pki.ca, 4)}
---
apiVersion: v1
kind: Secret
metadata: { name: github-token, namespace: flux-system }
stringData:
  token: ${TOKEN}
---
apiVersion: v1
kind: Secret
metadata: { name: github-ca, namespace: flux-system }
stringData:
  ca.crt: |
${indent(gh.pki.ca, 4)}
`;
}

describe('herald serve with github, githubpullrequestcomment and githubdispatch Providers', () => {
  let dir: string;
  let herald: HeraldProcess;
  let gh: FakeGitHub;

  beforeAll(async () => {
    gh = await startFakeGitHub({
      tokens: { [TOKEN]: 'flux-bot' },
      app: { id: 123, slug: 'flux-app', publicKey, installations: { 456: { owner: 'acme', kind: 'orgs' } }, tokenLifetimeMs: 3_600_000 },
    });
    dir = mkdtempSync(path.join(tmpdir(), 'herald-github-e2e-'));
    writeFileSync(path.join(dir, 'github.yaml'), manifests(gh));
    herald = await startHerald({ configDir: dir });
  });

  afterAll(async () => {
    await herald?.stop();
    await gh?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a succeeded reconciliation becomes a success status through the App; the comment and dispatch types skip it', async () => {
    expect((await postEvent(herald.eventsUrl, fixtureJson('events/kustomize-controller-reconciliation-succeeded.json'))).status).toBe(202);
    await until(() => (gh.statuses.get(COMMIT)?.length ?? 0) === 1, 8000);
    expect(gh.statuses.get(COMMIT)).toEqual([{ state: 'success', description: 'reconciliation succeeded', context: CONTEXT }]);
    expect(gh.server.requests.slice(0, 2).map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/v3/orgs/acme/installation', 'POST /api/v3/app/installations/456/access_tokens',
    ]);
    expect(gh.issued).toHaveLength(1);
    expect(gh.dispatches).toHaveLength(0);
    expect(gh.violations).toEqual([]);
  });

  it('a failed health check on pull request 7: failure status, a new comment, a dispatch', async () => {
    const failed = fixtureJson<Event>('events/kustomize-controller-health-check-failed.json');
    const onPr = { ...failed, metadata: { ...failed.metadata, 'event.toolkit.fluxcd.io/change_request': '7' } };
    expect((await postEvent(herald.eventsUrl, onPr)).status).toBe(202);
    await until(() => gh.dispatches.length === 1 && (gh.comments.get(7)?.length ?? 0) === 1 && gh.statuses.get(COMMIT)!.length === 2, 8000);
    expect(gh.statuses.get(COMMIT)![0]).toEqual({ state: 'failure', description: 'health check failed', context: CONTEXT });
    const comment = gh.comments.get(7)![0]!;
    expect(comment.user.login).toBe('flux-bot');
    expect(comment.body).toContain(`<!-- flux-pr-comment-key:${UID}/Kustomization/flux-system/apps -->`);
    expect(comment.body).toContain('⚠️ Kustomization/flux-system/apps');
    expect(gh.dispatches[0]!.body).toMatchObject({ event_type: 'Kustomization/apps.flux-system', client_payload: { severity: 'error', metadata: { change_request: '7' } } });
    // The cached installation token served the second status.
    expect(gh.issued).toHaveLength(1);

    // The same failure again (another message, so not deduplicated): no new status, the comment is edited.
    const again = { ...onPr, message: `${onPr.message} (again)` };
    expect((await postEvent(herald.eventsUrl, again)).status).toBe(202);
    await until(() => gh.dispatches.length === 2 && gh.comments.get(7)![0]!.body.includes('(again)'), 8000);
    await until(() => gh.server.requests.filter((r) => r.url.includes('/statuses')).length === 5, 8000);
    expect(gh.statuses.get(COMMIT)).toHaveLength(2);
    expect(gh.comments.get(7)).toHaveLength(1);
    expect(gh.server.requests.some((r) => r.method === 'PATCH' && r.url === `/api/v3/repos/acme/webapp/issues/comments/${comment.id}`)).toBe(true);
    expect(gh.violations).toEqual([]);
  });

  it('never logs the token, the private key or the installation token', () => {
    const logs = herald.logs.join('\n');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain(gh.issued[0]!.token);
    expect(logs).not.toContain(PEM.split('\n')[1]!);
  });
});
