// The config-dir source on real temp directories: initial load, problems, hot reload, half-written files, ConfigMap symlink swaps.
import { cp, mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir } from '../../helpers/fixtures.js';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { secretString } from '../../../src/api/secret.js';
import { createLogger, type Logger } from '../../../src/logger.js';
import { startDirectorySource, type DirectorySource } from '../../../src/resources/directory.js';
import { formatProblem } from '../../../src/resources/manifests.js';
import { ResourceStore, type StoreChange } from '../../../src/resources/store.js';

const FIXTURES = join(fixturesDir, 'manifests');
/** The issue's bound for a file change to take effect. */
const RELOAD_BOUND_MS = 2000;

interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

function captureLogger(): { log: Logger; lines: LogLine[]; raw: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  return {
    log,
    raw: () => chunks.join(''),
    get lines() {
      return chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-config-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(dir: string, opts: { pollIntervalMs?: number; watch?: boolean } = {}) {
  const store = new ResourceStore();
  const logs = captureLogger();
  const changes: StoreChange[] = [];
  store.on('change', (c) => changes.push(c));
  const source: DirectorySource = await startDirectorySource(store, { dir, log: logs.log, ...opts });
  cleanups.push(() => source.close());
  return { store, logs, changes, source };
}

/** Polls until cond holds; returns how long it took, failing beyond the bound. */
async function within(boundMs: number, cond: () => boolean | Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > boundMs) throw new Error(`condition not met within ${boundMs}ms`);
    await sleep(10);
  }
  return Date.now() - t0;
}

const alert = (name: string, opts: { namespace?: string; provider?: string; kind?: string } = {}) => `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: ${name}
${opts.namespace ? `  namespace: ${opts.namespace}\n` : ''}spec:
  providerRef:
    name: ${opts.provider ?? 'hook'}
  eventSources:
    - kind: ${opts.kind ?? 'Kustomization'}
      name: '*'
`;

const provider = (name: string, namespace = 'apps') => `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  type: generic
  address: https://hooks.example.com/${name}
`;

describe('directory source: initial load', () => {
  it('loads every fixture manifest, marks the store ready and summarises the counts', async () => {
    const { store, logs, source } = await start(FIXTURES);
    expect(store.ready).toBe(true);
    expect(store.counts()).toEqual({ alerts: 12, providers: 11, secrets: 8, objects: 1 });
    expect(source.problems()).toEqual([]);
    expect(await store.storedLabels({ apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', namespace: 'apps', name: 'podinfo' }))
      .toEqual({ team: 'app-dev', tier: 'frontend' });
    expect(store.alertsFor({ kind: 'HelmRelease', namespace: 'apps' }).map((c) => c.alert.metadata.name))
      .toEqual(['app-dev-failures', 'helm-releases', 'helm-successes-only', 'all-flux-objects', 'nats-all']);
    expect(secretString(store.secret('apps', 'webhook-hmac-token')!, 'token')).toBe('s3cr3t-hmac-key');
    const summary = logs.lines.find((l) => l.msg.includes('loaded'));
    expect(summary).toMatchObject({ level: 'info', files: 10, alerts: 12, providers: 11, secrets: 8, objects: 1, problems: 0 });
  });

  it('finds manifests in subdirectories, skips hidden entries, non-YAML files and kustomization.yaml', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'team-a', 'nested'), { recursive: true });
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, 'team-a', 'nested', 'alert.yml'), alert('deep', { namespace: 'a' }));
    await writeFile(join(dir, '.git', 'alert.yaml'), alert('hidden'));
    await writeFile(join(dir, '.alert.yaml'), alert('hidden-file'));
    await writeFile(join(dir, 'README.md'), alert('markdown'));
    await writeFile(join(dir, 'kustomization.yaml'), 'resources:\n  - team-a/nested/alert.yml\n');
    const { store, source } = await start(dir);
    expect(store.alerts().map((c) => c.alert.metadata.name)).toEqual(['deep']);
    expect(source.problems()).toEqual([]);
  });

  it('reports a broken document with file, document index and field, keeps its neighbours, and logs one line for it', async () => {
    const dir = await tempDir();
    const broken = alert('broken', { namespace: 'apps', kind: "''" });
    await writeFile(join(dir, 'alerts.yaml'), `${alert('first', { namespace: 'apps' })}---\n${broken}---\n${alert('last', { namespace: 'apps' })}`);
    await writeFile(join(dir, 'providers.yaml'), provider('hook'));
    const { store, source, logs } = await start(dir);
    expect(store.alerts().map((c) => c.alert.metadata.name)).toEqual(['first', 'last']);
    expect(store.provider('apps', 'hook')).toBeDefined();
    const problems = source.problems();
    expect(problems).toEqual([expect.objectContaining({ file: join(dir, 'alerts.yaml'), document: 2, kind: 'Alert', namespace: 'apps', name: 'broken', field: 'spec.eventSources.0.kind' })]);
    const errorLines = logs.lines.filter((l) => l.level === 'error');
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatchObject({ msg: formatProblem(problems[0]!), file: join(dir, 'alerts.yaml'), document: 2, field: 'spec.eventSources.0.kind', name: 'broken' });
    expect(logs.lines.find((l) => l.msg.includes('loaded'))).toMatchObject({ alerts: 2, providers: 1, problems: 1 });
  });

  it('defaults the namespace and gives the same uid on every load', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.yaml'), alert('no-namespace'));
    const first = await start(dir);
    const second = await start(dir);
    const a = first.store.alert('default', 'no-namespace')!.alert;
    expect(a.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(second.store.alert('default', 'no-namespace')!.alert.metadata.uid).toBe(a.metadata.uid);
  });

  it('accepts v1beta2 manifests that are valid v1beta3', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'old.yaml'), `${alert('legacy', { namespace: 'apps' })}---\n${provider('hook')}`.replaceAll('v1beta3', 'v1beta2'));
    const { store, source } = await start(dir);
    expect(source.problems()).toEqual([]);
    expect(store.alert('apps', 'legacy')!.alert.apiVersion).toBe('notification.toolkit.fluxcd.io/v1beta3');
    expect(store.provider('apps', 'hook')!.spec.type).toBe('generic');
  });

  it('reports bad base64 in a Secret by field, and never logs Secret values', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'secrets.yaml'), `apiVersion: v1
kind: Secret
metadata: {name: bad, namespace: apps}
data:
  token: "zzz-very-secret-value!"
---
apiVersion: v1
kind: Secret
metadata: {name: good, namespace: apps}
data:
  token: ${Buffer.from('another-secret-value').toString('base64')}
---
apiVersion: v1
kind: Secret
metadata: {name: broken-yaml, namespace: apps}
stringData:
  password: "third-secret-value
`);
    const { store, source, logs } = await start(dir);
    expect(store.secret('apps', 'bad')).toBeUndefined();
    expect(secretString(store.secret('apps', 'good')!, 'token')).toBe('another-secret-value');
    expect(source.problems().map((p) => [p.document, p.name, p.field])).toEqual([
      [1, 'bad', 'data.token'],
      [3, undefined, undefined],
    ]);
    const all = logs.raw();
    expect(all).toContain('data.token: must be base64');
    for (const value of ['zzz-very-secret-value', 'another-secret-value', Buffer.from('another-secret-value').toString('base64'), 'third-secret-value']) {
      expect(all).not.toContain(value);
    }
  });

  it('lets the first definition in file path order win and reports the later duplicate', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.yaml'), provider('hook'));
    await writeFile(join(dir, 'b.yaml'), provider('hook').replace('hooks.example.com/hook', 'other.example.com/hook'));
    const { store, source, changes } = await start(dir);
    expect(store.provider('apps', 'hook')!.spec.address).toBe('https://hooks.example.com/hook');
    expect(source.problems()).toEqual([expect.objectContaining({
      file: join(dir, 'b.yaml'), document: 1, kind: 'Provider', name: 'hook',
      message: `Provider apps/hook is already defined in ${join(dir, 'a.yaml')}#1; this definition is ignored (the first one in file path order wins)`,
    })]);
    // Removing the winner lets the other definition take over, without a restart.
    changes.length = 0;
    await unlink(join(dir, 'a.yaml'));
    await within(RELOAD_BOUND_MS, () => store.provider('apps', 'hook')?.spec.address === 'https://other.example.com/hook');
    expect(changes).toEqual([{ type: 'upsert', kind: 'Provider', namespace: 'apps', name: 'hook' }]);
    expect(source.problems()).toEqual([]);
  });

  it('fails to start with a clear error when the directory does not exist', async () => {
    const dir = join(await tempDir(), 'missing');
    await expect(startDirectorySource(new ResourceStore(), { dir, log: captureLogger().log })).rejects.toThrow(`config dir ${dir}: ENOENT`);
  });
});

