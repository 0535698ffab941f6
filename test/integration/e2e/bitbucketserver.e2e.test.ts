// End to end: Flux fixture events POSTed to a real `herald serve` reach a Bitbucket Data Center fake as build statuses on the right commit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeBitbucket, type FakeBitbucket } from '../../helpers/fake-bitbucket-server.js';
import { fixtureJson } from '../../helpers/fixtures.js';
import { postEvent, startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import { sha1String } from '../../../src/providers/git/status-key.js';
import { until } from '../../helpers/wait.js';

const TOKEN = 'BBDC-NzI4MzQ1Njc4OTAxOkV4YW1wbGVUb2tlbg';
const COMMIT = '36e078398e08984c645aaad358c9b33e256195fd';
const HELM_COMMIT = 'c647dd208582d5ac98ea8088a87dcd073beaec41';
const UID = '400830b3-d8c5-4ead-ab31-c10e48866a7c';

type Event = { message: string; metadata: Record<string, string> };


function manifests(bb: FakeBitbucket): string {
  const ca = bb.pki.ca.trim().split('\n').map((l) => `    ${l}`).join('\n');
  return `
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: bbs-token, namespace: flux-system, uid: ${UID} }
spec:
  type: bitbucketserver
  address: ${bb.url}/scm/PLAT/webapp.git
  timeout: 5s
  secretRef: { name: bbs-token }
---
apiVersion: v1
kind: Secret
metadata: { name: bbs-token, namespace: flux-system }
stringData:
  token: ${TOKEN}
  ca.crt: |
${ca}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: bbs-commit-status, namespace: flux-system }
spec:
  providerRef: { name: bbs-token }
  eventSources:
    - { kind: Kustomization, name: apps }
    - { kind: HelmRelease, name: podinfo, namespace: apps }
`;
}

describe('herald serve with a bitbucketserver Provider', () => {
  let dir: string;
  let herald: HeraldProcess;
  let bb: FakeBitbucket;

  beforeAll(async () => {
    bb = await startFakeBitbucket({ authorization: `Bearer ${TOKEN}` });
    dir = mkdtempSync(path.join(tmpdir(), 'herald-bbs-e2e-'));
    writeFileSync(path.join(dir, 'bitbucket.yaml'), manifests(bb));
    herald = await startHerald({ configDir: dir });
  });

  afterAll(async () => {
    await herald?.stop();
    await bb?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const key = sha1String(`kustomization/apps/${UID.split('-')[0]}`);

  it('posts SUCCESSFUL for the succeeded reconciliation on the commit of its revision', async () => {
    const res = await postEvent(herald.eventsUrl, fixtureJson('events/kustomize-controller-reconciliation-succeeded.json'));
    expect(res.status).toBe(202);
    const reqs = await bb.server.waitFor(2, 8000);
    expect(reqs[0]!.method).toBe('GET');
    expect(reqs[0]!.url).toBe(`/rest/api/latest/projects/PLAT/repos/webapp/commits/${COMMIT}/builds?key=${key}`);
    expect(reqs[1]!.method).toBe('POST');
    expect(reqs[1]!.text).toBe(
      `{"description":"reconciliation succeeded","key":"${key}","name":"kustomization/apps [reconciliation succeeded]","state":"SUCCESSFUL","url":"${bb.url}/scm/PLAT/webapp.git"}\n`,
    );
    expect(bb.violations).toEqual([]);
  });

  it('posts FAILED for the failed health check on the same commit and key', async () => {
    await postEvent(herald.eventsUrl, fixtureJson('events/kustomize-controller-health-check-failed.json'));
    await bb.server.waitFor(4, 8000);
    expect(bb.posts).toHaveLength(2);
    expect(bb.posts[1]).toMatchObject({ commit: COMMIT, body: { key, state: 'FAILED', name: 'kustomization/apps [health check failed]', description: 'health check failed' } });
    expect(bb.statuses.get(`${COMMIT}/${key}`)!.state).toBe('FAILED');
  });

  it('sends nothing for Progressing: dropped by the gate, and skipped by the provider when it has a commit', async () => {
    const before = bb.server.requests.length;
    const progressing = fixtureJson<Event>('events/kustomize-controller-apply-progressing.json');
    expect((await postEvent(herald.eventsUrl, progressing)).status).toBe(202);
    const dropped = await herald.waitForLog('event dropped for commit status providers due to missing commit metadata key');
    expect(dropped).toContain('flux-system/bbs-commit-status');
    // With a commit annotation it passes the gate; the provider itself skips Progressing and reports success.
    const delivered = () => herald.logs.filter((l) => l.includes('"msg":"notification delivered"')).length;
    const d0 = delivered();
    const annotated = { ...progressing, message: `${progressing.message}\n(annotated)`, metadata: { ...progressing.metadata, 'event.toolkit.fluxcd.io/commit': COMMIT } };
    expect((await postEvent(herald.eventsUrl, annotated)).status).toBe(202);
    await until(() => delivered() === d0 + 1);
    expect(bb.server.requests.length).toBe(before);
  });

  it('a helm-controller failure whose revision is a chart version fails with the revision error', async () => {
    const before = bb.server.requests.length;
    expect((await postEvent(herald.eventsUrl, fixtureJson('events/helm-controller-install-failed.json'))).status).toBe(202);
    const line = await herald.waitForLog("could not parse revision: failed to extract commit hash from '6.7.1' revision");
    expect(line).toContain('failed to send notification');
    expect(bb.server.requests.length).toBe(before);
  });

  it('a helm-controller success with event.toolkit.fluxcd.io/commit reaches Bitbucket on that commit', async () => {
    const upgrade = fixtureJson<Event>('events/helm-controller-upgrade-succeeded.json');
    const withCommit = { ...upgrade, metadata: { ...upgrade.metadata, 'event.toolkit.fluxcd.io/commit': HELM_COMMIT } };
    expect((await postEvent(herald.eventsUrl, withCommit)).status).toBe(202);
    const helmKey = sha1String(`helmrelease/podinfo/${UID.split('-')[0]}`);
    await until(() => bb.posts.some((p) => p.commit === HELM_COMMIT));
    const post = bb.posts.find((p) => p.commit === HELM_COMMIT);
    expect(post?.body).toMatchObject({ key: helmKey, state: 'SUCCESSFUL', name: 'helmrelease/podinfo [upgrade succeeded]' });
  });

  it('never logs the token', () => {
    expect(herald.logs.join('\n')).not.toContain(TOKEN);
  });
});
