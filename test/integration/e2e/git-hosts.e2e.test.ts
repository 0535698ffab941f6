// End to end: Flux fixture events POSTed to a real `herald serve` become commit statuses on GitLab, Gitea, Bitbucket
// Cloud and Azure DevOps fakes (HTTPS, a CA made in the test), and merge/pull-request comments on GitLab and Gitea for
// the object annotated with a change request; the comment is edited, not duplicated, when the next event arrives.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAzureDevOps, startFakeBitbucketCloud, startFakeGitea, startFakeGitLab, type FakeHost } from '../../helpers/fake-git-hosts.js';
import { fixtureJson } from '../../helpers/fixtures.js';
import { postEvent, startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import { until } from '../../helpers/wait.js';

const TOKENS = { gitlab: 'glpat-e2eT0ken0123456789', gitea: 'gitea-e2e-t0ken-0123456789', bitbucket: 'flux-bot:bb-app-passw0rd', azdo: 'azdo-e2e-pat-0123456789abcdef' };
const HEALTH_COMMIT = '36e078398e08984c645aaad358c9b33e256195fd';
const PREVIEW_COMMIT = 'c647dd208582d5ac98ea8088a87dcd073beaec41';

const indent = (text: string, n: number) => text.trim().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

function provider(name: string, type: string, address: string, secret: Record<string, string>, ca: string, caInSecret: boolean): string {
  const data = caInSecret ? { ...secret, 'ca.crt': ca } : secret;
  return `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: ${name}, namespace: flux-system, uid: 5a1c2e3d-0000-4000-8000-${name.padEnd(12, '0').slice(0, 12).replace(/[^0-9a-f]/g, '0')} }
spec:
  type: ${type}
  address: ${JSON.stringify(address)}
  timeout: 5s
  secretRef: { name: ${name}-auth }${caInSecret ? '' : `\n  certSecretRef: { name: ${name}-ca }`}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: ${name}, namespace: flux-system }
spec:
  providerRef: { name: ${name} }
  eventSources:
    - { kind: Kustomization, name: '*' }
    - { kind: Kustomization, name: '*', namespace: preview }
---
apiVersion: v1
kind: Secret
metadata: { name: ${name}-auth, namespace: flux-system }
stringData:
${Object.entries(data).map(([k, v]) => (k === 'ca.crt' ? `  ca.crt: |\n${indent(v, 4)}` : `  ${k}: ${JSON.stringify(v)}`)).join('\n')}
---
${caInSecret ? '' : `apiVersion: v1
kind: Secret
metadata: { name: ${name}-ca, namespace: flux-system }
stringData:
  ca.crt: |
${indent(ca, 4)}
---
`}`;
}

describe('herald serve with gitlab, gitea, bitbucket and azuredevops status and comment Providers', () => {
  let gitlab: FakeHost;
  let gitea: FakeHost;
  let bitbucket: FakeHost;
  let azdo: FakeHost;
  let herald: HeraldProcess;
  let dir: string;

  beforeAll(async () => {
    gitlab = await startFakeGitLab({ token: TOKENS.gitlab, username: 'flux-bot', project: 'acme%2Fplatform%2Fwebapp' });
    gitea = await startFakeGitea({ token: TOKENS.gitea, login: 'flux-bot', owner: 'acme', repo: 'webapp' });
    bitbucket = await startFakeBitbucketCloud({ user: 'flux-bot', password: 'bb-app-passw0rd', workspace: 'acme', repo: 'webapp' });
    azdo = await startFakeAzureDevOps({ pat: TOKENS.azdo, org: 'acme', project: 'platform', repo: 'webapp' });
    const ca = gitlab.pki.ca;
    dir = mkdtempSync(path.join(tmpdir(), 'herald-e2e-git-'));
    writeFileSync(path.join(dir, 'git.yaml'), [
      provider('gitlab-status', 'gitlab', `${gitlab.url}/acme/platform/webapp`, { token: TOKENS.gitlab }, ca, true),
      provider('gitlab-mr', 'gitlabmergerequestcomment', `${gitlab.url}/acme/platform/webapp`, { token: TOKENS.gitlab }, ca, false),
      provider('gitea-status', 'gitea', `${gitea.url}/acme/webapp.git`, { token: TOKENS.gitea }, ca, true),
      provider('gitea-pr', 'giteapullrequestcomment', `${gitea.url}/acme/webapp.git`, { token: TOKENS.gitea }, ca, false),
      provider('bitbucket', 'bitbucket', 'git@bitbucket.org:acme/webapp.git', { token: TOKENS.bitbucket }, ca, true),
      provider('azdo', 'azuredevops', `${azdo.url}/acme/platform/_git/webapp`, { token: TOKENS.azdo }, ca, true),
    ].join(''));
    herald = await startHerald({ configDir: dir, env: { BITBUCKET_API_BASE_URL: `${bitbucket.url}/2.0` } });
  }, 60_000);

  afterAll(async () => {
    await herald?.stop();
    await Promise.all([gitlab, gitea, bitbucket, azdo].filter(Boolean).map((h) => h.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('turns a failed health check into a failed status on its commit on every host', async () => {
    expect((await postEvent(herald.eventsUrl, fixtureJson('events/kustomize-controller-health-check-failed.json'))).status).toBe(202);
    const hosts = { gitlab, gitea, bitbucket, azdo };
    const onCommit = (h: FakeHost) => h.statuses.filter((s) => JSON.stringify(s).includes(HEALTH_COMMIT));
    await until(() => Object.values(hosts).every((h) => onCommit(h).length > 0), 15_000, 'a status on every host');
    expect(JSON.stringify(onCommit(gitlab))).toContain('"status":"failed"');
    expect(JSON.stringify(onCommit(gitea))).toContain('"failure"');
    expect(JSON.stringify(onCommit(bitbucket))).toContain('"FAILED"');
    expect(JSON.stringify(onCommit(azdo))).toContain('"state":"error"');
    // No change request on this object: the comment types send nothing.
    expect([...gitlab.comments.values(), ...gitea.comments.values()].flat()).toEqual([]);
  });

  it('comments once per change request and edits the comment on the next event', async () => {
    const preview = fixtureJson<{ message: string; metadata: Record<string, string> }>('events/kustomize-controller-annotation-metadata.json');
    // A commit_status=update event never reaches the comment types (gate A, as in Flux): send the plain info event.
    delete preview.metadata['kustomize.toolkit.fluxcd.io/commit_status'];
    expect((await postEvent(herald.eventsUrl, preview)).status).toBe(202);
    const comments = () => [...(gitlab.comments.get(42) ?? []), ...(gitea.comments.get(42) ?? [])];
    await until(() => comments().length === 2, 15_000, 'one comment on the merge request and one on the pull request').catch((e: Error) => {
      throw new Error(`${e.message}\n${herald.logs.filter((l) => /preview|comment|error/i.test(l)).slice(-15).join('\n')}`);
    });
    // The event's `commit` metadata lets the info event through to the commit-status types too.
    await until(() => [gitlab, gitea, bitbucket, azdo].every((h) => h.statuses.some((s) => JSON.stringify(s).includes(PREVIEW_COMMIT))), 15_000, 'statuses for the preview commit');

    preview.message = 'Reconciliation finished in 3.5s, next run in 5m0s';
    expect((await postEvent(herald.eventsUrl, preview)).status).toBe(202);
    await until(() => comments().every((c) => c.body.includes('3.5s')), 15_000, 'both comments edited');
    expect(comments()).toHaveLength(2);
    for (const c of comments()) expect(c.body).toContain('Kustomization/preview/apps-pr-42');
  });

  it('saw no request that breaks a host API, logged no failure and no credential', () => {
    for (const h of [gitlab, gitea, bitbucket, azdo]) expect(h.violations).toEqual([]);
    expect(herald.records().filter((r) => r['level'] === 'error')).toEqual([]);
    const log = herald.logs.join('\n');
    for (const t of Object.values(TOKENS)) expect(log).not.toContain(t);
    expect(log).not.toContain('bb-app-passw0rd');
  });
});
