// bitbucketserver provider without a network: address parsing, credentials, derived values, body bytes and pre-flight errors (spec bitbucketserver.md).
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FluxEvent } from '../../../src/api/event.js';
import type { Provider, ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import {
  BitbucketServerProvider,
  buildStatusBody,
  buildStatusText,
  buildsUrl,
  decodeExistingStatus,
  parseBitbucketServerAddress,
  type BitbucketServerConfig,
} from '../../../src/providers/git/bitbucketserver.js';
import { providerDefinition } from '../../../src/providers/registry.js';
import { resolveProviderSettings } from '../../../src/providers/settings/resolve.js';
import { providerObject, secretObject, testRuntime } from '../../helpers/providers.js';
import { ConfigError, DeliveryError, type Notification } from '../../../src/providers/types.js';
import { makeTestPki } from '../../helpers/tls.js';

const H = '9f1c2e3d4b5a69788796a5b4c3d2e1f001234567';
const log = pino({ level: 'silent' });
const runtime = testRuntime();

const provider = (spec: Record<string, unknown>, name = 'ops'): Provider =>
  providerObject('bitbucketserver', spec as Partial<ProviderSpec>, { name, uid: '0c9c2e41-d2f9-4f9f-9c8a-5d2b0f0e7c11' });
const secret = (name: string, data: Record<string, string>): Secret => secretObject(name, data);

function parseWith(spec: Record<string, unknown>, data?: Record<string, string>): BitbucketServerConfig {
  const secrets = data ? [secret('bbs-auth', data)] : [];
  const p = provider(data ? { ...spec, secretRef: { name: 'bbs-auth' } } : spec);
  const settings = resolveProviderSettings(p, (ns, n) => secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === n));
  return BitbucketServerProvider.parse(settings, { runtime });
}

describe('address parsing (bitbucketserver.md §3)', () => {
  it.each([
    ['https://example.com:7990/scm/projectfoo/repobar.git', `https://example.com:7990/rest/api/latest/projects/projectfoo/repos/repobar/commits/${H}/builds`],
    ['https://example.com:7990/context/scm/projectfoo/repobar.git', `https://example.com:7990/context/rest/api/latest/projects/projectfoo/repos/repobar/commits/${H}/builds`],
    ['https://example.com:7990/context1/scm/projectfoo/repobar.git', `https://example.com:7990/context1/rest/api/latest/projects/projectfoo/repos/repobar/commits/${H}/builds`],
    ['https://example.com:7990/context1/context2/context3/scm/projectfoo/repobar.git', `https://example.com:7990/context1/context2/context3/rest/api/latest/projects/projectfoo/repos/repobar/commits/${H}/builds`],
    ['https://example.com:7990/scm/scm/projectfoo/repobar.git', `https://example.com:7990/scm/rest/api/latest/projects/projectfoo/repos/repobar/commits/${H}/builds`],
    ['https://example.com:7990/scm/context2/scm/scm/projectfoo/repobar.git', `https://example.com:7990/scm/context2/scm/rest/api/latest/projects/projectfoo/repos/repobar/commits/${H}/builds`],
    ['https://bitbucket.example.com/scm/PLAT/webapp.git', `https://bitbucket.example.com/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`],
    ['https://bitbucket.example.com/scm/PLAT/webapp', `https://bitbucket.example.com/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`],
    ['https://bitbucket.example.com/scm/~jdoe/webapp.git', `https://bitbucket.example.com/rest/api/latest/projects/~jdoe/repos/webapp/commits/${H}/builds`],
    ['http://bb.local:7990/bitbucket/scm/PLAT/web%20app.git', `http://bb.local:7990/bitbucket/rest/api/latest/projects/PLAT/repos/web%20app/commits/${H}/builds`],
    ['https://bitbucket.example.com//scm/PLAT/webapp.git', `https://bitbucket.example.com/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`],
    ['HTTPS://bitbucket.example.com/scm/PLAT/webapp.git', `https://bitbucket.example.com/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`],
    // user-info is dropped from the request URL: the Authorization header Herald always sets wins, as in Flux
    ['https://user@bitbucket.example.com/scm/PLAT/webapp.git', `https://bitbucket.example.com/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`],
    ['https://bitbucket.example.com/scm/PLAT/webapp.git?x=1', `https://bitbucket.example.com/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`],
    ['https://[::1]:8443/scm/PLAT/webapp.git', `https://[::1]:8443/rest/api/latest/projects/PLAT/repos/webapp/commits/${H}/builds`],
  ])('%s', (address, url) => {
    expect(buildsUrl(parseBitbucketServerAddress(address), H)).toBe(url);
  });

  it('keeps the clone URL query for the POST', () => {
    expect(parseBitbucketServerAddress('https://bitbucket.example.com/scm/PLAT/webapp.git?x=1').rawQuery).toBe('x=1');
  });

  it.each([
    ['https://example.com:7990/context1/context2/context3/projectfoo/repobar.git', 'could not parse git address: supplied provider address is not http(s) git clone url'],
    ['ssh://git@mybitbucket:2222/ap/fluxcd-sandbox.git', 'could not parse git address: unsupported scheme type in address: ssh. Must be http or https'],
    ['https://example.com:7990/scm/projectfoo/repobar/invalid.git', 'could not parse git address: invalid repository id "projectfoo/repobar/invalid"'],
    ['https://bitbucket.example.com/SCM/PLAT/webapp.git', 'could not parse git address: supplied provider address is not http(s) git clone url'],
    ['https://bitbucket.example.com/scm/PLAT/webapp/', 'could not parse git address: invalid repository id "PLAT/webapp/"'],
    ['https://bitbucket.example.com/projects/PLAT/repos/webapp/browse', 'could not parse git address: supplied provider address is not http(s) git clone url'],
    ['git@bitbucket.example.com:PLAT/webapp.git', 'could not parse git address: parse "git@bitbucket.example.com:PLAT/webapp.git": first path segment in URL cannot contain colon'],
    ['bitbucket.example.com/scm/PLAT/webapp.git', 'could not parse git address: unsupported scheme type in address: . Must be http or https'],
    ['https://bitbucket.example.com/scm/webapp.git', 'could not parse git address: invalid repository id "webapp"'],
  ])('%s is rejected', (address, message) => {
    expect(() => parseBitbucketServerAddress(address)).toThrow(new Error(message));
  });
});

