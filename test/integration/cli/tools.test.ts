// `herald check`, `herald explain` and `herald send` as a user runs them: the built CLI in a child process.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, startHerald } from '../../helpers/herald-process.js';
import { fixturesDir } from '../../helpers/fixtures.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { tempConfigDirs, webhookForKind } from '../../helpers/config-dir.js';

const configDir = tempConfigDirs('herald-cli-');

function herald(...args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}


describe('herald check', () => {
  it('reports each problem of the fixture manifests on one line and exits 1', () => {
    const r = herald('check', path.join(fixturesDir, 'manifests'));
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines).toContain('Alert flux-system/broken-inclusion: spec.inclusionList: failed to compile inclusion regex: [: error parsing regexp: missing closing ]: `[`');
    expect(lines.some((l) => l.startsWith("Provider flux-system/bbs-basic-split: secret flux-system/bbs-password-only has 'password' but no 'username'"))).toBe(true);
    expect(lines.at(-1)).toMatch(/^\d+ problem\(s\) in /);
  });

  it('names file, document and field of a broken object, a missing provider and a missing secret key', () => {
    const d = configDir({ 'a.yaml': `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: orphan, namespace: apps }
spec:
  providerRef: { name: missing }
  eventSources: [{ kind: HelmRelease, name: '*' }]
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: bad, namespace: apps }
spec: { type: generic, timeout: 1h }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: hmac, namespace: apps }
spec: { type: generic-hmac, address: 'https://example.com/x' }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: bbs, namespace: apps }
spec:
  type: bitbucketserver
  address: https://bitbucket.example.com/scm/platform/fleet-infra.git
  secretRef: { name: bbs-token }
  commitStatusExpr: "event.metadata.revision"
---
apiVersion: v1
kind: Secret
metadata: { name: bbs-token, namespace: apps }
stringData: { token: abc }
` });
    const r = herald('check', d);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Alert apps/orphan: spec.providerRef: Provider apps/missing not found');
    expect(r.out).toMatch(/a\.yaml#2 Provider apps\/bad: spec\.timeout: /);
    expect(r.out).toContain('Provider apps/hmac: HMAC key is empty');
    expect(r.out).toMatch(/Provider apps\/bbs: .*CEL expression output type mismatch: expected string, got dyn/);
  });

  it('passes the embedded default', () => {
    const r = herald('check', 'examples');
    expect(r.out).toMatch(/^ok: 2 Alerts, 2 Providers, 1 Secrets/);
    expect(r.code).toBe(0);
  });
});

describe('herald explain', () => {
  it('says which Alerts match and why the others do not', () => {
    const r = herald('explain', path.join(fixturesDir, 'manifests'), path.join(fixturesDir, 'events/kustomize-controller-reconciliation-succeeded.json'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('flux-system/all-flux-objects: MATCH (source Kustomization/*) -> generic provider webhook');
    expect(r.out).toContain('flux-system/bbs-commit-status: MATCH (source Kustomization/apps) -> bitbucketserver provider bbs-token (commit status id kustomization/apps/400830b3)');
    expect(r.out).toContain('flux-system/kustomize-health: no match: message matches no inclusionList pattern');
    expect(r.out).toContain('flux-system/nats-all: matches (source Kustomization/*) but not sent: commit status update events reach only git and generic providers');
    expect(r.out).toContain('apps/helm-releases: no match: eventSources[HelmRelease/*]: namespace flux-system is not apps');
  });
});

describe('herald send', () => {
  it('posts an event file and prints the answer; a duplicate exits 1 with 429', async () => {
    const hook = await startRecordingServer();
    const d = configDir({ 'p.yaml': webhookForKind('hook', `${hook.url}/x`, 'GitRepository') });
    const h = await startHerald({ configDir: d });
    try {
      const file = path.join(fixturesDir, 'events/source-controller-clone-failed.json');
      const first = spawnSync(process.execPath, [cliPath, 'send', '--events-url', `${h.eventsUrl}/`, file], { encoding: 'utf8' });
      expect(first.stdout.trim()).toBe('202 Accepted');
      expect(first.status).toBe(0);
      const [req] = await hook.waitFor(1);
      expect(JSON.parse(req!.text).reason).toBe('GitOperationFailed');
      const again = spawnSync(process.execPath, [cliPath, 'send', '--events-url', `${h.eventsUrl}/`, file], { encoding: 'utf8' });
      expect(again.stdout).toContain('429 Too Many Requests');
      expect(again.status).toBe(1);
    } finally {
      await h.stop();
      await hook.close();
    }
  });

  it('explains an unreachable server', () => {
    const r = herald('send', '--events-url', 'http://127.0.0.1:1/', path.join(fixturesDir, 'events/source-controller-clone-failed.json'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot reach http://127.0.0.1:1/');
  });
});
