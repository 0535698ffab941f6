// azuredevops against a local HTTPS fake of the Azure DevOps Git statuses API (CA made in the test).
import { describe, expect, it } from 'vitest';
import type { FluxEvent } from '../../../src/api/event.js';
import { azureDevOpsDuplicate } from '../../../src/providers/git/azuredevops.js';
import { startFakeAzureDevOps, trackHosts, type FakeHost } from '../../helpers/fake-git-hosts.js';
import { COMMIT, gitObjects, STATUS_ID, variantI } from '../../helpers/git-variants.js';
import { ProviderRuntime } from '../../../src/providers/runtime.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { ENTRA_CLIENT_ID, entraAuthority, entraToken, FEDERATED_TOKEN } from '../../helpers/entra.js';
import { canonicalEvent, deliverOnce, deliveryFailure, parseProvider, testRuntime } from '../../helpers/providers.js';

const PAT = 'azdo-pat';
const runtime = testRuntime();
const track = trackHosts();

async function azure(project = 'platform'): Promise<FakeHost> {
  return track(await startFakeAzureDevOps({ pat: PAT, org: 'acme', project, repo: 'webapp' }));
}

function objects(address: string, data: Record<string, string> | undefined) {
  return gitObjects('azuredevops', address, 'azdo', data);
}

async function status(h: FakeHost, event: FluxEvent, opts: { id?: string; pat?: string; address?: string } = {}) {
  const { provider, secrets } = objects(opts.address ?? `${h.url}/Acme/platform/_git/webapp`, { token: opts.pat ?? PAT, 'ca.crt': h.pki.ca });
  return deliverOnce(runtime, provider, secrets, event, { commitStatusId: opts.id ?? STATUS_ID });
}

const path = `/acme/platform/_apis/git/repositories/webapp/commits/${COMMIT}/statuses`;

describe('azuredevops', () => {
  it('lists, then posts with genre fluxcd:<summary>; an unchanged status is not posted again', async () => {
    const h = await azure();
    await status(h, canonicalEvent('error'));
    expect(h.calls()).toEqual([`GET ${path}`, `POST ${path}`]);
    expect(h.server.requests[1]!.headers['authorization']).toBe('Basic OmF6ZG8tcGF0');
    expect(h.server.requests[1]!.text).toBe('{"context":{"genre":"fluxcd:Production cluster","name":"kustomization/webapp/0c9c2e41"},"description":"health check failed","state":"error"}');
    await status(h, canonicalEvent('error'));
    expect(h.calls()).toHaveLength(3);
    await status(h, variantI());
    expect(h.statuses.map((s) => s['state'])).toEqual(['error', 'succeeded']);
  });

  it('uses genre fluxcd without a summary: a status under another genre is not a duplicate', async () => {
    const h = await azure();
    await status(h, canonicalEvent('error'));
    const bare = canonicalEvent('error');
    bare.metadata = { revision: bare.metadata['revision']! };
    await status(h, bare);
    expect(h.statuses.map((s) => (s['context'] as { genre: string }).genre)).toEqual(['fluxcd:Production cluster', 'fluxcd']);
  });

  it('posts a plain info event and sends nothing for Progressing', async () => {
    const h = await azure();
    const progressing = canonicalEvent('error');
    progressing.reason = 'Progressing';
    await status(h, progressing);
    expect(h.calls()).toEqual([]);
    const plain = canonicalEvent('info');
    plain.reason = 'ReconciliationSucceeded';
    await status(h, plain);
    expect(h.statuses.map((s) => s['state'])).toEqual(['succeeded']);
  });

  it('escapes a project with a space', async () => {
    const h = await azure('My%20Project');
    await status(h, canonicalEvent('error'), { address: `${h.url}/acme/My%20Project/_git/webapp` });
    expect(h.statuses).toHaveLength(1);
  });

  it('reports a refused PAT as final (reason auth), and the SDK texts of other failures', async () => {
    const h = await azure();
    const auth = await deliveryFailure(status(h, canonicalEvent('error'), { pat: 'wrong-pat' }));
    expect([auth.retryable, auth.reason, auth.message]).toEqual([
      false, 'auth', "could not list commit statuses: invalid character '<' looking for beginning of value (status 401) (provider apps/ops: the server rejected the credentials from secret apps/azdo)",
    ]);
    h.failNext.push({ status: 200, body: '{"count":0,"value":[]}' }, { status: 400, body: '{"$id":"1","message":"TF400813: bad status"}' });
    const post = await deliveryFailure(status(h, canonicalEvent('error')));
    expect([post.retryable, post.message]).toEqual([false, 'could not create commit status: TF400813: bad status']);
    h.failNext.push({ status: 503, body: '' });
    const list = await deliveryFailure(status(h, canonicalEvent('error')));
    expect([list.retryable, list.message]).toEqual([true, 'could not list commit statuses: Request returned status: 503 Service Unavailable']);
    const trace = canonicalEvent('error');
    trace.severity = 'trace';
    expect((await deliveryFailure(status(h, trace))).message).toBe("can't convert to azure devops state");
  });

  it('refuses bad addresses', () => {
    const parse = (address: string, data: Record<string, string> | undefined) => () => {
      const { provider, secrets } = objects(address, data);
      return parseProvider(runtime, provider, secrets);
    };
    expect(parse('https://dev.azure.com/foo/bar/baz', { token: PAT })).toThrow(/invalid repository id "foo\/bar\/baz"/);
    expect(parse('https://tfs.example.com/tfs/DefaultCollection/platform/_git/webapp', { token: PAT })).toThrow(/invalid repository id/);
  });

  it("follows Flux's duplicate table (TestDuplicateAzureDevOpsStatus)", () => {
    const s = (state: string, name: string, description: string) => ({ state, description, context: { name, genre: 'fluxcd' } });
    const n = (state: string, name: string, description: string) => ({ state, name, description, genre: 'fluxcd' });
    expect(azureDevOpsDuplicate([s('succeeded', 'foo', 'bar')], n('succeeded', 'foo', 'bar'))).toBe(true);
    expect(azureDevOpsDuplicate([s('succeeded', 'foo', 'bar')], n('failed', 'foo', 'bar'))).toBe(false);
    expect(azureDevOpsDuplicate([s('succeeded', 'foo', 'bar')], n('succeeded', 'baz', 'bar'))).toBe(false);
    expect(azureDevOpsDuplicate([s('succeeded', 'foo', 'bar')], n('succeeded', 'foo', 'baz'))).toBe(false);
    expect(azureDevOpsDuplicate([s('succeeded', 'baz', 'bar'), s('succeeded', 'foo', 'bar')], n('succeeded', 'foo', 'bar'))).toBe(true);
  });
});

