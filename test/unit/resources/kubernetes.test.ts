// Pure parts of Kubernetes mode: API objects to store objects, Secret references, backoff, masking helpers, kubeconfig loading.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  alertFromApi, loadKubeConfig, nextBackoff, providerFromApi, secretFromApi, secretNamesOf, urlCredentials, type Conversion,
} from '../../../src/resources/kubernetes.js';
import { truncateMessage } from '../../../src/resources/kube-events.js';
import type { Provider } from '../../../src/api/provider.js';

const NV = 'notification.toolkit.fluxcd.io/v1beta3';

function ok<T>(c: Conversion<T>): T {
  if ('error' in c) throw new Error(`unexpected error: ${c.error}`);
  return c.object;
}

describe('objects from the API', () => {
  it('keeps an Alert with its uid and drops managedFields and the last-applied annotation', () => {
    const a = ok(alertFromApi({
      apiVersion: NV, kind: 'Alert',
      metadata: {
        name: 'a', namespace: 'apps', uid: 'u-1', resourceVersion: '42', managedFields: [{ manager: 'kubectl' }],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}', keep: 'me' },
      },
      spec: { providerRef: { name: 'p' }, eventSources: [{ kind: 'GitRepository', name: '*' }] },
    }));
    expect(a.metadata).toEqual({ name: 'a', namespace: 'apps', uid: 'u-1', resourceVersion: '42', annotations: { keep: 'me' } });
    expect(a.spec.eventSeverity).toBe('info');
  });

  it('names the field of an invalid Alert or Provider', () => {
    const alert = alertFromApi({ apiVersion: NV, kind: 'Alert', metadata: { name: 'a', namespace: 'apps' }, spec: { providerRef: { name: 'p' }, eventSources: [{ kind: '', name: 'x' }] } });
    expect(alert).toMatchObject({ field: 'spec.eventSources.0.kind' });
    const provider = providerFromApi({ apiVersion: NV, kind: 'Provider', metadata: { name: 'p', namespace: 'apps' }, spec: { type: 'slack', commitStatusExpr: 'x' } });
    expect(provider).toMatchObject({ field: 'spec.commitStatusExpr' });
  });

  it('decodes Secret data and never puts a value into the error', () => {
    const s = ok(secretFromApi({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 's', namespace: 'apps' }, data: { token: Buffer.from('abc').toString('base64') } }));
    expect(s.data['token']!.toString()).toBe('abc');
    expect(s.type).toBe('Opaque');
    const bad = secretFromApi({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'apps' }, data: { token: 'not base64 value!' } });
    expect(bad).toMatchObject({ field: 'data.token' });
    expect(JSON.stringify(bad)).not.toContain('not base64 value!');
  });
});

describe('secretNamesOf', () => {
  it('collects secretRef, proxySecretRef and certSecretRef once each', () => {
    const p = { spec: { type: 'generic', secretRef: { name: 'a' }, proxySecretRef: { name: 'b' }, certSecretRef: { name: 'a' } } } as unknown as Provider;
    expect(secretNamesOf(p).sort()).toEqual(['a', 'b']);
    expect(secretNamesOf({ spec: { type: 'generic' } } as unknown as Provider)).toEqual([]);
  });
});

describe('nextBackoff', () => {
  it('doubles per consecutive failure up to the maximum, and starts over after a long healthy run', () => {
    let d = 0;
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) seen.push((d = nextBackoff(d, 10, 500, 30_000)));
    expect(seen).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(nextBackoff(30_000, 60_000, 500, 30_000)).toBe(500);
  });
});

describe('urlCredentials', () => {
  it('returns the password and long query values of a URL, nothing for other text', () => {
    expect(urlCredentials('https://user:p%40ss@example.com/x?sig=abcdefgh123&v=1').sort()).toEqual(['abcdefgh123', 'p%40ss', 'p@ss'].sort());
    expect(urlCredentials('just-a-token')).toEqual([]);
    expect(urlCredentials('https://hooks.example.com/services/T0/B0/XYZ')).toEqual([]);
  });
});

describe('truncateMessage', () => {
  it('cuts on a character boundary within the byte limit', () => {
    expect(truncateMessage('short', 1024)).toBe('short');
    const cut = truncateMessage('é'.repeat(600), 1024);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1024);
    expect(cut.endsWith('...')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
  });
});

describe('loadKubeConfig', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  const kubeconfig = (dir: string, file: string, context: string, server: string): string => {
    const p = join(dir, file);
    writeFileSync(p, `apiVersion: v1
kind: Config
clusters: [{name: ${context}, cluster: {server: '${server}'}}]
users: [{name: ${context}, user: {token: t}}]
contexts: [{name: ${context}, context: {cluster: ${context}, user: ${context}}}]
current-context: ${context}
`);
    return p;
  };

  it('loads a file, and merges a KUBECONFIG-style list keeping the first file\'s context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const a = kubeconfig(dir, 'a', 'first', 'https://first.example:6443');
    const b = kubeconfig(dir, 'b', 'second', 'https://second.example:6443');
    expect(loadKubeConfig(a).getCurrentCluster()?.server).toBe('https://first.example:6443');
    const merged = loadKubeConfig([a, b].join(delimiter));
    expect(merged.getCurrentCluster()?.server).toBe('https://first.example:6443');
    expect(merged.getContexts().map((c) => c.name).sort()).toEqual(['first', 'second']);
  });

  it('fails with a clear message when there is no configuration at all', () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    process.env['HOME'] = home;
    delete process.env['KUBECONFIG'];
    delete process.env['KUBERNETES_SERVICE_HOST'];
    expect(() => loadKubeConfig()).toThrow(/no Kubernetes configuration found: pass --config-dir/);
  });
});
