// The git hosting types' address tables and upstream constructor vectors (gitlab.md §3/§10, gitea.md §3/§11,
// bitbucket.md §3/§11, azuredevops.md §3/§12), read through each type's parse.
import { afterAll, describe, expect, it } from 'vitest';
import type { ProviderType } from '../../../src/api/provider.js';
import type { AzureDevOpsConfig } from '../../../src/providers/git/azuredevops.js';
import { azureDevOpsGenre, azureDevOpsStatusBody } from '../../../src/providers/git/azuredevops.js';
import type { BitbucketConfig } from '../../../src/providers/git/bitbucket.js';
import type { GiteaClient } from '../../../src/providers/git/gitea-client.js';
import { giteaState } from '../../../src/providers/git/gitea.js';
import type { GitLabClient } from '../../../src/providers/git/gitlab-client.js';
import { ConfigError } from '../../../src/providers/types.js';
import { gitObjects } from '../../helpers/git-variants.js';
import { canonicalEvent, parseProvider, testRuntime } from '../../helpers/providers.js';

const runtime = testRuntime();
const saved = process.env['BITBUCKET_API_BASE_URL'];
afterAll(() => {
  if (saved === undefined) delete process.env['BITBUCKET_API_BASE_URL'];
  else process.env['BITBUCKET_API_BASE_URL'] = saved;
});

function parse<C>(type: ProviderType, address: string, token = 'foobar'): C {
  const { provider, secrets } = gitObjects(type, address, 'git-token', { token });
  const { config } = parseProvider(runtime, provider, secrets);
  (config as { transport: { release(): void } }).transport.release();
  return config as C;
}

describe('gitlab target (gitlab.md §3)', () => {
  it.each([
    ['https://gitlab.com/acme/platform/webapp', 'https://gitlab.com/api/v4/', 'acme%2Fplatform%2Fwebapp'],
    ['https://gitlab.com/foo/bar', 'https://gitlab.com/api/v4/', 'foo%2Fbar'],
    ['git@gitlab.example.com:acme/webapp.git', 'https://gitlab.example.com/api/v4/', 'acme%2Fwebapp'],
    ['https://gitlab.com/1234', 'https://gitlab.com/api/v4/', '1234'],
    ['https://gitlab.example.com/my.group/web.app', 'https://gitlab.example.com/api/v4/', 'my%2Egroup%2Fweb%2Eapp'],
    ['http://gitlab.local:8080/acme/webapp', 'http://gitlab.local:8080/api/v4/', 'acme%2Fwebapp'],
    ['https://example.com/gitlab/acme/webapp', 'https://example.com/api/v4/', 'gitlab%2Facme%2Fwebapp'],
    ['https://example.com/foo/bar/baz', 'https://example.com/api/v4/', 'foo%2Fbar%2Fbaz'],
  ])('%s', (address, base, project) => {
    const c = parse<GitLabClient>('gitlab', address, 'foo:bar');
    expect([c.base, c.project, c.headers['PRIVATE-TOKEN']]).toEqual([base, project, 'foo:bar']);
  });
});

describe('gitea target (gitea.md §3)', () => {
  it.each([
    ['https://gitea.example.com/acme/webapp', 'acme', 'webapp', 'https://gitea.example.com/api/v1'],
    ['http://gitea.local:3000/acme/webapp.git', 'acme', 'webapp', 'http://gitea.local:3000/api/v1'],
    ['git@gitea.example.com:acme/webapp.git', 'acme', 'webapp', 'https://gitea.example.com/api/v1'],
  ])('%s', (address, owner, name, root) => {
    const c = parse<GiteaClient>('gitea', address);
    expect([c.owner, c.name, c.root, c.authorization]).toEqual([owner, name, root, 'token foobar']);
  });
  it('refuses <srv>/foo/bar/baz', () => {
    expect(() => parse('gitea', 'https://gitea.example.com/foo/bar/baz')).toThrow(/invalid repository id "foo\/bar\/baz"/);
  });
  it('posts Progressing as pending before looking at the severity', () => {
    const e = canonicalEvent('error');
    e.reason = 'Progressing';
    expect(giteaState(e)).toBe('pending');
    e.severity = 'trace';
    expect(giteaState(e)).toBe('pending');
  });
});