describe('azuredevops: workload identity (no token)', () => {
  const entra = entraAuthority(closeAfterEach());
  const ACCESS = 'entra-access-token-for-azure-devops';

  /** A Provider without a token (its Secret holds only the fake's CA), sent with its own runtime `rt`. */
  async function wiStatus(rt: ProviderRuntime, h: FakeHost, event: FluxEvent) {
    const { provider, secrets } = objects(`${h.url}/acme/platform/_git/webapp`, { 'ca.crt': h.pki.ca });
    return deliverOnce(rt, provider, secrets, event, { commitStatusId: STATUS_ID, timeoutMs: 8000 });
  }

  it("sends the controller identity's Azure DevOps token as the PAT would be, requested once and cached", async () => {
    const srv = await entra(() => entraToken(ACCESS));
    const h = track(await startFakeAzureDevOps({ pat: ACCESS, org: 'acme', project: 'platform', repo: 'webapp' }));
    const rt = new ProviderRuntime();
    try {
      await wiStatus(rt, h, canonicalEvent('error'));
      await wiStatus(rt, h, variantI());
    } finally {
      await rt.close();
    }
    expect(h.violations).toEqual([]);
    expect(h.statuses.map((s) => s['state'])).toEqual(['error', 'succeeded']);
    // Spec §4: Basic with an empty user name and the access token as password, on every call.
    const basic = `Basic ${Buffer.from(`:${ACCESS}`).toString('base64')}`;
    expect(h.server.requests.map((r) => r.headers['authorization'])).toEqual([basic, basic, basic, basic]);
    const tokens = srv.tokenRequests();
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.url).toMatch(/^\/tenant-0123\/oauth2\/v2\.0\/token/);
    expect(tokens[0]!.form.get('scope')).toContain('499b84ac-1321-427f-aa17-267ca6975798/.default');
    expect(tokens[0]!.form.get('client_id')).toBe(ENTRA_CLIENT_ID);
    expect(tokens[0]!.form.get('client_assertion')).toBe(FEDERATED_TOKEN);
  });

  it('requests a new token once the cached one is about to expire, and uses it', async () => {
    let n = 0;
    // Two minutes is inside the library's five-minute renewal margin: the token is renewed on the next send.
    const srv = await entra(() => entraToken(n++ === 0 ? ACCESS : `${ACCESS}-renewed`, 120));
    const h = track(await startFakeAzureDevOps({ pat: ACCESS, org: 'acme', project: 'platform', repo: 'webapp' }));
    const renewed = track(await startFakeAzureDevOps({ pat: `${ACCESS}-renewed`, org: 'acme', project: 'platform', repo: 'webapp' }));
    const rt = new ProviderRuntime();
    try {
      await wiStatus(rt, h, canonicalEvent('error'));
      await wiStatus(rt, renewed, canonicalEvent('error'));
    } finally {
      await rt.close();
    }
    expect(srv.tokenRequests()).toHaveLength(2);
    expect(h.statuses).toHaveLength(1);
    expect(renewed.statuses).toHaveLength(1);
  });

  it("reports a token the identity cannot get as Flux does (retryable, reason auth), before any call, the token never shown", async () => {
    await entra(() => ({ status: 400, body: JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS700016: Application not found in the directory.' }) }));
    const h = await azure();
    const rt = new ProviderRuntime();
    try {
      const err = await deliveryFailure(wiStatus(rt, h, canonicalEvent('error')));
      expect(err.message).toMatch(/^failed to acquire azure devops token: failed to get token: .*AADSTS700016/s);
      expect([err.retryable, err.reason]).toEqual([true, 'auth']);
      expect(err.message).not.toContain(FEDERATED_TOKEN);
    } finally {
      await rt.close();
    }
    expect(h.server.requests).toHaveLength(0);
  });

  it('reports an access token Azure DevOps refuses as final (reason auth)', async () => {
    await entra(() => entraToken(ACCESS));
    const h = track(await startFakeAzureDevOps({ pat: 'another-token', org: 'acme', project: 'platform', repo: 'webapp' }));
    const rt = new ProviderRuntime();
    try {
      const err = await deliveryFailure(wiStatus(rt, h, canonicalEvent('error')));
      expect([err.retryable, err.reason]).toEqual([false, 'auth']);
      expect(err.message).toMatch(/^could not list commit statuses: /);
    } finally {
      await rt.close();
    }
  });
});