describe('parse (constructor, bitbucketserver.md §11)', () => {
  it('is registered for type bitbucketserver', () => {
    expect(providerDefinition('bitbucketserver')).toBe(BitbucketServerProvider);
  });

  it('token auth: Bearer, wins over username/password', () => {
    const c = parseWith({ address: 'https://example.com:7990/scm/projectfoo/repobar.git' }, {
      token: 'BBDC-ODIxODYxMzIyNzUyOttorMjO059P2rYTb6EH7mP', username: 'u', password: 'p',
    });
    expect(c.authorization).toBe('Bearer BBDC-ODIxODYxMzIyNzUyOttorMjO059P2rYTb6EH7mP');
    expect(c.api.origin).toBe('https://example.com:7990');
    expect(c.secret).toBe('apps/bbs-auth');
  });

  it('basic auth from the Secret', () => {
    expect(parseWith({ address: 'https://example.com:7990/context/scm/projectfoo/repobar.git' }, { username: 'flux', password: 's3cr3t' }).authorization)
      .toBe('Basic Zmx1eDpzM2NyM3Q=');
  });

  it('takes TLS material from ca.crt in the secretRef (a commit-status type), and refuses a CA that is not PEM', () => {
    const pki = makeTestPki();
    const settings = (data: Record<string, string>) => resolveProviderSettings(
      provider({ address: 'https://example.com/scm/P/r.git', secretRef: { name: 'bbs-auth' } }),
      (_ns, n) => (n === 'bbs-auth' ? secret('bbs-auth', data) : undefined));
    expect(settings({ token: 't', 'ca.crt': pki.ca }).tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(parseWith({ address: 'https://example.com/scm/P/r.git' }, { token: 't', 'ca.crt': pki.ca }).transport.dispatcher).toBeDefined();
    expect(settings({ token: 't' }).tls).toBeUndefined();
    expect(() => parseWith({ address: 'https://example.com/scm/P/r.git' }, { token: 't', 'ca.crt': 'aaa' })).toThrow(/secret apps\/bbs-auth.*ca\.crt/);
  });

  it.each([
    [{}, undefined, "invalid credentials, expected to be one of username/password or API Token: provider apps/ops has no spec.secretRef; it needs a Secret with 'token', or 'username' and 'password'"],
    [{}, {}, "invalid credentials, expected to be one of username/password or API Token: provider apps/ops: secret apps/bbs-auth has neither 'token' nor 'username' and 'password'"],
    [{}, { username: 'flux', password: '' }, "invalid credentials, expected to be one of username/password or API Token: provider apps/ops: secret apps/bbs-auth has an empty 'password'"],
    [{}, { token: '' }, "invalid credentials, expected to be one of username/password or API Token: provider apps/ops: secret apps/bbs-auth has an empty 'token' and no 'username' and 'password'"],
    [{ username: 'flux-bot' }, { address: 'https://example.com/scm/P/r.git' }, "invalid credentials, expected to be one of username/password or API Token: provider apps/ops: secret apps/bbs-auth has no 'token' and no 'password' (spec.username needs the password in the Secret, next to 'username')"],
  ])('no usable credentials (spec %j, secret %j) is a ConfigError naming Provider and Secret', (spec, data, message) => {
    let err: unknown;
    try {
      parseWith({ address: 'https://example.com:7990/scm/projectfoo/repobar.git', ...spec }, data);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(message);
  });

  it('a Secret with only username or only password is refused before the provider sees it (never a silent unauthenticated request)', () => {
    for (const data of [{ username: 'flux' }, { password: 'bb-s3rv3r-pass' }] as Record<string, string>[]) {
      expect(() => parseWith({ address: 'https://example.com/scm/P/r.git', username: 'flux' }, data)).toThrow(/secret apps\/bbs-auth has '(username|password)' but no '(username|password)'/);
    }
  });

  it('checks the address before the credentials, as Flux does', () => {
    expect(() => parseWith({ address: 'ssh://git@mybitbucket:2222/ap/fluxcd-sandbox.git' }, {}))
      .toThrow('could not parse git address: unsupported scheme type in address: ssh. Must be http or https');
    expect(() => parseWith({ address: 'https://example.com:7990/scm/projectfoo/repobar/invalid.git' }, { token: 't' }))
      .toThrow('could not parse git address: invalid repository id "projectfoo/repobar/invalid"');
  });

  it('an address longer than the 450-character build status url is refused up front', () => {
    const address = `https://example.com/${'c'.repeat(440)}/scm/P/r.git`;
    expect(() => parseWith({ address }, { token: 't' })).toThrow('Bitbucket Server accepts at most 450 for the build status url');
    expect(() => parseWith({ address: `https://example.com/${'c'.repeat(400)}/scm/P/r.git` }, { token: 't' })).not.toThrow();
  });
});

describe('derived values (bitbucketserver.md §5, §7)', () => {
  const ref = { kind: 'Kustomization', namespace: 'apps', name: 'webapp' };

  it('name and description', () => {
    expect(buildStatusText({ involvedObject: ref, reason: 'HealthCheckFailed' })).toEqual({ name: 'kustomization/webapp [health check failed]', description: 'health check failed' });
    expect(buildStatusText({ involvedObject: ref, reason: '' })).toEqual({ name: 'kustomization/webapp []', description: '' });
  });

  it('canonical body bytes, variant E and I, with the trailing newline', () => {
    expect(buildStatusBody({ description: 'health check failed', key: '4abc3ba6f171924ecece234c03192982da12888b', name: 'kustomization/webapp [health check failed]', state: 'FAILED', url: 'https://bitbucket.example.com/scm/PLAT/webapp.git' }))
      .toBe('{"description":"health check failed","key":"4abc3ba6f171924ecece234c03192982da12888b","name":"kustomization/webapp [health check failed]","state":"FAILED","url":"https://bitbucket.example.com/scm/PLAT/webapp.git"}\n');
    expect(buildStatusBody({ description: 'reconciliation succeeded', key: '4abc3ba6f171924ecece234c03192982da12888b', name: 'kustomization/webapp [reconciliation succeeded]', state: 'SUCCESSFUL', url: 'https://bitbucket.example.com/scm/PLAT/webapp.git' }))
      .toBe('{"description":"reconciliation succeeded","key":"4abc3ba6f171924ecece234c03192982da12888b","name":"kustomization/webapp [reconciliation succeeded]","state":"SUCCESSFUL","url":"https://bitbucket.example.com/scm/PLAT/webapp.git"}\n');
  });

  it('drops an empty description and escapes HTML characters as Go does', () => {
    expect(buildStatusBody({ description: '', key: 'k', name: 'a/b []', state: 'FAILED', url: 'https://h/scm/P/r.git?a=1&b=<2>' }))
      .toBe('{"key":"k","name":"a/b []","state":"FAILED","url":"https://h/scm/P/r.git?a=1\\u0026b=\\u003c2\\u003e"}\n');
  });

  it('keeps name and description within Atlassian\'s 255 characters, the state still readable', () => {
    const long = { kind: 'Kustomization', namespace: 'apps', name: 'n'.repeat(253) };
    const t = buildStatusText({ involvedObject: long, reason: 'ReconciliationSucceeded' });
    expect(t.name.length).toBeLessThanOrEqual(255);
    expect(t.name.endsWith('… [reconciliation succeeded]')).toBe(true);
    expect(t.name.startsWith('kustomization/nnnn')).toBe(true);
    const huge = buildStatusText({ involvedObject: ref, reason: 'Very'.repeat(100) });
    expect(huge.description.length).toBe(255);
    expect(huge.name.length).toBe(255);
    expect(huge.name.startsWith('kustomization/webapp [very very')).toBe(true);
  });
});

describe('decodeExistingStatus (Go json.Unmarshal rules)', () => {
  it('reads the compared fields, case-insensitively, ignoring unknown members', () => {
    expect(decodeExistingStatus('{"Key":"k","state":"FAILED","NAME":"n","description":"d","url":"u","testResults":{"failed":1},"createdDate":1}'))
      .toEqual({ key: 'k', state: 'FAILED', name: 'n', description: 'd' });
    expect(decodeExistingStatus('null')).toEqual({ key: '', state: '', name: '', description: '' });
  });

  it.each([
    ['', 'unexpected end of JSON input'],
    ['   ', 'unexpected end of JSON input'],
    ['{"key":', 'unexpected end of JSON input'],
    ['<html>', "invalid character '<' looking for beginning of value"],
    ['[]', 'json: cannot unmarshal array into Go value of type notifier.bbServerBuildStatus'],
    ['{"key": 5}', 'json: cannot unmarshal number into Go struct field bbServerBuildStatus.key of type string'],
    ['{"duration": 1.5}', 'json: cannot unmarshal number 1.5 into Go struct field bbServerBuildStatus.duration of type int64'],
  ])('%j -> %s', (body, message) => {
    expect(() => decodeExistingStatus(body)).toThrow(message);
  });
});

describe('send pre-flight (no request is made)', () => {
  // Port 9 (discard) on loopback is closed: any request would fail with a transport error instead.
  const config = parseWith({ address: 'http://127.0.0.1:9/scm/projectfoo/repobar.git' }, { token: 't' });
  const base = (severity: string, metadata: Record<string, string>, reason = 'reason'): Notification => ({
    event: {
      involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: 'hello-world' },
      severity, timestamp: null, message: 'message', reason, metadata, reportingController: 'kustomize-controller',
    } as FluxEvent,
    alert: { namespace: 'flux-system', name: 'a', uid: 'x' },
    provider: { namespace: 'apps', name: 'ops', uid: 'x', type: 'bitbucketserver' },
    commitStatusId: 'kustomization/gitops-system/0c9c2e41',
  });
  const send = (n: Notification) => BitbucketServerProvider.send(n, config, { signal: new AbortController().signal, attempt: 1, log });

  it.each([
    ['info', { dummybadrevision: 'bad' }, 'missing revision metadata'],
    ['info', { revision: 'badhash' }, "could not parse revision: failed to extract commit hash from 'badhash' revision"],
    ['badserveritystate', { revision: 'main@sha1:5394cb7f48332b2de7c17dd8b8384bbc84b7e738' }, "couldn't convert to bitbucket server state: bitbucket server state generated on info or error events only"],
    ['info', { revision: '6.7.2' }, "could not parse revision: failed to extract commit hash from '6.7.2' revision"],
    ['info', { commit: '', revision: `main@sha1:${H}` }, "could not parse revision: failed to extract commit hash from '' revision"],
  ])('severity %s, metadata %j -> %s (not retried)', async (severity, metadata, message) => {
    const err = await send(base(severity, metadata)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).message).toBe(message);
    expect((err as DeliveryError).retryable).toBe(false);
  });

  it('skips Progressing before reading the revision', async () => {
    await expect(send(base('info', {}, 'Progressing'))).resolves.toBeUndefined();
    await expect(send(base('info', { revision: 'bad' }, 'Progressing'))).resolves.toBeUndefined();
  });

  it('ProgressingWithRetry is not skipped', async () => {
    await expect(send(base('info', {}, 'ProgressingWithRetry'))).rejects.toThrow('missing revision metadata');
  });

  it('an empty commit status id is refused', async () => {
    await expect(send({ ...base('info', { revision: `main@sha1:${H}` }), commitStatusId: '' })).rejects.toThrow('commit status cannot be empty');
  });
});
