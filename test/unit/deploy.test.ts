// What a platform team installs: every manifest in crds/ and deploy/ parses, and the fields that matter (ports, names, RBAC, security) hold.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { EVENT_SOURCE_KINDS } from '../../src/api/alert.js';
import { repoRoot } from '../helpers/herald-process.js';
import { hasKubectl, kustomize, type Obj } from '../helpers/kustomize.js';

const deployDir = path.join(repoRoot, 'deploy');
const baseDir = path.join(deployDir, 'base');

function readDocs(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const list = Array.isArray(docs) ? docs : [];
  for (const d of list) expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
  return list.map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

function kustomization(dir: string): { namespace?: string; resources: string[]; images?: Obj[] } {
  return readDocs(path.join(dir, 'kustomization.yaml'))[0] as { namespace?: string; resources: string[] };
}

function manifestFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml' && statSync(path.join(dir, f)).isFile()).sort();
}

const base = kustomization(baseDir);
const objects: Obj[] = base.resources.flatMap((f) => readDocs(path.join(baseDir, f)));
const find = (kind: string, name?: string): Obj => {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata?.name === name));
  if (!o) throw new Error(`deploy/ has no ${kind}${name ? ` ${name}` : ''}`);
  return o;
};

const deployment = find('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const portByName = Object.fromEntries(container.ports.map((p: Obj) => [p.name, p.containerPort])) as Record<string, number>;

describe('deploy/ kustomize base', () => {
  it('installs base/ from deploy/, where overlays/ can sit beside it', () => {
    // An overlay under deploy/overlays/ must build on deploy/base: kustomize rejects a base that contains its overlay.
    expect(kustomization(deployDir).resources).toEqual(['base']);
    expect(manifestFiles(deployDir)).toEqual([]);
  });

  it('lists every manifest file of base/, each a valid object without a hard-coded namespace', () => {
    expect([...base.resources].sort()).toEqual(manifestFiles(baseDir));
    for (const o of objects) {
      expect(typeof o.apiVersion, JSON.stringify(o.metadata)).toBe('string');
      expect(typeof o.kind).toBe('string');
      expect(o.metadata?.name).toBeTruthy();
      // The namespace comes from kustomize (base: flux-system), so an overlay can move everything at once.
      expect(o.metadata?.namespace).toBeUndefined();
    }
    expect(base.namespace).toBe('flux-system');
  });

  it('runs `herald serve` in Kubernetes mode on ports 9090 (events), 8080 (metrics) and 9440 (health)', () => {
    expect(container.args[0]).toBe('serve');
    const config = loadConfig(container.args.slice(1), {});
    expect(config.configDir).toBeUndefined();
    expect(config.watchAllNamespaces).toBe(true);
    expect([config.eventsAddr.port, config.metricsAddr.port, config.healthAddr.port]).toEqual([9090, 8080, 9440]);
    expect(portByName).toEqual({ http: 9090, 'http-prom': 8080, healthz: 9440 });
    const env = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    expect(env['RUNTIME_NAMESPACE']).toBe('metadata.namespace');
  });

  it('probes the health port: liveness /healthz, readiness /readyz', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'healthz' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'healthz' });
  });

  it('runs non-root, read-only, without privileges, under the RuntimeDefault seccomp profile, with resource requests', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
      capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.resources.requests.cpu).toBeTruthy();
    expect(container.resources.requests.memory).toBeTruthy();
    expect(container.resources.limits.memory).toBeTruthy();
    // A read-only root still needs a writable /tmp.
    const tmp = container.volumeMounts.find((m: Obj) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: Obj) => v.name === tmp.name).emptyDir).toBeDefined();
    expect(pod.serviceAccountName).toBe(find('ServiceAccount').metadata.name);
  });

  it('names the Service notification-controller, port 80 to the event port, selecting Herald\'s pods', () => {
    const svc = find('Service');
    expect(svc.metadata.name).toBe('notification-controller');
    expect(svc.spec.ports).toHaveLength(1);
    const [port] = svc.spec.ports;
    expect(port.port).toBe(80);
    expect(portByName[port.targetPort] ?? port.targetPort).toBe(9090);
    expect(deployment.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
  });

  describe('RBAC', () => {
    const role = find('ClusterRole');
    const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const verbs = (group: string, resource: string): string[] =>
      rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs);

    it('grants no wildcards', () => {
      for (const r of rules) {
        expect(r.apiGroups).not.toContain('*');
        expect(r.resources).not.toContain('*');
        expect(r.verbs).not.toContain('*');
      }
    });

    it('lets Herald list and watch Alerts, Providers and Secrets, and nothing more on Secrets', () => {
      for (const res of ['alerts', 'providers']) expect(verbs('notification.toolkit.fluxcd.io', res)).toEqual(expect.arrayContaining(['list', 'watch']));
      expect(verbs('notification.toolkit.fluxcd.io', 'alerts').filter((v) => !['list', 'watch', 'patch'].includes(v))).toEqual([]);
      expect(verbs('', 'secrets').sort()).toEqual(['list', 'watch']);
    });

    it('lets Herald create and patch Events', () => {
      expect(verbs('', 'events').sort()).toEqual(['create', 'patch']);
    });

    it('lets Herald read ServiceAccounts and create their tokens (object-level workload identity), nothing more', () => {
      expect(verbs('', 'serviceaccounts')).toEqual(['get']);
      expect(verbs('', 'serviceaccounts/token')).toEqual(['create']);
    });

    it('lets Herald get (only get) every Flux kind an Alert can select, for matchLabels', () => {
      const kindToResource: Record<string, [string, string]> = {
        Bucket: ['source.toolkit.fluxcd.io', 'buckets'], GitRepository: ['source.toolkit.fluxcd.io', 'gitrepositories'],
        HelmChart: ['source.toolkit.fluxcd.io', 'helmcharts'], HelmRepository: ['source.toolkit.fluxcd.io', 'helmrepositories'],
        OCIRepository: ['source.toolkit.fluxcd.io', 'ocirepositories'], ExternalArtifact: ['source.toolkit.fluxcd.io', 'externalartifacts'],
        ArtifactGenerator: ['source.extensions.fluxcd.io', 'artifactgenerators'], Kustomization: ['kustomize.toolkit.fluxcd.io', 'kustomizations'],
        HelmRelease: ['helm.toolkit.fluxcd.io', 'helmreleases'], ImageRepository: ['image.toolkit.fluxcd.io', 'imagerepositories'],
        ImagePolicy: ['image.toolkit.fluxcd.io', 'imagepolicies'], ImageUpdateAutomation: ['image.toolkit.fluxcd.io', 'imageupdateautomations'],
      };
      expect(Object.keys(kindToResource).sort()).toEqual([...EVENT_SOURCE_KINDS].sort());
      for (const [group, resource] of Object.values(kindToResource)) expect(verbs(group, resource), `${group}/${resource}`).toEqual(['get']);
    });

    it('binds the role to Herald\'s ServiceAccount', () => {
      const binding = find('ClusterRoleBinding');
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: find('ServiceAccount').metadata.name }]);
    });
  });

  it('admits only the event port from the namespace\'s pods and the metrics port for scraping', () => {
    const np = find('NetworkPolicy');
    expect(deployment.spec.template.metadata.labels).toMatchObject(np.spec.podSelector.matchLabels);
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    const rules = np.spec.ingress as Obj[];
    expect(rules.flatMap((r) => r.ports.map((p: Obj) => p.port)).sort()).toEqual([8080, 9090]);
    const eventRule = rules.find((r) => r.ports.some((p: Obj) => p.port === 9090))!;
    // An empty podSelector without namespaceSelector means: pods of the policy's own namespace.
    expect(eventRule.from).toEqual([{ podSelector: {} }]);
  });

  it('has a PodDisruptionBudget for Herald\'s pods that never blocks a drain of a single replica', () => {
    const pdb = find('PodDisruptionBudget');
    expect(deployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });
});

