// The GitHub family (github, githubdispatch, githubpullrequestcomment) against a local HTTPS fake of the GitHub REST API
// (CA made in the test): list then post, duplicates, skips, every error, the comment upsert among decoys, and the
// GitHub App flow with a key generated here (the fake verifies the JWT) and its shared, renewed installation token.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FluxEvent } from '../../../src/api/event.js';
import type { Provider, ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { maskError } from '../../../src/providers/masking.js';
import { ProviderRuntime } from '../../../src/providers/runtime.js';
import { resolveProviderSettings } from '../../../src/providers/settings/resolve.js';
import { ConfigError, DeliveryError, type Notification } from '../../../src/providers/types.js';
import { providerDefinition } from '../../../src/providers/registry.js';
import { parseGitHubRepository } from '../../../src/providers/git/github-client.js';
import { appJwt, GitHubAppTokenCache, parseGitHubApp } from '../../../src/providers/git/github-app.js';
import { isDuplicateStatus } from '../../../src/providers/git/github.js';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.js';
import { startProxy } from '../../helpers/proxy.js';
import { deliveryFailure, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';

const H = '9f1c2e3d4b5a69788796a5b4c3d2e1f001234567';
const TOKEN = 'ghp_exampletoken';
const UID = '0c9c2e41-d2f9-4f9f-9c8a-5d2b0f0e7c11';
const CONTEXT = 'kustomization/webapp/0c9c2e41';
const log = pino({ level: 'silent' });
const runtime = testRuntime();

let fakes: FakeGitHub[] = [];
let runtimes: ProviderRuntime[] = [];
afterEach(async () => {
  await Promise.all([...fakes.map((f) => f.close()), ...runtimes.map((r) => r.close())]);
  fakes = [];
  runtimes = [];
});

/** A runtime of its own (an empty App token cache), closed after the test. */
function freshRuntime(): ProviderRuntime {
  const rt = new ProviderRuntime();
  runtimes.push(rt);
  return rt;
}

async function fake(opts: Parameters<typeof startFakeGitHub>[0] = { tokens: { [TOKEN]: 'flux-bot' } }): Promise<FakeGitHub> {
  const f = await startFakeGitHub(opts);
  fakes.push(f);
  return f;
}

type GitHubType = 'github' | 'githubdispatch' | 'githubpullrequestcomment';

function providerObj(type: GitHubType, address: string, extra: Partial<ProviderSpec> = {}, name = 'ops', uid = UID): Provider {
  return providerObject(type, { address, secretRef: { name: 'gh-auth' }, ...extra }, { name, uid });
}

const secretObj = (name: string, data: Record<string, string>): Secret => secretObject(name, data);

type Variant = 'E' | 'I' | 'I0';

function event(variant: Variant, extra: Record<string, string> = {}): FluxEvent {
  return {
    involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'webapp', uid: '4f3c2a1b-8d7e-4c6b-9a5f-0e1d2c3b4a59', apiVersion: 'kustomize.toolkit.fluxcd.io/v1', resourceVersion: '184467' },
    severity: variant === 'E' ? 'error' : 'info',
    timestamp: '2025-06-01T10:15:30Z',
    message: variant === 'E' ? 'Health check failed after 2m' : 'Reconciliation finished in 4s, next run in 10m0s',
    reason: variant === 'E' ? 'HealthCheckFailed' : 'ReconciliationSucceeded',
    metadata: { ...(variant === 'I' ? { commit_status: 'update' } : {}), revision: `main@sha1:${H}`, ...extra },
    reportingController: 'kustomize-controller',
    reportingInstance: 'kustomize-controller-6f8c9d7b5-q2w4x',
  };
}

function notification(p: Provider, e: FluxEvent): Notification {
  return {
    event: e,
    alert: { namespace: 'apps', name: 'webapp-status', uid: 'alert-uid' },
    provider: { namespace: 'apps', name: p.metadata.name, uid: p.metadata.uid, type: p.spec.type },
    ...(p.spec.type === 'github' ? { commitStatusId: CONTEXT } : {}),
  };
}

const lookup = (secrets: Secret[]) => (ns: string, name: string) => secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === name);

async function send(p: Provider, secrets: Secret[], e: FluxEvent | Notification, rt: ProviderRuntime = runtime): Promise<void> {
  const def = providerDefinition(p.spec.type)!;
  const settings = resolveProviderSettings(p, lookup(secrets));
  const config = def.parse(settings, { runtime: rt });
  try {
    await def.send('event' in e && 'alert' in e ? e : notification(p, e), config, { signal: AbortSignal.timeout(5000), attempt: 1, log });
  } finally {
    await def.close?.(config);
  }
}

async function failure(p: Provider, secrets: Secret[], e: FluxEvent | Notification): Promise<DeliveryError> {
  const err = await send(p, secrets, e).then(() => undefined, (x: unknown) => x);
  if (!(err instanceof DeliveryError)) throw new Error(`expected a DeliveryError, got ${String(err)}`);
  return err;
}

