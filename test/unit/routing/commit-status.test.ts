// Commit-status routing: revision parsing, default ids, spec.commitStatusExpr (CEL) and the gates, against the spec's vectors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturesDir } from '../../helpers/fixtures.js';
import { parseAllDocuments } from 'yaml';
import { alertSchema, type Alert } from '../../../src/api/alert.js';
import { decodeEvent, type FluxEvent } from '../../../src/api/event.js';
import { resolveMeta } from '../../../src/api/meta.js';
import { PROVIDER_TYPES, providerSchema, type Provider } from '../../../src/api/provider.js';
import {
  celGoTypeName,
  commitStatusGate,
  commitStatusId,
  CommitStatusExprError,
  compileCommitStatusExpr,
  defaultCommitStatusId,
  parseRevision,
} from '../../../src/routing/commit-status.js';

const FIXTURES = fixturesDir;
const H = '9f1c2e3d4b5a69788796a5b4c3d2e1f001234567';
const S = 'a'.repeat(64);
const A1 = 'a1afe267b54f38b46b487f6e938a6fd508278c07';

function fixtureEvent(name: string): FluxEvent {
  return decodeEvent(readFileSync(`${FIXTURES}/events/${name}`));
}

function manifest(file: string, kind: string, name: string): unknown {
  const docs = parseAllDocuments(readFileSync(`${FIXTURES}/manifests/${file}`, 'utf8')).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } });
  const doc = docs.find((d) => d?.kind === kind && d.metadata?.name === name);
  if (!doc) throw new Error(`${kind} ${name} not in ${file}`);
  return doc;
}

function providerOf(raw: unknown): Provider {
  const p = providerSchema.parse(raw);
  return { ...p, kind: 'Provider', metadata: resolveMeta('Provider', p.metadata), spec: p.spec } as Provider;
}

function alertOf(raw: unknown): Alert {
  const a = alertSchema.parse(raw);
  return { ...a, kind: 'Alert', metadata: resolveMeta('Alert', a.metadata), spec: a.spec } as Alert;
}

function provider(type: string, uid: string, commitStatusExpr?: string): Provider {
  return providerOf({
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
    kind: 'Provider',
    metadata: { name: 'ops', namespace: 'apps', uid },
    spec: { type, ...(commitStatusExpr === undefined ? {} : { commitStatusExpr }) },
  });
}

function alert(name: string): Alert {
  return alertOf({
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
    kind: 'Alert',
    metadata: { name, namespace: 'apps' },
    spec: { providerRef: { name: 'ops' }, eventSeverity: 'info', eventSources: [{ kind: 'Kustomization', name: 'webapp' }] },
  });
}