describe('bitbucket target (bitbucket.md §3, §11)', () => {
  it.each([
    ['https://bitbucket.org/acme/webapp'],
    ['https://flux-bot@bitbucket.org/acme/webapp.git'],
    ['git@bitbucket.org:acme/webapp.git'],
  ])('%s', (address) => {
    delete process.env['BITBUCKET_API_BASE_URL'];
    const c = parse<BitbucketConfig>('bitbucket', address, 'foo:bar');
    expect([c.commitBase, c.authorization]).toEqual(['https://api.bitbucket.org/2.0/repositories/acme/webapp/commit/', 'Basic Zm9vOmJhcg==']);
  });
  it('reads BITBUCKET_API_BASE_URL reduced to scheme, host and path', () => {
    process.env['BITBUCKET_API_BASE_URL'] = 'https://bb.internal:8443/api/2.0/?x=1';
    expect(parse<BitbucketConfig>('bitbucket', 'https://bitbucket.org/foo/bar', 'foo:bar').commitBase).toBe('https://bb.internal:8443/api/2.0/repositories/foo/bar/commit/');
    process.env['BITBUCKET_API_BASE_URL'] = 'ftp://x';
    expect(() => parse('bitbucket', 'https://bitbucket.org/foo/bar', 'foo:bar')).toThrow(/failed to create bitbucket client: BITBUCKET_API_BASE_URL/);
    delete process.env['BITBUCKET_API_BASE_URL'];
  });
  it('refuses the upstream error rows', () => {
    expect(() => parse('bitbucket', 'https://bitbucket.org/foo/bar/baz', 'foo:bar')).toThrow(ConfigError);
    expect(() => parse('bitbucket', 'https://bitbucket.org/foo/bar', 'bar')).toThrow(/invalid token format/);
    expect(() => parse('bitbucket', 'https://bitbucket.org/acme/webapp/src/main', 'foo:bar')).toThrow(/invalid repository id "acme\/webapp\/src\/main"/);
  });
});

describe('azuredevops target (azuredevops.md §3, §12)', () => {
  it.each([
    ['https://dev.azure.com/acme/platform/_git/webapp', 'https://dev.azure.com/acme', 'platform', 'webapp'],
    ['https://acme@dev.azure.com/acme/platform/_git/webapp', 'https://dev.azure.com/acme', 'platform', 'webapp'],
    ['https://dev.azure.com/Acme/My%20Project/_git/webapp', 'https://dev.azure.com/acme', 'My Project', 'webapp'],
    ['https://acme.visualstudio.com/DefaultCollection/platform/_git/webapp', 'https://acme.visualstudio.com/defaultcollection', 'platform', 'webapp'],
    ['https://tfs.example.com/DefaultCollection/platform/_git/webapp', 'https://tfs.example.com/defaultcollection', 'platform', 'webapp'],
    ['https://dev.azure.com/foo/bar/_git/baz', 'https://dev.azure.com/foo', 'bar', 'baz'],
  ])('%s', (address, orgUrl, project, repo) => {
    const c = parse<AzureDevOpsConfig>('azuredevops', address, 'foo');
    expect([c.orgUrl, c.project, c.repo, c.authorization]).toEqual([orgUrl, project, repo, 'Basic OmZvbw==']);
  });
  it.each([
    ['https://acme.visualstudio.com/platform/_git/webapp', 'platform/_git/webapp'],
    ['https://dev.azure.com/foo/bar/baz', 'foo/bar/baz'],
    ['https://tfs.example.com/tfs/DefaultCollection/platform/_git/webapp', 'tfs/DefaultCollection/platform/_git/webapp'],
  ])('refuses %s', (address, id) => {
    expect(() => parse('azuredevops', address, 'foo')).toThrow(`invalid repository id "${id}"`);
  });
  it('builds the genre and body of §12', () => {
    expect(azureDevOpsGenre({ revision: 'x' })).toBe('fluxcd');
    expect(azureDevOpsGenre({ summary: 'test summary' })).toBe('fluxcd:test summary');
    expect(azureDevOpsGenre({ summary: '' })).toBe('fluxcd:');
    expect(azureDevOpsStatusBody({ genre: 'fluxcd', name: 'kustomization/gitops-system/0c9c2e41', description: 'apply succeeded', state: 'succeeded' }))
      .toBe('{"context":{"genre":"fluxcd","name":"kustomization/gitops-system/0c9c2e41"},"description":"apply succeeded","state":"succeeded"}');
    expect(azureDevOpsStatusBody({ genre: 'fluxcd', name: 'n', description: '', state: 'error' })).toBe('{"context":{"genre":"fluxcd","name":"n"},"state":"error"}');
  });
});
