// gitlab and gitlabmergerequestcomment against a local HTTPS fake of GitLab's REST API (CA made in the test).
import { describe, expect, it } from 'vitest';
import type { FluxEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import { maskError } from '../../../src/providers/masking.js';
import { ConfigError } from '../../../src/providers/types.js';
import { startFakeGitLab, trackHosts, type FakeHost } from '../../helpers/fake-git-hosts.js';
import { COMMIT, gitObjects, STATUS_ID, variantECR, variantI, variantI0CR } from '../../helpers/git-variants.js';
import {
  canonicalEvent, CANONICAL, deliverOnce, deliveryFailure, parseProvider, providerObject, secretObject, settingsFor, testRuntime,
} from '../../helpers/providers.js';

const TOKEN = 'glpat-example';
const PROJECT = 'acme%2Fplatform%2Fwebapp';
const runtime = testRuntime();
const track = trackHosts();

async function gitlab(opts: Partial<Parameters<typeof startFakeGitLab>[0]> = {}): Promise<FakeHost> {
  return track(await startFakeGitLab({ token: TOKEN, username: 'flux-bot', project: PROJECT, ...opts }));
}

function objects(type: 'gitlab' | 'gitlabmergerequestcomment', address: string, data: Record<string, string> | undefined, extra: Partial<ProviderSpec> = {}, uid?: string) {
  return gitObjects(type, address, 'gitlab-token', data, extra, uid);
}

/** A gitlab status through the pipeline's steps, trusting the fake's CA from the token Secret (commit-status.md §12.2). */
async function status(h: FakeHost, event: FluxEvent, opts: { id?: string; address?: string; data?: Record<string, string> } = {}) {
  const { provider, secrets } = objects('gitlab', opts.address ?? `${h.url}/acme/platform/webapp`, opts.data ?? { token: TOKEN, 'ca.crt': h.pki.ca });
  return deliverOnce(runtime, provider, secrets, event, { commitStatusId: opts.id ?? STATUS_ID });
}

const listPath = `/api/v4/projects/${PROJECT}/repository/commits/${COMMIT}/statuses?name=kustomization%2Fwebapp%2F0c9c2e41`;
const postPath = `/api/v4/projects/${PROJECT}/statuses/${COMMIT}`;

describe('gitlab', () => {
  it('lists by name, then posts; an unchanged status is not posted again; a new state is', async () => {
    const h = await gitlab();
    await status(h, canonicalEvent('error'));
    expect(h.calls()).toEqual([`GET ${listPath}`, `POST ${postPath}`]);
    expect(h.server.requests[1]!.text).toBe('{"state":"failed","name":"kustomization/webapp/0c9c2e41","description":"health check failed"}');
    expect(h.server.requests[1]!.headers['private-token']).toBe(TOKEN);

    await status(h, canonicalEvent('error'));
    expect(h.calls()).toHaveLength(3); // listed, found unchanged, not posted (GitLab would refuse the same-state transition)

    await status(h, variantI());
    expect(h.calls().slice(3)).toEqual([`GET ${listPath}`, `POST ${postPath}`]);
    expect(h.statuses.map((s) => [s['status'], s['description']])).toEqual([['failed', 'health check failed'], ['success', 'reconciliation succeeded']]);
  });

  it('posts a plain info event as success and sends nothing for Progressing, even without a revision', async () => {
    const h = await gitlab();
    const plain = canonicalEvent('info');
    plain.reason = 'ReconciliationSucceeded';
    await status(h, plain);
    expect(h.statuses.map((s) => s['status'])).toEqual(['success']);
    const progressing = canonicalEvent('info');
    progressing.reason = 'Progressing';
    progressing.metadata = {};
    await status(h, progressing);
    expect(h.calls()).toHaveLength(2);
  });

  it('escapes sub-groups and dots in the project path, and reads the API base from a self-hosted address', async () => {
    const h = await gitlab({ project: 'my%2Egroup%2Fsub%2Fweb%2Eapp' });
    await status(h, canonicalEvent('error'), { address: `${h.url}/my.group/sub/web.app.git` });
    expect(h.calls()[1]).toBe(`POST /api/v4/projects/my%2Egroup%2Fsub%2Fweb%2Eapp/statuses/${COMMIT}`);
  });

  it('uses the Secret password when there is no token', async () => {
    const h = await gitlab();
    await status(h, canonicalEvent('error'), { data: { username: 'flux', password: TOKEN, 'ca.crt': h.pki.ca } });
    expect(h.statuses).toHaveLength(1);
  });

  it('reports a 401 as final (reason auth), naming the Provider and Secret, without the token', async () => {
    const h = await gitlab();
    const { provider, secrets } = objects('gitlab', `${h.url}/acme/platform/webapp`, { token: 'glpat-wrong-token', 'ca.crt': h.pki.ca });
    const err = await deliveryFailure(deliverOnce(runtime, provider, secrets, canonicalEvent('error'), { commitStatusId: STATUS_ID }));
    expect([err.retryable, err.reason]).toEqual([false, 'auth']);
    expect(err.message).toBe(`unable to list commit status: GET ${h.url}/api/v4/projects/acme/platform/webapp/repository/commits/${COMMIT}/statuses: 401 401 Unauthorized (provider apps/ops: the server rejected the credentials from secret apps/gitlab-token)`);
    expect(err.message).not.toContain('glpat-wrong-token');
  });

  it('retries a 5xx and a 429 of either call, and reports the post failure unwrapped', async () => {
    const h = await gitlab();
    h.failNext.push({ status: 502, body: '{"message":"bad gateway"}' });
    const list = await deliveryFailure(status(h, canonicalEvent('error')));
    expect([list.retryable, list.reason]).toEqual([true, 'server']);
    expect(list.message).toMatch(/^unable to list commit status: GET .* 502 bad gateway$/);

    h.failNext.push({ status: 200, body: '[]' }, { status: 429, headers: { 'Retry-After': '3' }, body: '{"message":"Retry later"}' });
    const post = await deliveryFailure(status(h, canonicalEvent('error')));
    expect([post.retryable, post.retryAfterMs, post.message]).toEqual([true, 3000, `POST ${h.url}/api/v4/projects/acme/platform/webapp/statuses/${COMMIT}: 429 Retry later`]);
  });

  it('fails an event without a usable revision, severity or status id with Flux\'s texts, without a request', async () => {
    const h = await gitlab();
    const none = canonicalEvent('error');
    none.metadata = {};
    expect((await deliveryFailure(status(h, none))).message).toBe('missing revision metadata');
    const bad = canonicalEvent('error');
    bad.metadata = { revision: 'master' };
    expect((await deliveryFailure(status(h, bad))).message).toBe("failed to extract commit hash from 'master' revision");
    const trace = canonicalEvent('error');
    trace.severity = 'trace';
    expect((await deliveryFailure(status(h, trace))).message).toBe("can't convert to gitlab state");
    const empty = await deliveryFailure(status(h, canonicalEvent('error'), { id: '' }));
    expect([empty.message, empty.retryable, empty.reason]).toEqual(['commit status cannot be empty', false, 'invalid']);
    expect(h.calls()).toEqual([]);
  });

  it('refuses a Provider without a token, or with a token that cannot be a header, naming the Provider, Secret and key', () => {
    const parse = (data: Record<string, string> | undefined) => {
      const { provider, secrets } = objects('gitlab', 'https://gitlab.com/acme/webapp', data);
      return () => parseProvider(runtime, provider, secrets);
    };
    expect(parse({ address: 'https://gitlab.com/acme/webapp' })).toThrow(new ConfigError("provider apps/ops: gitlab token cannot be empty: secret apps/gitlab-token has no 'token' (or 'username' and 'password')"));
    expect(parse(undefined)).toThrow(/^provider apps\/ops: gitlab token cannot be empty: spec.secretRef is not set/);
    expect(parse({ token: 'glpat-x\n' })).toThrow(/secret apps\/gitlab-token key 'token' contains a line break/);
    const { provider } = objects('gitlab', '/srv/git/acme/webapp', { token: TOKEN });
    expect(() => parseProvider(runtime, provider, [secretObject('gitlab-token', { token: TOKEN })])).toThrow(/gives the GitLab API host "file:\/\/"/);
  });

  it('does not trust the server without the CA (certSecretRef or the token Secret)', async () => {
    const h = await gitlab();
    const err = await deliveryFailure(status(h, canonicalEvent('error'), { data: { token: TOKEN } }));
    expect([err.retryable, err.message.includes('tls: failed to verify certificate')]).toEqual([false, true]);
  });
});

describe('gitlabmergerequestcomment', () => {
  async function comment(h: FakeHost, event: FluxEvent, opts: { data?: Record<string, string>; uid?: string } = {}) {
    const { provider, secrets } = objects('gitlabmergerequestcomment', `${h.url}/acme/platform/webapp`, opts.data ?? { token: TOKEN }, {
      certSecretRef: { name: 'gitlab-ca' },
    }, opts.uid);
    return deliverOnce(runtime, provider, [...secrets, secretObject('gitlab-ca', { 'ca.crt': h.pki.ca })], event);
  }
  const marker = `<!-- flux-mr-comment-key:${CANONICAL.provider.uid}/Kustomization/apps/webapp -->`;

  it('creates the note, then edits the token user\'s marked note among decoys', async () => {
    const h = await gitlab();
    h.comments.set(42, [
      { id: 101, author: 'someone-else', body: `${marker}\n\ncopied by a human` },
      { id: 102, author: 'flux-bot', body: 'an unmarked note by the bot' },
    ]);
    await comment(h, variantECR());
    const notes = `/api/v4/projects/${PROJECT}/merge_requests/42/notes`;
    expect(h.calls()).toEqual(['GET /api/v4/user', `GET ${notes}?order_by=created_at&per_page=100&sort=asc`, `POST ${notes}`]);
    expect(h.server.requests[2]!.text.startsWith(`{"body":"\\u003c!-- flux-mr-comment-key:${CANONICAL.provider.uid}/Kustomization/apps/webapp --\\u003e\\n\\n## Flux Status\\n\\n⚠️ Kustomization/apps/webapp`)).toBe(true);
    const created = h.comments.get(42)![2]!;
    expect(created.body).not.toContain('change_request');

    await comment(h, variantI0CR());
    expect(h.calls().slice(3)).toEqual(['GET /api/v4/user', `GET ${notes}?order_by=created_at&per_page=100&sort=asc`, `PUT ${notes}/${created.id}`]);
    expect(h.comments.get(42)!.map((c) => c.id)).toEqual([101, 102, created.id]);
    expect(created.body).toContain('ℹ️ Kustomization/apps/webapp\n\nReconciliation finished in 4s, next run in 10m0s');
    expect(h.comments.get(42)![0]!.body).toBe(`${marker}\n\ncopied by a human`);
  });

  it('keeps one note per Provider: another Provider UID creates its own', async () => {
    const h = await gitlab();
    await comment(h, variantECR());
    await comment(h, variantECR(), { uid: '11111111-2222-3333-4444-555555555555' });
    expect(h.comments.get(42)!.map((c) => c.body.split('\n')[0])).toEqual([
      `<!-- flux-mr-comment-key:${CANONICAL.provider.uid}/Kustomization/apps/webapp -->`,
      '<!-- flux-mr-comment-key:11111111-2222-3333-4444-555555555555/Kustomization/apps/webapp -->',
    ]);
  });

  it('fails with Flux\'s texts: no change_request, a bad one, the user look-up, the list', async () => {
    const h = await gitlab();
    expect((await deliveryFailure(comment(h, canonicalEvent('error')))).message).toBe('missing "change_request" metadata key');
    expect((await deliveryFailure(comment(h, variantECR('4x2')))).message)
      .toBe('invalid "change_request" metadata value "4x2": strconv.ParseInt: parsing "4x2": invalid syntax');
    h.failNext.push({ status: 503, body: '{"message":"maintenance"}' });
    const user = await deliveryFailure(comment(h, variantECR()));
    expect([user.retryable, user.message]).toEqual([true, `failed to get authenticated user info: GET ${h.url}/api/v4/user: 503 maintenance`]);
    h.failNext.push({ status: 200, body: '{"id":7,"username":"flux-bot"}' }, { status: 404, body: '{"message":"404 Not found"}' });
    const list = await deliveryFailure(comment(h, variantECR()));
    expect([list.retryable, list.reason, list.message]).toEqual([false, 'client', 'failed to list merge request notes: 404 Not Found']);
  });

  it('reports a 403 on the note as final (reason auth) without the token', async () => {
    const h = await gitlab();
    h.failNext.push({ status: 200, body: '{"id":7,"username":"flux-bot"}' }, { status: 200, body: '[]' }, { status: 403, body: '{"message":"403 Forbidden"}' });
    const err = await deliveryFailure(comment(h, variantECR()));
    expect([err.retryable, err.reason]).toEqual([false, 'auth']);
    expect(err.message).toMatch(/^failed to create merge request note: POST .*: 403 403 Forbidden \(provider apps\/ops: the credentials from secret apps\/gitlab-token lack/);
    expect(maskError(err.message, settingsFor(providerObject('gitlabmergerequestcomment', {}), []))).not.toContain(TOKEN);
  });

  it('takes TLS only from certSecretRef, not from the token Secret', async () => {
    const h = await gitlab();
    const { provider, secrets } = objects('gitlabmergerequestcomment', `${h.url}/acme/platform/webapp`, { token: TOKEN, 'ca.crt': h.pki.ca });
    const err = await deliveryFailure(deliverOnce(runtime, provider, secrets, variantECR()));
    expect(err.message).toContain('tls: failed to verify certificate');
  });

  it('refuses a Provider without a UID or token', () => {
    const { provider, secrets } = objects('gitlabmergerequestcomment', 'https://gitlab.com/acme/webapp', { token: TOKEN }, {}, '');
    expect(() => parseProvider(runtime, provider, secrets)).toThrow(new ConfigError('provider apps/ops: provider UID cannot be empty'));
    const none = objects('gitlabmergerequestcomment', 'https://gitlab.com/acme/webapp', { token: '' });
    expect(() => parseProvider(runtime, none.provider, none.secrets)).toThrow(/gitlab token cannot be empty/);
  });
});