function event(kind: string, name: string, metadata: Record<string, string> = {}, extra: Partial<FluxEvent> = {}): FluxEvent {
  return {
    involvedObject: { kind, namespace: 'apps', name, apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
    severity: 'info',
    timestamp: '2025-06-01T10:15:30Z',
    message: 'message',
    reason: 'ReconciliationSucceeded',
    metadata,
    reportingController: 'kustomize-controller',
    ...extra,
  };
}

describe('parseRevision', () => {
  it.each([
    [`main@sha1:${H}`, H],
    [`sha1:${H}`, H],
    [`refs/heads/main@sha1:${H}`, H],
    [`environment/dev@sha1:${H}`, H],
    [`v1.2.3@sha1:${H}`, H],
    [H, H],
    [`main/${H}`, H],
    [`environment/dev/${H}`, H],
    [`HEAD/${H}`, H],
    [`main@sha1:${H.toUpperCase()}`, H.toUpperCase()],
    [`main@sha1:${'z'.repeat(40)}`, 'z'.repeat(40)],
    [`foo:${H}`, H],
    [`a:b:${H}`, H],
    [`sha1:${A1}`, A1],
    [`master@sha1:${A1}`, A1],
    [`environment/dev@sha1:${A1}`, A1],
    [`master/${A1}`, A1],
    [`environment/dev/${A1}`, A1],
    // byte length counts, not characters: 20 two-byte characters are 40 bytes
    [`sha1:${'é'.repeat(20)}`, 'é'.repeat(20)],
  ])('%s -> the commit hash', (rev, hash) => {
    expect(parseRevision(rev)).toBe(hash);
  });

  it.each([
    `main@sha256:${S}`,
    `sha256:${S}`,
    S,
    `latest@sha256:${S}`,
    `main@${H}`,
    'sha1:9f1c2e3',
    `main@sha1:${H} `,
    'master',
    'badhash',
    'revision/abce1',
    '',
    '6.7.2',
    // 40 characters but 80 bytes
    `sha1:${'é'.repeat(40)}`,
    `${H}/`,
  ])('%j is rejected with Flux text', (rev) => {
    expect(() => parseRevision(rev)).toThrow(`failed to extract commit hash from '${rev}' revision`);
  });
});

describe('defaultCommitStatusId', () => {
  const vectors = JSON.parse(readFileSync(`${FIXTURES}/expected/commit-status-and-masking.json`, 'utf8')) as {
    defaultCommitStatusIds: { involvedObjectKind: string; involvedObjectName: string; providerUID: string; commitStatusId: string }[];
  };
  it.each(vectors.defaultCommitStatusIds)('$involvedObjectKind/$involvedObjectName with uid "$providerUID"', (v) => {
    expect(defaultCommitStatusId(event(v.involvedObjectKind, v.involvedObjectName), v.providerUID)).toBe(v.commitStatusId);
  });

  it('uses the whole uid when it has no dash and lower-cases the Go way (no final sigma, dotted capital I to i)', () => {
    expect(defaultCommitStatusId(event('Kustomization', 'webapp'), 'ABCDEF')).toBe('kustomization/webapp/abcdef');
    expect(defaultCommitStatusId(event('Kustomization', 'ΟΔΟΣ'), 'x')).toBe('kustomization/οδοσ/x');
    expect(defaultCommitStatusId(event('Kustomization', 'İ'), 'x')).toBe('kustomization/i/x');
  });

  it('ignores the namespace: same kind and name in two namespaces share one id', () => {
    const a = event('Kustomization', 'webapp');
    const b = { ...a, involvedObject: { ...a.involvedObject, namespace: 'other' } };
    expect(defaultCommitStatusId(a, 'c1-d')).toBe(defaultCommitStatusId(b, 'c1-d'));
  });
});

describe('commitStatusId (TestCreateCommitStatus, Test_newCommitStatus)', () => {
  const uid = '0c9c2e41-d2f9-4f9b-9c41-bebc1984d67a';
  const base = "event.involvedObject.kind + '/' + event.involvedObject.name + '/' + event.metadata.environment + '/' + provider.metadata.uid";
  const prod = event('Kustomization', 'gitops-system', { environment: 'production' });

  it('is empty for types that are not commit-status types', () => {
    expect(commitStatusId(prod, alert('test-alert'), provider('slack', uid))).toBe('');
    expect(commitStatusId(prod, alert('test-alert'), provider('msteams', uid))).toBe('');
    expect(commitStatusId(prod, alert('test-alert'), provider('generic', uid))).toBe('');
  });

  it('defaults to kind/name/uid-prefix for every commit-status type', () => {
    expect(commitStatusId(prod, alert('a'), provider('github', uid))).toBe('kustomization/gitops-system/0c9c2e41');
    expect(commitStatusId(event('HelmRelease', 'gitops-system'), alert('a'), provider('gitlab', uid))).toBe('helmrelease/gitops-system/0c9c2e41');
    expect(commitStatusId(prod, alert('a'), provider('bitbucketserver', uid))).toBe('kustomization/gitops-system/0c9c2e41');
  });

  it.each([
    [base, 'Kustomization/gitops-system/production/0c9c2e41-d2f9-4f9b-9c41-bebc1984d67a'],
    [`${base} + '/' + alert.metadata.name`, 'Kustomization/gitops-system/production/0c9c2e41-d2f9-4f9b-9c41-bebc1984d67a/test-alert'],
    [`(${base} + '/' + alert.metadata.name).lowerAscii()`, 'kustomization/gitops-system/production/0c9c2e41-d2f9-4f9b-9c41-bebc1984d67a/test-alert'],
    [
      "event.involvedObject.kind + '/' + event.involvedObject.name + '/' + event.metadata.environment + '/' + provider.metadata.uid.split('-').first().value()",
      'Kustomization/gitops-system/production/0c9c2e41',
    ],
  ])('evaluates %s', (expr, want) => {
    expect(commitStatusId(prod, alert('test-alert'), provider('github', uid, expr))).toBe(want);
  });

  it('reports an undeclared variable at compile time, cel-go style, with the expression', () => {
    const expr = "event.involvedObject.kind + '/' + event.involvedObject.name + '/' + notification.metadata.name";
    let err: unknown;
    try {
      commitStatusId(prod, alert('test-alert'), provider('github', uid, expr));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CommitStatusExprError);
    expect((err as Error).message).toBe(
      `failed to evaluate the spec.commitStatusExpr CEL expression for the event: failed to compile expression: failed to parse the CEL expression '${expr}': ` +
        `ERROR: <input>:1:69: undeclared reference to 'notification' (in container '')\n | ${expr}\n | ${'.'.repeat(68)}^`,
    );
  });

  it('rejects kustomization.metadata.name (undeclared)', () => {
    expect(() => commitStatusId(prod, alert('a'), provider('github', uid, "kustomization.metadata.name + '/' + provider.metadata.uid")))
      .toThrow("undeclared reference to 'kustomization'");
  });

  it('fails at evaluation on a missing metadata key', () => {
    const expr = `${base.replace('event.metadata.environment', 'event.metadata.notfound')}`;
    expect(() => commitStatusId(event('Kustomization', 'gitops-system', { foo: 'bar' }), alert('a'), provider('github', uid, expr))).toThrow(
      new Error(`failed to evaluate the spec.commitStatusExpr CEL expression for the event: failed to evaluate the CEL expression '${expr}': no such key: notfound`),
    );
  });

  it('rejects a bool result at compile time', () => {
    expect(() => commitStatusId(prod, alert('a'), provider('github', uid, "event.involvedObject.kind == 'Kustomization'"))).toThrow(
      'failed to evaluate the spec.commitStatusExpr CEL expression for the event: failed to compile expression: CEL expression output type mismatch: expected string, got bool',
    );
  });

  it('treats an empty expression as absent', () => {
    expect(commitStatusId(prod, alert('a'), provider('github', uid, ''))).toBe('kustomization/gitops-system/0c9c2e41');
  });
});

describe('commitStatusExpr with the canonical objects (commit-status.md §6.2)', () => {
  const uid = '0c9c2e41-d2f9-4f9f-9c8a-5d2b0f0e7c11';
  const e = event('Kustomization', 'webapp', { revision: `main@sha1:${H}` }, { severity: 'error', reason: 'HealthCheckFailed' });
  const run = (expr?: string) => commitStatusId(e, alert('webapp-status'), provider('bitbucketserver', uid, expr));

  it.each([
    [undefined, 'kustomization/webapp/0c9c2e41'],
    ["event.involvedObject.kind + '/' + event.involvedObject.name + '/' + alert.metadata.name", 'Kustomization/webapp/webapp-status'],
    ["(event.involvedObject.kind + '/' + event.involvedObject.name + '/' + provider.metadata.uid.split('-').first().value()).lowerAscii()", 'kustomization/webapp/0c9c2e41'],
    ["'flux/' + event.involvedObject.namespace + '/' + event.involvedObject.name", 'flux/apps/webapp'],
    ['string(event.metadata.revision)', `main@sha1:${H}`],
    ["event.?metadata.?env.orValue('none') + ''", 'none'],
  ])('%s -> %s', (expr, want) => {
    expect(run(expr)).toBe(want);
  });

  it('a bare field access has static type dyn and is rejected', () => {
    expect(() => run('event.metadata.env')).toThrow('CEL expression output type mismatch: expected string, got dyn');
  });

  it('a runtime error names the expression and the key', () => {
    const expr = "event.involvedObject.kind + '/' + event.metadata.notfound";
    expect(() => run(expr)).toThrow(`failed to evaluate the CEL expression '${expr}': no such key: notfound`);
  });
});

describe('celCommitStatusExamples fixture', () => {
  const examples = (JSON.parse(readFileSync(`${FIXTURES}/expected/commit-status-and-masking.json`, 'utf8')) as {
    celCommitStatusExamples: { expression: string; result?: string; error?: string; errorContains?: string }[];
  }).celCommitStatusExamples;
  const p = providerOf(manifest('provider-github-commit-status.yaml', 'Provider', 'github-status'));
  const a = alertOf(manifest('provider-github-commit-status.yaml', 'Alert', 'github-status'));
  // the notification copy after the metadata merge: prefixes stripped
  const raw = fixtureEvent('kustomize-controller-reconciliation-succeeded.json');
  const e: FluxEvent = { ...raw, metadata: Object.fromEntries(Object.entries(raw.metadata).map(([k, v]) => [k.split('/').pop()!, v])) };

  it.each(examples)('$expression', (ex) => {
    const run = () => commitStatusId(e, a, { ...p, spec: { ...p.spec, commitStatusExpr: ex.expression } });
    if (ex.result !== undefined) expect(run()).toBe(ex.result);
    else if (ex.error !== undefined) expect(run).toThrow(ex.error);
    else expect(run).toThrow(ex.errorContains!);
  });

  it('the manifest expression gives the documented id for Kustomization apps', () => {
    expect(commitStatusId(e, a, p)).toBe('kustomization/apps/github-status/c8f15ebe');
  });
});

describe('compileCommitStatusExpr', () => {
  it('compiles once per expression and reports a compile error as first only once', () => {
    const expr = `event.involvedObject.kind == 'once-${Date.now()}'`;
    const errors: CommitStatusExprError[] = [];
    for (let i = 0; i < 3; i++) {
      try {
        compileCommitStatusExpr(expr);
      } catch (e) {
        errors.push(e as CommitStatusExprError);
      }
    }
    expect(errors.map((e) => e.firstReport)).toEqual([true, false, false]);
    expect(errors.every((e) => e.expression === expr && e.message.startsWith('failed to compile expression: CEL expression output type mismatch'))).toBe(true);
    expect(compileCommitStatusExpr("'x'")).toBe(compileCommitStatusExpr("'x'"));
  });

  it('reports a syntax error with its position', () => {
    expect(() => compileCommitStatusExpr("event.involvedObject.kind + ")).toThrow(/failed to parse the CEL expression 'event.involvedObject.kind \+ ': ERROR: <input>:1:\d+: /);
  });

  it('names binary overload errors the cel-go way', () => {
    expect(() => compileCommitStatusExpr("'a' + 1")).toThrow("found no matching overload for '_+_' applied to '(string, int)'");
  });

  it.each([
    ["'a-b-c'.split('-').last().value()", 'c'],
    ["'abc'.charAt(1)", 'b'],
    ["'a.b.c'.replace('.', '/')", 'a/b/c'],
    ["'a.b.c'.replace('.', '/', 1)", 'a/b.c'],
    ["'abc'.reverse()", 'cba'],
    ["strings.quote('a\"b')", '"a\\"b"'],
    ["base64.encode(b'hello')", 'aGVsbG8='],
    ["string(base64.decode('aGVsbG8='))", 'hello'],
    ["sets.contains(['a', 'b'], ['b']) ? 'yes' : 'no'", 'yes'],
    ["sets.intersects([1, 2], [3]) ? 'yes' : 'no'", 'no'],
    ["sets.equivalent([1, 2], [2, 1, 1]) ? 'yes' : 'no'", 'yes'],
    ["'%s-%s'.format(['a', 'b']) + '%d'.format([7]) + '%.2f'.format([1.5]) + '%x'.format([255]) + '%e'.format([1500.0])", 'a-b71.50ff1.500000e+03'],
    ["' pad '.trim() + '/' + ['a', 'b'].join('+') + '/' + 'abcd'.substring(1, 3)", 'pad/a+b/bc'],
    ["'ABC'.lowerAscii() + 'def'.upperAscii()", 'abcDEF'],
    ["string('a/b'.indexOf('/')) + string('a/b/c'.lastIndexOf('/'))", '13'],
    ["1 < 1.5 ? 'cross-type' : 'no'", 'cross-type'],
    ["optional.ofNonZeroValue('').orValue('empty') + optional.ofNonZeroValue('x').orValue('empty')", 'emptyx'],
  ])('Flux CEL extension %s', (expr, want) => {
    expect(compileCommitStatusExpr(expr).evaluate({ event: {}, alert: {}, provider: {} })).toBe(want);
  });

  it('rejects heterogeneous literals as cel-go does with HomogeneousAggregateLiterals', () => {
    expect(() => compileCommitStatusExpr("string([1, 'a'])")).toThrow(/failed to parse the CEL expression/);
  });

  it('reports the optional.none() dereference', () => {
    const c = compileCommitStatusExpr("''.split('-').filter(x, x != '').first().value()");
    expect(() => c.evaluate({ event: {}, alert: {}, provider: {} })).toThrow("': optional.none() dereference");
  });

  it('spells cel-js types the cel-go way', () => {
    expect(celGoTypeName('list<string>')).toBe('list(string)');
    expect(celGoTypeName('map<string, list<int>>')).toBe('map(string, list(int))');
    expect(celGoTypeName('optional<dyn>')).toBe('optional_type(dyn)');
    expect(celGoTypeName('null')).toBe('null_type');
  });
});

describe('commitStatusGate (event-server.md §8.3, commit-status.md §2)', () => {
  const G = 'kustomize.toolkit.fluxcd.io';
  const rev = { [`${G}/revision`]: `main@sha1:${H}` };
  const variants: Record<string, Pick<FluxEvent, 'metadata' | 'severity'>> = {
    E: { severity: 'error', metadata: { ...rev } },
    I: { severity: 'info', metadata: { ...rev, [`${G}/commit_status`]: 'update' } },
    I0: { severity: 'info', metadata: { ...rev } },
    'E+CR': { severity: 'error', metadata: { ...rev, 'event.toolkit.fluxcd.io/change_request': '42' } },
    'I0+CR': { severity: 'info', metadata: { ...rev, 'event.toolkit.fluxcd.io/change_request': '42' } },
  };
  const commitStatus = ['github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops'];
  const changeRequest = ['githubpullrequestcomment', 'gitlabmergerequestcomment', 'giteapullrequestcomment'];

  it.each([
    ['E', 'pass', 'drop-change-request', 'pass'],
    ['I', 'pass', 'skip', 'skip'],
    ['I0', 'drop-commit-status', 'drop-change-request', 'pass'],
    ['E+CR', 'pass', 'pass', 'pass'],
    ['I0+CR', 'drop-commit-status', 'pass', 'pass'],
  ])('variant %s: commit-status %s, change-request %s, githubdispatch %s', (v, cs, cr, dispatch) => {
    for (const t of commitStatus) expect(commitStatusGate(variants[v]!, t, G)).toBe(cs);
    for (const t of changeRequest) expect(commitStatusGate(variants[v]!, t, G)).toBe(cr);
    expect(commitStatusGate(variants[v]!, 'githubdispatch', G)).toBe(dispatch);
  });

  it('every other type: commit_status=update is skipped silently, the rest passes; generic types get everything', () => {
    const others = PROVIDER_TYPES.filter((t) => !commitStatus.includes(t) && !changeRequest.includes(t));
    for (const t of others) {
      const generic = t === 'generic' || t === 'generic-hmac';
      expect(commitStatusGate(variants.I!, t, G)).toBe(generic ? 'pass' : 'skip');
      expect(commitStatusGate(variants.I0!, t, G)).toBe('pass');
      expect(commitStatusGate(variants.E!, t, G)).toBe('pass');
    }
  });

  it('a non-empty event.toolkit.fluxcd.io/commit lets an info event through to commit-status types; an empty one does not', () => {
    const info = (m: Record<string, string>) => ({ severity: 'info', metadata: m });
    expect(commitStatusGate(info({ 'event.toolkit.fluxcd.io/commit': H }), 'bitbucketserver', G)).toBe('pass');
    expect(commitStatusGate(info({ 'event.toolkit.fluxcd.io/commit': '' }), 'bitbucketserver', G)).toBe('drop-commit-status');
    expect(commitStatusGate(info({ 'event.toolkit.fluxcd.io/change_request': '' }), 'githubpullrequestcomment', G)).toBe('drop-change-request');
  });

  it('commit_status must be exactly "update" under the object group of the event', () => {
    expect(commitStatusGate({ severity: 'info', metadata: { [`${G}/commit_status`]: 'Update' } }, 'bitbucketserver', G)).toBe('drop-commit-status');
    expect(commitStatusGate({ severity: 'info', metadata: { 'helm.toolkit.fluxcd.io/commit_status': 'update' } }, 'bitbucketserver', G)).toBe('drop-commit-status');
    expect(commitStatusGate({ severity: 'info', metadata: { [`${G}/commit_status`]: 'update' } }, 'slack', G)).toBe('skip');
    expect(commitStatusGate({ severity: 'info', metadata: { '/commit_status': 'update' } }, 'slack', '')).toBe('skip');
  });

  it('TestGetNotificationParams rows: github drops a plain info event; error or commit_status=update pass; generic takes all', () => {
    const plain = { severity: '', metadata: {} };
    expect(commitStatusGate(plain, 'github', G)).toBe('drop-commit-status');
    expect(commitStatusGate({ severity: 'error', metadata: {} }, 'github', G)).toBe('pass');
    const update = { severity: '', metadata: { [`${G}/commit_status`]: 'update' } };
    expect(commitStatusGate(update, 'github', G)).toBe('pass');
    expect(commitStatusGate(update, 'generic', G)).toBe('pass');
    expect(commitStatusGate(update, 'generic-hmac', G)).toBe('pass');
  });

  it('kustomize-controller fixtures reach bitbucketserver exactly as Flux routes them', () => {
    const gate = (f: string) => commitStatusGate(fixtureEvent(f), 'bitbucketserver', G);
    expect(gate('kustomize-controller-reconciliation-succeeded.json')).toBe('pass');
    expect(gate('kustomize-controller-health-check-failed.json')).toBe('pass');
    expect(gate('kustomize-controller-apply-progressing.json')).toBe('drop-commit-status');
    expect(gate('kustomize-controller-annotation-metadata.json')).toBe('pass');
    expect(commitStatusGate(fixtureEvent('helm-controller-upgrade-succeeded.json'), 'bitbucketserver', 'helm.toolkit.fluxcd.io')).toBe('drop-commit-status');
    expect(commitStatusGate(fixtureEvent('helm-controller-install-failed.json'), 'bitbucketserver', 'helm.toolkit.fluxcd.io')).toBe('pass');
  });
});
