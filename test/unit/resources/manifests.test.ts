// parseManifests: one YAML text -> validated Alerts, Providers, Secrets, other objects, and problems naming file, document and field.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturesDir } from '../../helpers/fixtures.js';
import type { Alert } from '../../../src/api/alert.js';
import { stableUid } from '../../../src/api/meta.js';
import type { Provider } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { formatProblem, parseManifestFile, parseManifests } from '../../../src/resources/manifests.js';

const FIXTURES = join(fixturesDir, 'manifests');

const alertDoc = (name: string, extra = '') => `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: ${name}
  namespace: apps
spec:
  providerRef:
    name: slack
  eventSources:
    - kind: HelmRelease
      name: '*'
${extra}`;

describe('parseManifests on the shared fixtures', () => {
  it('parses every fixture file without problems and keeps document order', () => {
    const kinds: Record<string, number> = {};
    for (const f of readdirSync(FIXTURES)) {
      const { objects, problems } = parseManifests(readFileSync(join(FIXTURES, f), 'utf8'), f);
      expect(problems, f).toEqual([]);
      for (const o of objects) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
    }
    expect(kinds).toEqual({ Alert: 12, Provider: 11, Secret: 8, HelmRelease: 1 });
  });

  it('keeps the labels of the HelmRelease stand-in and drops its spec', () => {
    const { objects } = parseManifests(readFileSync(join(FIXTURES, 'alert-matchlabels.yaml'), 'utf8'), 'alert-matchlabels.yaml');
    const hr = objects.find((o) => o.kind === 'HelmRelease')!;
    expect(hr.apiVersion).toBe('helm.toolkit.fluxcd.io/v2');
    expect(hr.metadata).toMatchObject({ name: 'podinfo', namespace: 'apps', labels: { team: 'app-dev', tier: 'frontend' } });
    expect('spec' in hr).toBe(false);
  });

  it('applies CRD defaults and keeps explicit uids', () => {
    const { objects } = parseManifests(readFileSync(join(FIXTURES, 'provider-github-commit-status.yaml'), 'utf8'), 'x.yaml');
    const provider = objects.find((o) => o.kind === 'Provider') as Provider;
    expect(provider.metadata.uid).toBe('c8f15ebe-1ffa-45c2-bb75-750942bbe006');
    const alert = objects.find((o) => o.kind === 'Alert') as Alert;
    expect(alert.spec.eventSeverity).toBe('info');
  });
});

describe('parseManifests: defaults', () => {
  it('defaults a missing namespace to "default" and derives a stable uid from kind/namespace/name', () => {
    const text = `apiVersion: v1
kind: Secret
metadata:
  name: token
stringData:
  token: abc
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: token
spec:
  type: generic
`;
    const a = parseManifests(text, 'a.yaml').objects;
    const b = parseManifests(text, 'b.yaml').objects;
    expect(a.map((o) => o.metadata.namespace)).toEqual(['default', 'default']);
    expect(a[0]!.metadata.uid).toBe(stableUid('Secret', 'default', 'token'));
    expect(a[1]!.metadata.uid).toBe(stableUid('Provider', 'default', 'token'));
    // Same kind/namespace/name: same uid on every load, different across kinds.
    expect(b.map((o) => o.metadata.uid)).toEqual(a.map((o) => o.metadata.uid));
    expect(a[0]!.metadata.uid).not.toBe(a[1]!.metadata.uid);
  });
});

