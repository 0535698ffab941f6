// gitea and giteapullrequestcomment against a local HTTPS fake of Gitea's REST API (CA made in the test).
import { describe, expect, it } from 'vitest';
import type { FluxEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startFakeGitea, trackHosts, type FakeHost } from '../../helpers/fake-git-hosts.js';
import { COMMIT, gitObjects, STATUS_ID, variantECR, variantI, variantI0CR } from '../../helpers/git-variants.js';
import { startProxy } from '../../helpers/proxy.js';
import { canonicalEvent, CANONICAL, deliverOnce, deliveryFailure, parseProvider, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';

const TOKEN = 'gitea-example';
const runtime = testRuntime();
const track = trackHosts();
const closeLater = closeAfterEach();

async function gitea(opts: Partial<Parameters<typeof startFakeGitea>[0]> = {}): Promise<FakeHost> {
  return track(await startFakeGitea({ token: TOKEN, login: 'flux-bot', owner: 'acme', repo: 'webapp', ...opts }));
}

function objects(type: 'gitea' | 'giteapullrequestcomment', address: string, data: Record<string, string> | undefined, extra: Partial<ProviderSpec> = {}, uid?: string) {
  return gitObjects(type, address, 'gitea-token', data, extra, uid);
}

async function status(h: FakeHost, event: FluxEvent, opts: { id?: string; data?: Record<string, string>; extra?: Partial<ProviderSpec>; more?: ReturnType<typeof secretObject>[] } = {}) {
  const { provider, secrets } = objects('gitea', `${h.url}/acme/webapp.git`, opts.data ?? { token: TOKEN, 'ca.crt': h.pki.ca }, opts.extra);
  return deliverOnce(runtime, provider, [...secrets, ...(opts.more ?? [])], event, { commitStatusId: opts.id ?? STATUS_ID });
}

const listPath = `/api/v1/repos/acme/webapp/commits/${COMMIT}/statuses?limit=50&page=1`;
const postPath = `/api/v1/repos/acme/webapp/statuses/${COMMIT}`;

describe('gitea', () => {
  it('probes the version, lists, then posts; an unchanged status is not posted again', async () => {
    const h = await gitea();
    await status(h, canonicalEvent('error'));
    expect(h.calls()).toEqual(['GET /api/v1/version', `GET ${listPath}`, `POST ${postPath}`]);
    expect(h.server.requests.every((r) => r.headers['authorization'] === `token ${TOKEN}` && r.headers['content-type'] === 'application/json')).toBe(true);
    expect(h.server.requests[2]!.text).toBe('{"state":"failure","target_url":"","description":"health check failed","context":"kustomization/webapp/0c9c2e41"}');

    await status(h, canonicalEvent('error'));
    expect(h.calls().slice(3)).toEqual(['GET /api/v1/version', `GET ${listPath}`]);
    await status(h, variantI());
    expect(h.statuses.map((s) => s['status'])).toEqual(['failure', 'success']);
  });

  it('posts Progressing as pending, and a plain info event as success', async () => {
    const h = await gitea();
    const progressing = canonicalEvent('error');
    progressing.reason = 'Progressing';
    await status(h, progressing);
    const plain = canonicalEvent('info');
    plain.reason = 'ReconciliationSucceeded';
    await status(h, plain);
    expect(h.statuses.map((s) => [s['status'], s['description']])).toEqual([['pending', 'progressing'], ['success', 'reconciliation succeeded']]);
  });

  it('reads duplicates from `status`: the first complete entry with the context decides', async () => {
    const h = await gitea();
    h.statuses.push(
      { sha: COMMIT, status: 'failure', description: 'health check failed', context: STATUS_ID },
      { sha: COMMIT, status: 'success', description: 'older', context: STATUS_ID },
      { sha: COMMIT, status: 'failure', description: '', context: STATUS_ID },
    );
    // listed newest first: the incomplete entry is skipped, `older` decides and differs.
    await status(h, canonicalEvent('error'));
    expect(h.calls()).toHaveLength(3);
  });

  it('refuses a server older than 1.11.0 and reports a 401 as final without the token', async () => {
    const old = await gitea({ version: '1.10.6' });
    const err = await deliveryFailure(status(old, canonicalEvent('error')));
    expect(err.message).toMatch(/^failed creating Gitea client: the server at .* reports version "1.10.6"; Gitea 1.11.0 or later is required$/);
    const h = await gitea();
    const auth = await deliveryFailure(status(h, canonicalEvent('error'), { data: { token: 'gitea-wrong', 'ca.crt': h.pki.ca } }));
    expect([auth.retryable, auth.reason]).toEqual([false, 'auth']);
    expect(auth.message).toBe('failed creating Gitea client: token is required (provider apps/ops: the server rejected the credentials from secret apps/gitea-token)');
  });

  it('reports list and post failures with the SDK texts', async () => {
    const h = await gitea();
    h.failNext.push({ status: 200, body: '{"version":"1.21.4"}' }, { status: 500, body: '{"message":"database is locked"}' });
    const list = await deliveryFailure(status(h, canonicalEvent('error')));
    expect([list.retryable, list.message]).toEqual([true, 'could not list commit statuses: database is locked']);
    h.failNext.push({ status: 200, body: '{"version":"1.21.4"}' }, { status: 200, body: '[]' }, { status: 422, body: '{"message":"bad"}' });
    const post = await deliveryFailure(status(h, canonicalEvent('error')));
    expect([post.retryable, post.message]).toEqual([false, '422 Unprocessable Entity: {"message":"bad"}']);
    const trace = canonicalEvent('error');
    trace.severity = 'trace';
    expect((await deliveryFailure(status(h, trace))).message).toBe("can't convert to gitea state");
    expect((await deliveryFailure(status(h, canonicalEvent('error'), { id: '' }))).message).toBe('commit status cannot be empty');
  });

  it('goes through the Provider proxy', async () => {
    const h = await gitea();
    const proxy = closeLater(await startProxy());
    await status(h, canonicalEvent('error'), { extra: { proxy: proxy.url } });
    expect(proxy.used.length).toBeGreaterThan(0);
    expect(h.statuses).toHaveLength(1);
  });

  it('refuses bad addresses and missing tokens with ConfigErrors naming the Provider and Secret', () => {
    const parse = (address: string, data: Record<string, string> | undefined) => () => {
      const { provider, secrets } = objects('gitea', address, data);
      return parseProvider(runtime, provider, secrets);
    };
    expect(parse('https://example.com/gitea/acme/webapp', { token: TOKEN })).toThrow(
      new ConfigError('provider apps/ops: invalid repository id "gitea/acme/webapp" (address "https://example.com/gitea/acme/webapp" must name <owner>/<repo>)'),
    );
    expect(parse('https://gitea.example.com/acme/webapp', { address: 'https://gitea.example.com/acme/webapp' })).toThrow(
      /^provider apps\/ops: gitea token cannot be empty: secret apps\/gitea-token has no 'token'/,
    );
  });
});

describe('giteapullrequestcomment', () => {
  const marker = `<!-- flux-pr-comment-key:${CANONICAL.provider.uid}/Kustomization/apps/webapp -->`;
  async function comment(h: FakeHost, event: FluxEvent, opts: { uid?: string } = {}) {
    const { provider, secrets } = objects('giteapullrequestcomment', `${h.url}/acme/webapp`, { token: TOKEN }, { certSecretRef: { name: 'gitea-ca' } }, opts.uid);
    return deliverOnce(runtime, provider, [...secrets, secretObject('gitea-ca', { 'ca.crt': h.pki.ca })], event);
  }

  it('creates the comment, then edits the token user\'s marked comment among decoys', async () => {
    const h = await gitea();
    h.comments.set(42, [
      { id: 301, author: 'reviewer', body: `quoting: ${marker}` },
      { id: 302, author: '', body: `${marker} from a deleted user` },
      { id: 303, author: 'flux-bot', body: 'LGTM (unmarked)' },
    ]);
    await comment(h, variantECR());
    const issues = '/api/v1/repos/acme/webapp/issues';
    expect(h.calls()).toEqual(['GET /api/v1/version', 'GET /api/v1/user', `GET ${issues}/42/comments?limit=100&page=1`, `POST ${issues}/42/comments`]);
    const created = h.comments.get(42)![3]!;
    expect(created.body.startsWith(`${marker}\n\n## Flux Status\n\n⚠️ Kustomization/apps/webapp`)).toBe(true);
    expect(h.server.requests[3]!.text.startsWith('{"body":"\\u003c!-- flux-pr-comment-key:')).toBe(true);

    await comment(h, variantI0CR());
    expect(h.calls().slice(4)).toEqual(['GET /api/v1/version', 'GET /api/v1/user', `GET ${issues}/42/comments?limit=100&page=1`, `PATCH ${issues}/comments/${created.id}`]);
    expect(created.body).toContain('ℹ️ Kustomization/apps/webapp');
    expect(h.comments.get(42)!.slice(0, 3).map((c) => c.body)).toEqual([`quoting: ${marker}`, `${marker} from a deleted user`, 'LGTM (unmarked)']);
  });

  it('fails with Flux\'s texts and classifications', async () => {
    const h = await gitea();
    expect((await deliveryFailure(comment(h, variantECR('')))).message)
      .toBe('invalid "change_request" metadata value "": strconv.Atoi: parsing "": invalid syntax');
    h.failNext.push({ status: 200, body: '{"version":"1.21.4"}' }, { status: 403, body: '{"message":"token does not have at least one of required scope(s): [read:user]"}' });
    const user = await deliveryFailure(comment(h, variantECR()));
    expect([user.reason, user.retryable]).toEqual(['auth', false]);
    expect(user.message).toMatch(/^failed to get authenticated user info: 403 Forbidden \(provider apps\/ops: the credentials from secret apps\/gitea-token lack/);
    h.failNext.push({ status: 200, body: '{"version":"1.21.4"}' }, { status: 200, body: '{"login":"flux-bot"}' }, { status: 200, body: '[]' }, { status: 503, body: 'down' });
    const create = await deliveryFailure(comment(h, variantECR()));
    expect([create.retryable, create.message]).toEqual([true, 'failed to create pull request comment: Unknown API Error: 503 down']);
  });

  it('refuses a Provider without a UID', () => {
    const { provider, secrets } = objects('giteapullrequestcomment', 'https://gitea.example.com/acme/webapp', { token: TOKEN }, {}, '');
    expect(() => parseProvider(runtime, provider, secrets)).toThrow(new ConfigError('provider apps/ops: provider UID cannot be empty'));
  });
});