function configError(p: Provider, secrets: Secret[]): string {
  try {
    providerDefinition(p.spec.type)!.parse(resolveProviderSettings(p, lookup(secrets)), { runtime });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const auth = (gh: FakeGitHub, data: Record<string, string> = { token: TOKEN }) => [secretObj('gh-auth', { ...data, 'ca.crt': gh.pki.ca })];

describe('address and API base (github.md §3)', () => {
  it.each([
    ['https://github.com/acme/webapp', 'acme', 'webapp', 'https://api.github.com/'],
    ['git@github.com:acme/webapp.git', 'acme', 'webapp', 'https://api.github.com/'],
    ['git://github.com/acme/webapp', 'acme', 'webapp', 'https://api.github.com/'],
    ['https://ghe.example.com/acme/webapp', 'acme', 'webapp', 'https://ghe.example.com/api/v3/'],
    ['http://ghe.local:8080/acme/webapp.git', 'acme', 'webapp', 'http://ghe.local:8080/api/v3/'],
    ['https://api.ghe.example.com/acme/webapp', 'acme', 'webapp', 'https://api.ghe.example.com/'],
    ['https://x.api.ghe.example.com/acme/webapp', 'acme', 'webapp', 'https://x.api.ghe.example.com/'],
    ['ssh://git@github.com:22/acme/webapp', 'acme', 'webapp', 'https://github.com:22/api/v3/'],
    ['https://GitHub.com/acme/webapp', 'acme', 'webapp', 'https://GitHub.com/api/v3/'],
    ['https://foobar.com/foo/bar', 'foo', 'bar', 'https://foobar.com/api/v3/'],
  ])('%s → %s / %s at %s', (address, owner, repo, apiBase) => {
    expect(parseGitHubRepository(address)).toMatchObject({ owner, repo, apiBase });
  });

  it.each([
    ['https://github.com/acme/webapp/', "invalid repository id: 'acme/webapp/'"],
    ['https://github.com/acme/team/webapp', "invalid repository id: 'acme/team/webapp'"],
    ['https://github.com/foo/bar/baz', "invalid repository id: 'foo/bar/baz'"],
  ])('%s is refused: %s', (address, text) => {
    expect(() => parseGitHubRepository(address)).toThrow(text);
  });
});

describe('duplicate rule (github.md §7, TestDuplicateGithubStatus)', () => {
  const s = (state: string, context: string, description: string) => ({ state, context, description });
  it.each([
    [[s('success', 'foo', 'bar')], s('success', 'foo', 'bar'), true],
    [[s('success', 'foo', 'bar')], s('failure', 'foo', 'bar'), false],
    [[s('success', 'foo', 'bar')], s('success', 'baz', 'bar'), false],
    [[s('success', 'foo', 'bar')], s('success', 'foo', 'baz'), false],
    [[s('success', 'baz', 'bar'), s('success', 'foo', 'bar')], s('success', 'foo', 'bar'), true],
    [[s('failure', 'foo', 'bar'), s('success', 'foo', 'bar')], s('success', 'foo', 'bar'), false],
    [[{ context: 'foo' }, s('success', 'foo', 'bar')], s('success', 'foo', 'bar'), true],
    [[{}, null, 'x', { context: '/', state: 'failure', description: '' }], s('failure', '/', ''), true],
  ])('%j + %j → %s', (list, status, dup) => {
    expect(isDuplicateStatus(list, status)).toBe(dup);
  });
});

describe('github against a GitHub fake over HTTPS', () => {
  it('lists the commit statuses, then posts the exact status with go-github headers', async () => {
    const gh = await fake();
    await send(providerObj('github', `${gh.url}/acme/webapp`), auth(gh), event('E'));
    expect(gh.violations).toEqual([]);
    const [list, post] = gh.server.requests;
    expect(gh.server.requests).toHaveLength(2);
    expect(`${list!.method} ${list!.url}`).toBe(`GET /api/v3/repos/acme/webapp/commits/${H}/statuses?per_page=50`);
    expect(list!.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, accept: 'application/vnd.github.v3+json', 'user-agent': 'go-github/v64.0.0', 'x-github-api-version': '2022-11-28' });
    expect(list!.headers['content-type']).toBeUndefined();
    expect(`${post!.method} ${post!.url}`).toBe(`POST /api/v3/repos/acme/webapp/statuses/${H}`);
    expect(post!.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/vnd.github.v3+json' });
    expect(post!.text).toBe(`{"state":"failure","description":"health check failed","context":"${CONTEXT}"}\n`);
    expect(gh.statuses.get(H)).toEqual([{ state: 'failure', description: 'health check failed', context: CONTEXT }]);
  });

  it('does not post a status equal to the newest one of its context; a change is posted', async () => {
    const gh = await fake();
    const p = providerObj('github', `${gh.url}/acme/webapp`);
    await send(p, auth(gh), event('E'));
    await send(p, auth(gh), event('E'));
    expect(gh.server.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET']);
    // Another context's newer status does not hide ours.
    gh.statuses.get(H)!.unshift({ state: 'success', description: 'x', context: 'ci/other' });
    await send(p, auth(gh), event('E'));
    expect(gh.server.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET', 'GET']);
    await send(p, auth(gh), event('I'));
    expect(gh.server.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET', 'GET', 'GET', 'POST']);
    expect(gh.statuses.get(H)![0]).toEqual({ state: 'success', description: 'reconciliation succeeded', context: CONTEXT });
    // An older identical status behind a newer different one does not count.
    await send(p, auth(gh), event('E'));
    expect(gh.statuses.get(H)![0]).toEqual({ state: 'failure', description: 'health check failed', context: CONTEXT });
    expect(gh.violations).toEqual([]);
  });

  it('skips Progressing without a request; a plain info event becomes success', async () => {
    const gh = await fake();
    const p = providerObj('github', `${gh.url}/acme/webapp`);
    await send(p, auth(gh), { ...event('E'), reason: 'Progressing' });
    expect(gh.server.requests).toHaveLength(0);
    await send(p, auth(gh), { ...event('I0'), reason: 'ProgressingWithRetry' });
    expect(gh.statuses.get(H)![0]).toEqual({ state: 'success', description: 'progressing with retry', context: CONTEXT });
  });

  it('reads the revision from commit, then originRevision, then revision; the sha is path-escaped', async () => {
    const gh = await fake();
    const p = providerObj('github', `${gh.url}/acme/webapp`);
    const other = 'a1afe267b54f38b46b487f6e938a6fd508278c07';
    await send(p, auth(gh), event('E', { originRevision: `sha1:${other}` }));
    await send(p, auth(gh), event('E', { commit: H.toUpperCase(), originRevision: `sha1:${other}` }));
    expect(gh.server.requests.filter((r) => r.method === 'POST').map((r) => r.url)).toEqual([
      `/api/v3/repos/acme/webapp/statuses/${other}`, `/api/v3/repos/acme/webapp/statuses/${H.toUpperCase()}`,
    ]);
  });

  it('refuses notifications it cannot express, without a request', async () => {
    const gh = await fake();
    const p = providerObj('github', `${gh.url}/acme/webapp`);
    const noRev = event('E');
    noRev.metadata = {};
    expect((await failure(p, auth(gh), noRev)).message).toBe('missing revision metadata');
    expect((await failure(p, auth(gh), event('E', { revision: 'master' }))).message).toBe("failed to extract commit hash from 'master' revision");
    expect(await failure(p, auth(gh), { ...event('E'), severity: 'trace' })).toMatchObject({ message: "can't convert to github state", retryable: false });
    expect((await failure(p, auth(gh), { ...notification(p, event('E')), commitStatusId: '' })).message).toBe('commit status cannot be empty');
    expect(gh.server.requests).toHaveLength(0);
  });

  it('a rejected token is final (reason auth) and the error carries no token', async () => {
    const gh = await fake();
    const p = providerObj('github', `${gh.url}/acme/webapp`);
    const secrets = auth(gh, { token: 'ghp_wrongtoken123' });
    const err = await failure(p, secrets, event('E'));
    expect(err).toMatchObject({ retryable: false, reason: 'auth' });
    expect(err.message).toBe(`could not list commit statuses: GET ${gh.url}/api/v3/repos/acme/webapp/commits/${H}/statuses?per_page=50: 401 Bad credentials []`);
    gh.failNext.push({ status: 403, body: JSON.stringify({ message: `Resource not accessible by integration, token ${TOKEN}` }) });
    const forbidden = await failure(p, auth(gh), event('E'));
    expect(forbidden).toMatchObject({ retryable: false, reason: 'auth' });
    expect(maskError(forbidden.message, resolveProviderSettings(p, lookup(auth(gh))))).not.toContain(TOKEN);
  });

  it('reports each failing call with go-github\'s text and Flux\'s retry class', async () => {
    const gh = await fake();
    const p = providerObj('github', `${gh.url}/acme/webapp`);
    gh.failNext.push({ status: 200, body: '' }, { status: 422, body: JSON.stringify({ message: 'Validation Failed', errors: [{ resource: 'Status', field: 'description', code: 'custom', message: 'too long' }] }) });
    const invalid = await failure(p, auth(gh), event('E'));
    expect(invalid).toMatchObject({ retryable: false, reason: 'client' });
    expect(invalid.message).toBe(`could not create commit status: POST ${gh.url}/api/v3/repos/acme/webapp/statuses/${H}: 422 Validation Failed [{Resource:Status Field:description Code:custom Message:too long}]`);

    gh.failNext.push({ status: 502, body: '<html>bad gateway</html>' });
    const bad = await failure(p, auth(gh), event('E'));
    expect(bad).toMatchObject({ retryable: true, reason: 'server' });
    expect(bad.message).toBe(`could not list commit statuses: GET ${gh.url}/api/v3/repos/acme/webapp/commits/${H}/statuses?per_page=50: 502 <html>bad gateway</html> []`);

    gh.failNext.push({ status: 403, headers: { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(Math.floor(Date.now() / 1000) + 30) }, body: '{"message":"API rate limit exceeded"}' });
    const limited = await failure(p, auth(gh), event('E'));
    expect(limited).toMatchObject({ retryable: true, reason: 'rate-limited' });
    expect(limited.retryAfterMs).toBeGreaterThan(20_000);

    gh.failNext.push({ status: 200, body: '{"message":"not a list"}' });
    expect((await failure(p, auth(gh), event('E'))).message).toBe('could not list commit statuses: json: cannot unmarshal object into Go value of type []*github.RepoStatus');
  });

  it('verifies the server with the Secret\'s ca.crt, and refuses another CA', async () => {
    const gh = await fake();
    const p = providerObj('github', `${gh.url}/acme/webapp`);
    const err = await failure(p, [secretObj('gh-auth', { token: TOKEN, 'ca.crt': gh.pki.otherCa })], event('E'));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('tls: failed to verify certificate');
    expect(gh.server.requests).toHaveLength(0);
  });

  it('uses password when there is no token', async () => {
    const gh = await fake();
    await send(providerObj('github', `${gh.url}/acme/webapp`), auth(gh, { username: 'git', password: TOKEN }), event('E'));
    expect(gh.server.requests.every((r) => r.headers['authorization'] === `Bearer ${TOKEN}`)).toBe(true);
    expect(gh.statuses.get(H)).toHaveLength(1);
  });
});

describe('configuration errors name the Provider, the Secret and the key', () => {
  const secret = (data: Record<string, string>) => [secretObj('gh-auth', data)];
  it.each(['github', 'githubdispatch', 'githubpullrequestcomment'] as const)('%s', (type) => {
    expect(configError(providerObj(type, 'https://github.com/acme/team/webapp'), secret({ token: TOKEN })))
      .toBe("provider apps/ops: invalid repository id: 'acme/team/webapp' (the address must be a repository URL such as https://github.com/<owner>/<repo>)");
    expect(configError(providerObj(type, 'https://github.com/acme/webapp', { secretRef: undefined }), []))
      .toContain("provider apps/ops: github token or github app details must be specified (no spec.secretRef; it needs a Secret with 'token'");
    expect(configError(providerObj(type, 'https://github.com/acme/webapp'), secret({ token: '' })))
      .toBe("provider apps/ops: secret apps/gh-auth: github token or github app details must be specified (the Secret has no non-empty 'token' and no 'githubAppID')");
    expect(configError(providerObj(type, 'acme/webapp'), secret({ token: TOKEN }))).toContain('which is not http(s)');
    expect(configError(providerObj(type, ''), secret({ token: TOKEN }))).toBe("provider apps/ops: no address: set spec.address (or the Secret's 'address') to the repository URL");
  });

  it('GitHub App keys are validated in Flux\'s order (TestNewGithubProvider)', () => {
    const p = providerObj('github', 'https://github.com/acme/webapp');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(configError(p, secret({ githubAppInstallationID: '456', githubAppPrivateKey: pem }))).toContain('github token or github app details must be specified');
    expect(configError(p, secret({ githubAppID: '0', githubAppInstallationID: '456', githubAppPrivateKey: pem })))
      .toBe("provider apps/ops: secret apps/gh-auth: app ID must be provided to use github app authentication ('githubAppID' must be the App's numeric ID)");
    expect(configError(p, secret({ githubAppID: '123', githubAppPrivateKey: pem }))).toContain('has \'githubAppID\' and \'githubAppPrivateKey\' but needs exactly one of');
    expect(configError(p, secret({ githubAppID: '123', githubAppInstallationID: 'x4', githubAppInstallationOwner: '' })))
      .toBe('provider apps/ops: secret apps/gh-auth: app installation owner or ID must be provided to use github app authentication (\'githubAppInstallationID\' "x4" is not a number)');
    expect(configError(p, secret({ githubAppID: '123', githubAppInstallationID: '456' })))
      .toBe("provider apps/ops: secret apps/gh-auth: private key must be provided to use github app authentication ('githubAppPrivateKey' is missing or empty)");
    const badKey = configError(p, secret({ githubAppID: '123', githubAppInstallationID: '456', githubAppPrivateKey: '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n' }));
    expect(badKey).toMatch(/^provider apps\/ops: secret apps\/gh-auth: could not parse private key: .*'githubAppPrivateKey' must be the App's RSA private key in PEM\)$/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(configError(p, secret({ githubAppID: '123', githubAppInstallationID: '456', githubAppPrivateKey: ec }))).toContain('could not parse private key: not an RSA key (ec)');
    // A token wins over App keys, PKCS#8 keys are accepted.
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(parseGitHubApp({ githubAppID: Buffer.from('123'), githubAppInstallationOwner: Buffer.from('acme'), githubAppPrivateKey: Buffer.from(pkcs8) }, 'x'))
      .toMatchObject({ appId: '123', installationOwner: 'acme', baseUrl: 'https://api.github.com/' });
  });

  it('githubAppPrivateKey is declared sensitive, and masked wherever it appears', () => {
    const def = providerDefinition('github')!;
    expect(def.secretKeys.find((k) => k.key === 'githubAppPrivateKey')?.sensitive).toBe(true);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const settings = resolveProviderSettings(providerObj('github', 'https://github.com/acme/webapp'), lookup([secretObj('gh-auth', { githubAppID: '1', githubAppInstallationID: '2', githubAppPrivateKey: pem })]));
    expect(maskError(`oops ${pem}`, settings)).not.toContain('PRIVATE KEY-----\n');
  });
});

describe('githubdispatch', () => {
  it('posts a repository_dispatch with the event as client_payload; Progressing is sent too', async () => {
    const gh = await fake();
    const p = providerObj('githubdispatch', `${gh.url}/acme/webapp`, { certSecretRef: { name: 'gh-ca' } });
    const s = [secretObj('gh-auth', { token: TOKEN }), secretObj('gh-ca', { 'ca.crt': gh.pki.ca })];
    await send(p, s, event('E', { note: '<a&b>' }));
    await send(p, s, { ...event('I0'), reason: 'Progressing' });
    expect(gh.violations).toEqual([]);
    const [first, second] = gh.server.requests;
    expect(`${first!.method} ${first!.url}`).toBe('POST /api/v3/repos/acme/webapp/dispatches');
    expect(first!.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/vnd.github.v3+json', 'user-agent': 'go-github/v64.0.0' });
    expect(first!.text).toBe(
      '{"event_type":"Kustomization/webapp.apps","client_payload":{"involvedObject":{"kind":"Kustomization","namespace":"apps","name":"webapp","uid":"4f3c2a1b-8d7e-4c6b-9a5f-0e1d2c3b4a59","apiVersion":"kustomize.toolkit.fluxcd.io/v1","resourceVersion":"184467"},"severity":"error","timestamp":"2025-06-01T10:15:30Z","message":"Health check failed after 2m","reason":"HealthCheckFailed","metadata":{"note":"\\u003ca\\u0026b\\u003e","revision":"main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567"},"reportingController":"kustomize-controller","reportingInstance":"kustomize-controller-6f8c9d7b5-q2w4x"}}\n',
    );
    expect(gh.dispatches[1]!.body).toMatchObject({ event_type: 'Kustomization/webapp.apps', client_payload: { reason: 'Progressing', severity: 'info' } });
    expect(second!.url).toBe('/api/v3/repos/acme/webapp/dispatches');
  });

  it('a failure carries Flux\'s prefix and go-github\'s text', async () => {
    const gh = await fake();
    gh.failNext.push({ status: 404, body: '{"message":"Not Found"}' });
    const err = await failure(providerObj('githubdispatch', `${gh.url}/acme/webapp`, { certSecretRef: { name: 'gh-ca' } }),
      [secretObj('gh-auth', { token: TOKEN }), secretObj('gh-ca', { 'ca.crt': gh.pki.ca })], event('E'));
    expect(err).toMatchObject({ retryable: false, reason: 'client' });
    expect(err.message).toBe(`could not send github repository dispatch webhook: POST ${gh.url}/api/v3/repos/acme/webapp/dispatches: 404 Not Found []`);
  });

  it('takes TLS only from certSecretRef, not from the Secret\'s ca.crt', async () => {
    const gh = await fake();
    const p = providerObj('githubdispatch', `${gh.url}/acme/webapp`);
    const err = await failure(p, auth(gh), event('E'));
    expect(err.message).toContain('tls: failed to verify certificate');
    await send(providerObj('githubdispatch', `${gh.url}/acme/webapp`, { certSecretRef: { name: 'gh-ca' } }), [secretObj('gh-auth', { token: TOKEN }), secretObj('gh-ca', { 'ca.crt': gh.pki.ca })], event('E'));
    expect(gh.dispatches).toHaveLength(1);
  });
});

describe('githubpullrequestcomment', () => {
  const cr = (variant: Variant) => event(variant, { change_request: '42' });
  const marker = `<!-- flux-pr-comment-key:${UID}/Kustomization/apps/webapp -->`;
  const withCa = (_gh: FakeGitHub) => ({ certSecretRef: { name: 'gh-ca' } });
  const secrets = (gh: FakeGitHub, data: Record<string, string> = { token: TOKEN }) => [secretObj('gh-auth', data), secretObj('gh-ca', { 'ca.crt': gh.pki.ca })];

  it('creates the comment among decoys, then edits it; others\' marked and unmarked comments stay', async () => {
    const gh = await fake({ tokens: { [TOKEN]: 'flux-bot', ghp_other: 'octocat' } });
    gh.comments.set(42, [
      { id: 1, body: `${marker}\n\ncopied by a human`, user: { login: 'octocat' } },
      { id: 2, body: 'LGTM', user: { login: 'flux-bot' } },
    ]);
    const p = providerObj('githubpullrequestcomment', `${gh.url}/acme/webapp`, withCa(gh));
    await send(p, secrets(gh), cr('E'));
    expect(gh.violations).toEqual([]);
    expect(gh.server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/v3/user',
      'GET /api/v3/repos/acme/webapp/issues/42/comments?direction=asc&per_page=100&sort=created',
      'POST /api/v3/repos/acme/webapp/issues/42/comments',
    ]);
    const post = gh.server.requests[2]!;
    expect(post.text).toBe(`{"body":"${marker}\\n\\n## Flux Status\\n\\n⚠️ Kustomization/apps/webapp\\n\\nHealth check failed after 2m\\n\\nMetadata:\\n* \`revision\`: main@sha1:${H}\\n"}\n`);
    const created = gh.comments.get(42)![2]!;
    expect(created.user.login).toBe('flux-bot');

    await send(p, secrets(gh), cr('I0'));
    expect(gh.server.requests.slice(3).map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/v3/user',
      'GET /api/v3/repos/acme/webapp/issues/42/comments?direction=asc&per_page=100&sort=created',
      `PATCH /api/v3/repos/acme/webapp/issues/comments/${created.id}`,
    ]);
    expect(gh.comments.get(42)!.map((c) => c.id)).toEqual([1, 2, created.id]);
    expect(gh.comments.get(42)![0]!.body).toBe(`${marker}\n\ncopied by a human`);
    expect(created.body).toBe(`${marker}\n\n## Flux Status\n\nℹ️ Kustomization/apps/webapp\n\nReconciliation finished in 4s, next run in 10m0s\n\nMetadata:\n* \`revision\`: main@sha1:${H}\n`);
    // Another Provider (other UID) keeps its own comment on the same pull request.
    await send(providerObj('githubpullrequestcomment', `${gh.url}/acme/webapp`, withCa(gh), 'ops2', 'ffffffff-0000'), secrets(gh), cr('E'));
    expect(gh.comments.get(42)).toHaveLength(4);
  });

  it('refuses a missing or bad change_request, and an empty Provider UID', async () => {
    const gh = await fake();
    const p = providerObj('githubpullrequestcomment', `${gh.url}/acme/webapp`, withCa(gh));
    expect((await failure(p, secrets(gh), event('E'))).message).toBe('missing "change_request" metadata key');
    expect((await failure(p, secrets(gh), event('E', { change_request: '4 2' }))).message)
      .toBe('invalid "change_request" metadata value "4 2": strconv.Atoi: parsing "4 2": invalid syntax');
    expect(gh.server.requests).toHaveLength(0);
    expect(configError(providerObj('githubpullrequestcomment', 'https://github.com/acme/webapp', {}, 'ops', ''), [secretObj('gh-auth', { token: TOKEN })]))
      .toBe('provider apps/ops: provider UID cannot be empty (it is part of the comment key)');
  });

  it('reports each failing call with Flux\'s prefix', async () => {
    const gh = await fake();
    const p = providerObj('githubpullrequestcomment', `${gh.url}/acme/webapp`, withCa(gh));
    const bad = await failure(p, secrets(gh, { token: 'ghp_nobody' }), cr('E'));
    expect(bad).toMatchObject({ retryable: false, reason: 'auth', message: `failed to get authenticated user info: GET ${gh.url}/api/v3/user: 401 Bad credentials []` });
    gh.failNext.push({ status: 200, body: '{"login":"flux-bot"}' }, { status: 500, body: '{"message":"boom"}' });
    expect(await failure(p, secrets(gh), cr('E'))).toMatchObject({ retryable: true, message: expect.stringMatching(/^failed to list pull request comments: GET .*: 500 boom \[\]$/) });
    gh.failNext.push({ status: 200, body: '{"login":"flux-bot"}' }, { status: 200, body: '[]' }, { status: 404, body: '{"message":"Not Found"}' });
    expect((await failure(p, secrets(gh), cr('E'))).message).toMatch(/^failed to create pull request comment: POST .*\/issues\/42\/comments: 404 Not Found \[\]$/);
    gh.comments.set(42, [{ id: 5, body: marker, user: { login: 'flux-bot' } }]);
    gh.failNext.push({ status: 200, body: '{"login":"flux-bot"}' }, { status: 200, body: JSON.stringify(gh.comments.get(42)) }, { status: 403, body: '{"message":"Forbidden"}' });
    expect(await failure(p, secrets(gh), cr('E'))).toMatchObject({ reason: 'auth', message: expect.stringMatching(/^failed to update pull request comment: PATCH .*\/issues\/comments\/5: 403 Forbidden \[\]$/) });
  });
});

describe('GitHub App authentication', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const app = { id: 123, slug: 'flux-app', publicKey, installations: { 456: { owner: 'acme', kind: 'orgs' as const }, 789: { owner: 'jdoe', kind: 'users' as const } }, tokenLifetimeMs: 3_600_000 };
  const appSecret = (gh: FakeGitHub, extra: Record<string, string> = { githubAppInstallationID: '456' }) =>
    [secretObj('gh-auth', { githubAppID: '123', githubAppPrivateKey: pem, githubAppBaseURL: `${gh.url}/api/v3`, 'ca.crt': gh.pki.ca, ...extra })];

  it('signs an RS256 JWT the fake verifies, exchanges it for an installation token and uses that token', async () => {
    const gh = await fake({ app });
    await send(providerObj('github', `${gh.url}/acme/webapp`), appSecret(gh), event('E'), freshRuntime());
    expect(gh.violations).toEqual([]);
    expect(gh.server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /api/v3/app/installations/456/access_tokens',
      `GET /api/v3/repos/acme/webapp/commits/${H}/statuses?per_page=50`,
      `POST /api/v3/repos/acme/webapp/statuses/${H}`,
    ]);
    const [exchange, list] = gh.server.requests;
    expect(exchange!.headers).toMatchObject({ accept: 'application/vnd.github.v3+json', 'x-github-api-version': '2022-11-28', 'content-type': 'application/json' });
    expect(exchange!.text).toBe('null\n');
    expect(list!.headers['authorization']).toBe(`Bearer ${gh.issued[0]!.token}`);
    expect(gh.statuses.get(H)).toHaveLength(1);
  });

  it('the JWT carries iss, iat 30 s back and exp 2 minutes after iat', () => {
    const jwt = appJwt({ appId: '123', privateKey }, 1_700_000_000_000);
    const [h, c] = jwt.split('.');
    expect(Buffer.from(h!, 'base64url').toString()).toBe('{"alg":"RS256","typ":"JWT"}');
    expect(Buffer.from(c!, 'base64url').toString()).toBe('{"iss":"123","exp":1700000090,"iat":1699999970}');
  });

  it('shares one installation token between Providers of the same App and installation, across notifications', async () => {
    const gh = await fake({ app });
    const rt = freshRuntime();
    await send(providerObj('github', `${gh.url}/acme/webapp`), appSecret(gh), event('E'), rt);
    await send(providerObj('github', `${gh.url}/acme/webapp`, {}, 'other', 'aaaa-bbbb'), appSecret(gh), event('I'), rt);
    await send(providerObj('githubdispatch', `${gh.url}/acme/webapp`, { certSecretRef: { name: 'gh-ca' } }, 'dispatch'), [...appSecret(gh), secretObj('gh-ca', { 'ca.crt': gh.pki.ca })], event('E'), rt);
    expect(gh.issued).toHaveLength(1);
    const token = gh.issued[0]!.token;
    expect(gh.server.requests.filter((r) => !r.url.includes('/app/')).every((r) => r.headers['authorization'] === `Bearer ${token}`)).toBe(true);
    // Another installation is another token.
    await send(providerObj('github', `${gh.url}/acme/webapp`), appSecret(gh, { githubAppInstallationID: '789' }), event('E'), rt);
    expect(gh.issued.map((i) => i.installation)).toEqual([456, 789]);
  });

  it('renews the token once 80 % of its lifetime has passed', async () => {
    const gh = await fake({ app: { ...app, tokenLifetimeMs: 2500 } });
    const rt = freshRuntime();
    const p = providerObj('github', `${gh.url}/acme/webapp`);
    await send(p, appSecret(gh), event('E'), rt);
    await send(p, appSecret(gh), event('I'), rt);
    expect(gh.issued).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 2600));
    await send(p, appSecret(gh), event('E'), rt);
    expect(gh.issued).toHaveLength(2);
    const last = gh.server.requests.at(-1)!;
    expect(last.headers['authorization']).toBe(`Bearer ${gh.issued[1]!.token}`);
    expect(gh.violations).toEqual([]);
  });

  it('concurrent notifications wait for one exchange', async () => {
    const gh = await fake({ app });
    const cache = new GitHubAppTokenCache();
    const parsed = parseGitHubApp(appSecret(gh)[0]!.data, 'x');
    const rt = freshRuntime();
    const transport = rt.http.transport({ tls: { ca: gh.pki.ca } });
    const tokens = await Promise.all([1, 2, 3].map(() => cache.token(parsed, { transport, signal: AbortSignal.timeout(5000), reflectSlug: false })));
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
    expect(cache.exchanges).toBe(1);
    transport.release();
  });

  it('keeps a token for 80 % of its lifetime, at most an hour (fluxcd/pkg cache rules)', async () => {
    for (const [lifetimeMs, stillCached, renewed] of [[10 * 60_000, 7 * 60_000, 8.1 * 60_000], [8 * 3_600_000, 59 * 60_000, 61 * 60_000]] as const) {
      const gh = await fake({ app: { ...app, tokenLifetimeMs: lifetimeMs } });
      let offset = 0;
      const cache = new GitHubAppTokenCache(() => Date.now() + offset);
      const parsed = parseGitHubApp(appSecret(gh)[0]!.data, 'x');
      const rt = freshRuntime();
      const req = { transport: rt.http.transport({ tls: { ca: gh.pki.ca } }), signal: AbortSignal.timeout(5000), reflectSlug: false };
      const first = await cache.token(parsed, req);
      offset = stillCached;
      expect(await cache.token(parsed, req)).toEqual(first);
      offset = renewed;
      const second = await cache.token(parsed, req);
      expect(second.token).not.toBe(first.token);
      expect([cache.exchanges, gh.issued.length]).toEqual([2, 2]);
      expect(gh.violations).toEqual([]);
      req.transport.release();
    }
  });

  it('finds the installation by owner: organization first, then user; both failing is one two-line error', async () => {
    const gh = await fake({ app });
    const rt = freshRuntime();
    await send(providerObj('github', `${gh.url}/acme/webapp`), appSecret(gh, { githubAppInstallationOwner: 'jdoe' }), event('E'), rt);
    expect(gh.server.requests.slice(0, 3).map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/v3/orgs/jdoe/installation', 'GET /api/v3/users/jdoe/installation', 'POST /api/v3/app/installations/789/access_tokens',
    ]);
    const err = await deliveryFailure(send(providerObj('github', `${gh.url}/acme/webapp`), appSecret(gh, { githubAppInstallationOwner: 'nobody' }), event('E'), rt));
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.message).toBe(
      `failed to find organization installation: GET ${gh.url}/api/v3/orgs/nobody/installation: 404 Not Found []\nfailed to find user installation: GET ${gh.url}/api/v3/users/nobody/installation: 404 Not Found []`,
    );
  });

  it('a key the App does not know is refused by GitHub: final, reason auth', async () => {
    const gh = await fake({ app });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const err = await deliveryFailure(send(providerObj('github', `${gh.url}/acme/webapp`), appSecret(gh, { githubAppInstallationID: '456', githubAppPrivateKey: other }), event('E'), freshRuntime()));
    expect(err).toMatchObject({ retryable: false, reason: 'auth', message: `POST ${gh.url}/api/v3/app/installations/456/access_tokens: 401 Bad credentials []` });
    expect(gh.violations).toEqual([`POST /api/v3/app/installations/456/access_tokens: JWT signature does not verify`]);
  });

  it('the installation token never appears in an error, even when GitHub echoes it', async () => {
    const gh = await fake({ app });
    const rt = freshRuntime();
    const p = providerObj('github', `${gh.url}/acme/webapp`);
    await send(p, appSecret(gh), event('E'), rt);
    const token = gh.issued[0]!.token;
    gh.failNext.push({ status: 400, body: JSON.stringify({ message: `bad request with Bearer ${token}` }) });
    const err = await deliveryFailure(send(p, appSecret(gh), event('E'), rt));
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.message).toContain('bad request with Bearer *****');
    expect(err.message).not.toContain(token);
  });

  it('githubpullrequestcomment recognises the App\'s bot comments (<slug>[bot] from GET /app) and edits them', async () => {
    const gh = await fake({ app });
    const marker = `<!-- flux-pr-comment-key:${UID}/Kustomization/apps/webapp -->`;
    gh.comments.set(42, [
      { id: 1, body: `${marker}\n\nold`, user: { login: 'flux-bot' } },
      { id: 2, body: `${marker}\n\nold`, user: { login: 'flux-app[bot]' } },
    ]);
    const rt = freshRuntime();
    const p = providerObj('githubpullrequestcomment', `${gh.url}/acme/webapp`, { certSecretRef: { name: 'gh-ca' } });
    const s = [...appSecret(gh), secretObj('gh-ca', { 'ca.crt': gh.pki.ca })];
    await send(p, s, event('E', { change_request: '42' }), rt);
    expect(gh.violations).toEqual([]);
    expect(gh.server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/v3/app',
      'POST /api/v3/app/installations/456/access_tokens',
      'GET /api/v3/repos/acme/webapp/issues/42/comments?direction=asc&per_page=100&sort=created',
      'PATCH /api/v3/repos/acme/webapp/issues/comments/2',
    ]);
    expect(gh.comments.get(42)![0]!.body).toBe(`${marker}\n\nold`);
    expect(gh.comments.get(42)![1]!.body).toContain('Health check failed after 2m');
    await send(p, s, event('I0', { change_request: '42' }), rt);
    expect(gh.issued).toHaveLength(1);
  });

  it('App token calls and API calls go through the Provider\'s proxy', async () => {
    const gh = await fake({ app });
    const basic = `Basic ${Buffer.from('px:pw').toString('base64')}`;
    const proxy = await startProxy(basic);
    try {
      const p = providerObj('github', `${gh.url}/acme/webapp`, { proxySecretRef: { name: 'gh-proxy' } });
      await send(p, [...appSecret(gh), secretObj('gh-proxy', { address: proxy.url, username: 'px', password: 'pw' })], event('E'), freshRuntime());
      expect(proxy.used.length).toBeGreaterThan(0);
      expect(proxy.used.every((u) => u.auth === basic)).toBe(true);
      expect(gh.statuses.get(H)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});