describe('parseManifests: problems', () => {
  it('reports a broken document with file, document index, object and field, and keeps the good ones', () => {
    const text = `# comment before the first separator
---
${alertDoc('good-1')}---
${alertDoc('bad').replace('kind: HelmRelease', "kind: ''")}---
${alertDoc('good-2')}`;
    const { objects, problems } = parseManifests(text, 'examples/alerts.yaml');
    expect(objects.map((o) => o.metadata.name)).toEqual(['good-1', 'good-2']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'examples/alerts.yaml', document: 2, kind: 'Alert', namespace: 'apps', name: 'bad', field: 'spec.eventSources.0.kind' });
    expect(formatProblem(problems[0]!)).toBe(
      'examples/alerts.yaml#2 Alert apps/bad: spec.eventSources.0.kind: kind must not be empty',
    );
  });

  it('counts empty documents so the index matches the separators in the file', () => {
    const text = `---\n---\n# nothing\n---\n${alertDoc('x').replace("name: '*'", "name: ''")}`;
    const { problems } = parseManifests(text, 'f.yaml');
    expect(problems.map((p) => [p.document, p.field])).toEqual([[3, 'spec.eventSources.0.name']]);
  });

  it('reports each missing required field of the CRDs', () => {
    const text = `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: a
spec:
  eventSources: []
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: p
spec: {}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  namespace: apps
spec:
  type: generic
`;
    const { objects, problems } = parseManifests(text, 'f.yaml');
    expect(objects).toEqual([]);
    expect(problems.map((p) => [p.document, p.field])).toEqual([
      [1, 'spec.providerRef'],
      [2, 'spec.type'],
      [3, 'metadata.name'],
    ]);
  });

  it.each([
    { line: 'timeout: 1h', field: 'spec.timeout', message: 'timeout must be a duration in ms, s or m, such as 15s' },
    { line: 'interval: soon', field: 'spec.interval', message: 'interval must be a duration such as 5m' },
    { line: 'proxy: socks5://proxy:1080', field: 'spec.proxy', message: 'proxy must start with http:// or https://' },
    { line: 'commitStatusExpr: "event.reason"', field: 'spec.commitStatusExpr', message: "spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types" },
    { line: `address: ${'x'.repeat(2049)}`, field: 'spec.address', message: 'Too big: expected string to have <=2048 characters' },
  ])('validates the Provider CRD rule on $field', ({ line, field, message }) => {
    const text = `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: p, namespace: apps}
spec:
  type: slack
  ${line}
`;
    const { objects, problems } = parseManifests(text, 'p.yaml');
    expect(objects).toEqual([]);
    expect(problems).toEqual([expect.objectContaining({ document: 1, kind: 'Provider', name: 'p', field, message })]);
  });

  it('rejects an Alert summary longer than the CRD allows', () => {
    const { problems } = parseManifests(alertDoc('s', `  summary: ${'s'.repeat(256)}\n`), 'a.yaml');
    expect(problems.map((p) => p.field)).toEqual(['spec.summary']);
  });

  it('reports bad base64 in Secret data without echoing the value', () => {
    const text = `apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: flux-system
data:
  token: "s3cr3t-not-base64!"
  ok: aGVsbG8=
`;
    const { objects, problems } = parseManifests(text, 'secrets.yaml');
    expect(objects).toEqual([]);
    expect(problems).toEqual([expect.objectContaining({ file: 'secrets.yaml', document: 1, kind: 'Secret', namespace: 'flux-system', name: 'creds', field: 'data.token', message: 'must be base64' })]);
    expect(formatProblem(problems[0]!)).not.toContain('s3cr3t');
  });

  it('decodes Secret data and lets stringData win over data, as the API server does', () => {
    const text = `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: apps}
data:
  username: dXNlcg==
  password: b2xk
stringData:
  password: new
`;
    const [secret] = parseManifests(text, 's.yaml').objects as Secret[];
    expect(secret!.data.username!.toString()).toBe('user');
    expect(secret!.data.password!.toString()).toBe('new');
  });

  it('reports a YAML syntax error with its line, keeps earlier documents and never echoes the source', () => {
    const text = `${alertDoc('ok')}---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData:
  token: [hunter2-secret
`;
    const parsed = parseManifestFile(text, 'half.yaml');
    expect(parsed.entries.map((e) => e.object.metadata.name)).toEqual(['ok']);
    // The unclosed flow sequence is detected where the text ends.
    expect(parsed.syntaxError?.line).toBe(18);
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]).toMatchObject({ file: 'half.yaml', document: 2, line: 18 });
    expect(formatProblem(parsed.problems[0]!)).toMatch(/^half\.yaml#2: YAML syntax error at line 18, column \d+: /);
    expect(formatProblem(parsed.problems[0]!)).not.toContain('hunter2');
  });

  it('reports duplicate keys as errors', () => {
    const { problems } = parseManifests(`${alertDoc('d')}  suspend: true\n  suspend: false\n`, 'd.yaml');
    expect(problems).toEqual([expect.objectContaining({ document: 1, message: expect.stringContaining('Map keys must be unique') })]);
  });

  it('reports documents that are not objects, and objects without apiVersion or kind', () => {
    const text = `- just\n- a list\n---\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n`;
    const { problems } = parseManifests(text, 'x.yml');
    expect(problems.map((p) => [p.document, p.field, p.message])).toEqual([
      [1, undefined, 'document is not a mapping (a Kubernetes object)'],
      [2, 'apiVersion', 'apiVersion is required'],
      [3, 'kind', 'kind is required'],
      [4, 'metadata.name', expect.any(String)],
    ]);
  });
});