describe('directory source: hot reload', () => {
  it('applies an added, a changed and a removed file within 2 s and leaves other files\' objects untouched', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'providers.yaml'), provider('hook'));
    const { store, changes, logs } = await start(dir);
    const took: Record<string, number> = {};

    took.add = await (async () => {
      await writeFile(join(dir, 'alerts.yaml'), alert('one', { namespace: 'apps' }));
      return within(RELOAD_BOUND_MS, () => store.alert('apps', 'one') !== undefined);
    })();
    took.change = await (async () => {
      await writeFile(join(dir, 'alerts.yaml'), `${alert('one', { namespace: 'apps', kind: 'HelmRelease' })}---\n${alert('two', { namespace: 'apps' })}`);
      return within(RELOAD_BOUND_MS, () => store.alert('apps', 'two') !== undefined && store.alert('apps', 'one')!.alert.spec.eventSources[0]!.kind === 'HelmRelease');
    })();
    took.remove = await (async () => {
      await unlink(join(dir, 'alerts.yaml'));
      return within(RELOAD_BOUND_MS, () => store.alerts().length === 0);
    })();

    expect(store.provider('apps', 'hook')).toBeDefined();
    // The provider file never changed: it was upserted once at start and never touched again.
    expect(changes.filter((c) => c.kind === 'Provider')).toHaveLength(1);
    expect(changes.filter((c) => c.kind === 'Alert')).toEqual([
      { type: 'upsert', kind: 'Alert', namespace: 'apps', name: 'one' },
      { type: 'upsert', kind: 'Alert', namespace: 'apps', name: 'one' },
      { type: 'upsert', kind: 'Alert', namespace: 'apps', name: 'two' },
      { type: 'delete', kind: 'Alert', namespace: 'apps', name: 'one' },
      { type: 'delete', kind: 'Alert', namespace: 'apps', name: 'two' },
    ]);
    expect(logs.lines.filter((l) => l.msg.includes('reloaded')).length).toBeGreaterThanOrEqual(3);
    console.log(`reload latency (ms): ${JSON.stringify(took)}`);
  });

  it('upserts only the objects whose definition changed within a file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'alerts.yaml'), `${alert('stays', { namespace: 'apps' })}---\n${alert('edited', { namespace: 'apps' })}`);
    const { store, changes } = await start(dir);
    changes.length = 0;
    await writeFile(join(dir, 'alerts.yaml'), `${alert('stays', { namespace: 'apps' })}---\n${alert('edited', { namespace: 'apps', provider: 'other' })}`);
    await within(RELOAD_BOUND_MS, () => store.alert('apps', 'edited')!.alert.spec.providerRef.name === 'other');
    expect(changes).toEqual([{ type: 'upsert', kind: 'Alert', namespace: 'apps', name: 'edited' }]);
  });

  it('keeps the previous objects of a file that is half-written (not valid YAML) and picks up the completed file', async () => {
    const dir = await tempDir();
    const full = `${alert('one', { namespace: 'apps' })}---\n${alert('two', { namespace: 'apps' })}---\n${provider('hook')}`;
    await writeFile(join(dir, 'all.yaml'), full);
    const { store, changes, logs, source } = await start(dir, { pollIntervalMs: 100 });
    changes.length = 0;

    // Cut inside a quoted scalar of the second document: the YAML is not well-formed.
    const cut = full.indexOf("name: '*'", full.indexOf('name: two')) + 8;
    await writeFile(join(dir, 'all.yaml'), full.slice(0, cut));
    await within(RELOAD_BOUND_MS, () => logs.lines.some((l) => l.level === 'warn' && l.msg.includes('not valid YAML')));
    await sleep(300); // several rescans later
    expect(changes).toEqual([]);
    expect(store.alerts().map((c) => c.alert.metadata.name)).toEqual(['one', 'two']);
    expect(store.provider('apps', 'hook')).toBeDefined();
    const warn = logs.lines.find((l) => l.msg.includes('not valid YAML'))!;
    expect(warn).toMatchObject({ level: 'warn', file: join(dir, 'all.yaml'), line: expect.any(Number) });
    expect(warn.msg).toContain(`${join(dir, 'all.yaml')}: not valid YAML at line ${warn.line as number}`);
    expect(source.problems()).toEqual([expect.objectContaining({ file: join(dir, 'all.yaml'), document: 2 })]);

    await writeFile(join(dir, 'all.yaml'), full.replace('name: hook\n  namespace: apps\nspec:\n  type: generic', 'name: hook\n  namespace: apps\nspec:\n  type: slack'));
    await within(RELOAD_BOUND_MS, () => store.provider('apps', 'hook')!.spec.type === 'slack');
    expect(changes).toEqual([{ type: 'upsert', kind: 'Provider', namespace: 'apps', name: 'hook' }]);
    expect(source.problems()).toEqual([]);
  });

  it('keeps objects a truncated but well-formed file no longer defines until the file is valid again', async () => {
    const dir = await tempDir();
    const full = `${alert('one', { namespace: 'apps' })}---\n${alert('two', { namespace: 'apps' })}---\n${alert('three', { namespace: 'apps' })}`;
    await writeFile(join(dir, 'alerts.yaml'), full);
    const { store, logs } = await start(dir, { pollIntervalMs: 100 });

    // Truncated after "spec:" of the second document: valid YAML, an invalid Alert, and the third one missing.
    await writeFile(join(dir, 'alerts.yaml'), full.slice(0, full.indexOf('spec:', full.indexOf('name: two')) + 6));
    await within(RELOAD_BOUND_MS, () => logs.lines.some((l) => l.level === 'warn' && l.msg.includes('keeping the previous version of 2 object(s)')));
    expect(store.alerts().map((c) => c.alert.metadata.name)).toEqual(['one', 'three', 'two']);

    // Fixed by really removing the third Alert: now the removal takes effect.
    await writeFile(join(dir, 'alerts.yaml'), `${alert('one', { namespace: 'apps' })}---\n${alert('two', { namespace: 'apps' })}`);
    await within(RELOAD_BOUND_MS, () => store.alert('apps', 'three') === undefined);
    expect(store.alerts().map((c) => c.alert.metadata.name)).toEqual(['one', 'two']);
  });

  it('picks up a ConfigMap volume update (kubelet\'s ..data symlink swap) within 2 s', async () => {
    const dir = await tempDir();
    // kubelet's layout: ..<timestamp>/ holds the files, ..data links to it, visible names link through ..data.
    await mkdir(join(dir, '..2026_01_01_00_00_00.000000001'));
    await writeFile(join(dir, '..2026_01_01_00_00_00.000000001', 'alerts.yaml'), alert('v1', { namespace: 'apps' }));
    await symlink('..2026_01_01_00_00_00.000000001', join(dir, '..data'));
    await symlink(join('..data', 'alerts.yaml'), join(dir, 'alerts.yaml'));
    const { store, source } = await start(dir);
    expect(store.alerts().map((c) => c.alert.metadata.name)).toEqual(['v1']);
    expect(source.problems()).toEqual([]); // the timestamped directory is not read a second time

    const next = '..2026_01_01_00_01_00.000000002';
    await mkdir(join(dir, next));
    await writeFile(join(dir, next, 'alerts.yaml'), alert('v2', { namespace: 'apps' }));
    await writeFile(join(dir, next, 'providers.yaml'), provider('hook'));
    await symlink(next, join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await symlink(join('..data', 'providers.yaml'), join(dir, 'providers.yaml'));
    await rm(join(dir, '..2026_01_01_00_00_00.000000001'), { recursive: true });

    const took = await within(RELOAD_BOUND_MS, () => store.alert('apps', 'v2') !== undefined && store.provider('apps', 'hook') !== undefined);
    expect(store.alerts().map((c) => c.alert.metadata.name)).toEqual(['v2']);
    console.log(`configmap swap latency: ${took}ms`);
  });

  it('picks up a change inside a symlinked directory outside the config dir', async () => {
    const dir = await tempDir();
    const elsewhere = await tempDir();
    await writeFile(join(elsewhere, 'alerts.yaml'), alert('linked', { namespace: 'apps' }));
    await symlink(elsewhere, join(dir, 'linked'));
    const { store } = await start(dir);
    expect(store.alert('apps', 'linked')).toBeDefined();
    await writeFile(join(elsewhere, 'alerts.yaml'), alert('linked', { namespace: 'apps', provider: 'changed' }));
    await within(RELOAD_BOUND_MS, () => store.alert('apps', 'linked')!.alert.spec.providerRef.name === 'changed');
  });

  it('applies changes within 2 s by the periodic rescan alone when file-system events are off (or missed)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'alerts.yaml'), alert('polled', { namespace: 'apps' }));
    const { store } = await start(dir, { watch: false });
    const took: Record<string, number> = {};
    await writeFile(join(dir, 'alerts.yaml'), alert('polled', { namespace: 'apps', provider: 'changed' }));
    await writeFile(join(dir, 'more.yaml'), provider('hook'));
    took.changeAndAdd = await within(RELOAD_BOUND_MS, () => store.alert('apps', 'polled')!.alert.spec.providerRef.name === 'changed' && store.provider('apps', 'hook') !== undefined);
    await unlink(join(dir, 'alerts.yaml'));
    took.remove = await within(RELOAD_BOUND_MS, () => store.alerts().length === 0);
    console.log(`poll-only latency (ms): ${JSON.stringify(took)}`);
  });

  it('reload() re-reads the directory and resolves once the store reflects it', async () => {
    const dir = await tempDir();
    const { store, source } = await start(dir, { pollIntervalMs: 60_000 });
    await writeFile(join(dir, 'a.yaml'), alert('now', { namespace: 'apps' }));
    await source.reload();
    expect(store.alert('apps', 'now')?.alert.metadata.name).toBe('now');
  });

  it('stops following the directory after close()', async () => {
    const dir = await tempDir();
    const { store, source } = await start(dir, { pollIntervalMs: 50 });
    await source.close();
    await writeFile(join(dir, 'a.yaml'), alert('late', { namespace: 'apps' }));
    await sleep(400);
    expect(store.alerts()).toEqual([]);
  });

  it('copes with a directory copied in with many files at once', async () => {
    const dir = await tempDir();
    const { store } = await start(dir);
    await cp(FIXTURES, join(dir, 'fixtures'), { recursive: true });
    const took = await within(RELOAD_BOUND_MS, () => store.counts().alerts === 12 && store.counts().secrets === 8);
    expect(store.counts()).toEqual({ alerts: 12, providers: 11, secrets: 8, objects: 1 });
    console.log(`bulk copy latency: ${took}ms`);
  });
});