describe.skipIf(!hasKubectl)('kubectl kustomize', () => {
  const render = kustomize;

  it('renders deploy/ into flux-system, binding the namespaced ServiceAccount', () => {
    const rendered = render('deploy');
    expect(rendered.map((o) => o.kind).sort()).toEqual(objects.map((o) => o.kind).sort());
    for (const o of rendered) if (!o.kind.startsWith('Cluster')) expect(o.metadata.namespace, o.kind).toBe('flux-system');
    expect(rendered.find((o) => o.kind === 'ClusterRoleBinding')!.subjects[0].namespace).toBe('flux-system');
    expect(rendered.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].image).toBe('herald:0.1.0');
  });

  it('renders crds/', () => {
    expect(render('crds').map((o) => o.metadata.name).sort()).toEqual(['alerts.notification.toolkit.fluxcd.io', 'providers.notification.toolkit.fluxcd.io']);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  const froms = [...text.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({ image: m[1]!, stage: m[2] }));
  const lastStage = text.slice(text.lastIndexOf('\nFROM '));

  it('builds in one stage and runs Node 24 in another, as a numeric non-root user, with only dist/ and production dependencies', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.at(-1)!.image).toMatch(/^node:24[.-]/);
    expect(text).toMatch(/RUN npm ci\b/);
    expect(text).toMatch(/RUN npm run build/);
    expect(text).toMatch(/npm ci --omit=dev/);
    const user = /^USER\s+(\d+)(?::(\d+))?\s*$/m.exec(lastStage);
    expect(user, 'numeric USER in the runtime stage').not.toBeNull();
    expect(Number(user![1])).toBeGreaterThan(0);
    const copies = [...lastStage.matchAll(/^COPY\s+(?:--from=(\S+)\s+)?(\S+)\s+(\S+)/gm)].map((m) => m[2]);
    expect(copies.sort()).toEqual(['/app/node_modules', '/src/dist', 'package.json'].sort());
    expect(lastStage).toMatch(/ENTRYPOINT \["node", "dist\/cli\.js"\]/);
  });

  it('keeps the build context to the sources and the lockfile', () => {
    const ignore = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    expect(ignore.slice(1).sort()).toEqual(['!package-lock.json', '!package.json', '!src/', '!tsconfig.build.json', '!tsconfig.json']);
    // Everything the Dockerfile copies from the context is let through.
    const allowed = ignore.slice(1).map((l) => l.slice(1).replace(/\/$/, ''));
    for (const m of text.matchAll(/^COPY\s+(?!--from)(.+)\s+\S+$/gm)) {
      for (const src of m[1]!.trim().split(/\s+/)) expect(allowed, src).toContain(src.replace(/\/$/, ''));
    }
  });
});