describe('parseManifests: API versions and kinds', () => {
  it('accepts a v1beta2 Alert and Provider that are valid v1beta3 and stores them as v1beta3', () => {
    const text = `${alertDoc('old').replace('v1beta3', 'v1beta2')}---
apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Provider
metadata: {name: slack, namespace: apps}
spec:
  type: slack
  channel: general
`;
    const { objects, problems } = parseManifests(text, 'old.yaml');
    expect(problems).toEqual([]);
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}`)).toEqual([
      'notification.toolkit.fluxcd.io/v1beta3 Alert',
      'notification.toolkit.fluxcd.io/v1beta3 Provider',
    ]);
  });

  it('rejects a v1beta2 Provider that is not valid v1beta3, and notification versions Herald does not read', () => {
    const text = `apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Provider
metadata: {name: p}
spec:
  type: slack
  timeout: 2h
---
${alertDoc('v1').replace('v1beta3', 'v1beta1')}`;
    const { objects, problems } = parseManifests(text, 'old.yaml');
    expect(objects).toEqual([]);
    expect(problems.map((p) => [p.document, p.field, p.message])).toEqual([
      [1, 'spec.timeout', 'timeout must be a duration in ms, s or m, such as 15s'],
      [2, 'apiVersion', 'apiVersion notification.toolkit.fluxcd.io/v1beta1 is not supported for Alert: use notification.toolkit.fluxcd.io/v1beta3'],
    ]);
  });

  it('treats an Alert of another API group as a plain object, not a Flux Alert', () => {
    const text = `apiVersion: monitoring.coreos.com/v1
kind: Alert
metadata:
  name: cpu
  labels: {team: ops}
spec:
  whatever: [1, 2]
`;
    const { objects, problems } = parseManifests(text, 'other.yaml');
    expect(problems).toEqual([]);
    expect(objects).toEqual([{ apiVersion: 'monitoring.coreos.com/v1', kind: 'Alert', metadata: { name: 'cpu', namespace: 'default', uid: stableUid('Alert', 'default', 'cpu'), labels: { team: 'ops' } } }]);
  });

  it('expands kubectl List output, filling kind and apiVersion of typed list items, and names bad items by index', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: s, namespace: apps, managedFields: [{manager: kubectl}]}
  data: {token: dG9r}
- apiVersion: kustomize.toolkit.fluxcd.io/v1
  kind: Kustomization
  metadata: {name: apps, namespace: flux-system, labels: {tier: infra}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: AlertList
metadata: {resourceVersion: "12"}
items:
- metadata: {name: first, namespace: apps}
  spec:
    providerRef: {name: slack}
    eventSources: [{kind: Kustomization, name: '*'}]
- metadata: {name: second, namespace: apps}
  spec:
    providerRef: {name: slack}
    eventSources: [{kind: '', name: '*'}]
`;
    const parsed = parseManifestFile(text, 'dump.yaml');
    expect(parsed.entries.map((e) => [e.document, e.item, e.object.kind, e.object.metadata.name])).toEqual([
      [1, 0, 'Secret', 's'],
      [1, 1, 'Kustomization', 'apps'],
      [2, 0, 'Alert', 'first'],
    ]);
    expect('managedFields' in parsed.entries[0]!.object.metadata).toBe(false);
    expect(parsed.problems).toEqual([expect.objectContaining({ document: 2, kind: 'Alert', name: 'second', field: 'items.1.spec.eventSources.0.kind' })]);
  });

  it('reads YAML as Kubernetes does (1.1 booleans) but keeps dates and base-60 looking values as strings', () => {
    const text = `${alertDoc('yaml11')}  suspend: yes
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  labels:
    since: 2024-01-01
    window: 1:20
`;
    const { objects, problems } = parseManifests(text, 'y.yaml');
    expect(problems).toEqual([]);
    expect((objects[0] as Alert).spec.suspend).toBe(true);
    expect(objects[1]!.metadata.labels).toEqual({ since: '2024-01-01', window: '1:20' });
  });

  it('gives every object an identity of group, kind, namespace and name', () => {
    const parsed = parseManifestFile(`${alertDoc('a')}---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: h}\n`, 'i.yaml');
    expect(parsed.entries.map((e) => e.id)).toEqual(['notification.toolkit.fluxcd.io|Alert|apps/a', 'helm.toolkit.fluxcd.io|HelmRelease|default/h']);
  });

  it('returns nothing for an empty or comment-only text', () => {
    expect(parseManifests('', 'e.yaml')).toEqual({ objects: [], problems: [] });
    expect(parseManifests('# only a comment\n', 'e.yaml')).toEqual({ objects: [], problems: [] });
  });
});
