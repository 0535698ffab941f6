// The jetstream overlay: three replicas of `herald serve --outbox jetstream` against the NATS Service it brings, safe to drain.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { repoRoot } from '../helpers/herald-process.js';
import { hasKubectl, kustomize, type Obj } from '../helpers/kustomize.js';


describe.skipIf(!hasKubectl)('deploy/overlays/jetstream', () => {
  const objects = kustomize('deploy/overlays/jetstream');
  const find = (kind: string, name: string): Obj => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`overlay renders no ${kind} ${name}`);
    return o;
  };
  const herald = find('Deployment', 'herald');
  const container = herald.spec.template.spec.containers[0];
  const config = loadConfig(container.args.slice(1), {});

  it('runs three replicas with the JetStream outbox, pointed at the NATS Service of the overlay', () => {
    expect(herald.spec.replicas).toBe(3);
    expect(config.outbox).toBe('jetstream');
    const nats = find('Service', 'herald-nats');
    const url = new URL(config.natsUrl!);
    expect(url.hostname).toBe(nats.metadata.name);
    expect(Number(url.port)).toBe(nats.spec.ports.find((p: Obj) => p.name === 'client').port);
    expect(config.maxDeliveryAge).toBe(3_600_000);
    for (const o of objects) if (!o.kind.startsWith('Cluster')) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('flux-system');
  });

  it('gives SIGTERM enough time: the pod grace period exceeds the delivery grace period', () => {
    expect(herald.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdownGracePeriod + 5000);
  });

  it('keeps two replicas through voluntary disruptions and spreads them over nodes', () => {
    const pdb = find('PodDisruptionBudget', 'herald');
    expect(pdb.spec).toMatchObject({ minAvailable: 2 });
    expect(pdb.spec.maxUnavailable).toBeUndefined();
    expect(herald.spec.template.spec.topologySpreadConstraints[0].topologyKey).toBe('kubernetes.io/hostname');
  });

  it('runs NATS with JetStream on a persistent volume, room for 3 MiB events, and only Herald allowed in', () => {
    const sts = find('StatefulSet', 'herald-nats');
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    const conf = find('ConfigMap', 'herald-nats').data['nats.conf'] as string;
    expect(conf).toMatch(/store_dir: \/data\/jetstream/);
    expect(Number(/max_payload: (\d+)/.exec(conf)![1])).toBeGreaterThan(3 * 1024 * 1024);
    expect(conf).toMatch(/pid_file: \/var\/run\/nats\/nats.pid/);
    const policy = find('NetworkPolicy', 'herald-nats');
    expect(policy.spec.ingress[0].from[0].podSelector.matchLabels).toEqual(herald.spec.selector.matchLabels);
    expect(readFileSync(path.join(repoRoot, 'deploy/overlays/jetstream/kustomization.yaml'), 'utf8')).toMatch(/- \.\.\/\.\.\/base/);
  });
});
