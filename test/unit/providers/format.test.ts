// Shared provider text helpers and Go URL semantics against the spec's vectors (event-server.md §16, commit-status.md §7, §11.1).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturesDir } from '../../helpers/fixtures.js';
import { decodeEvent } from '../../../src/api/event.js';
import { goStatusText } from '../../../src/go/status-text.js';
import { goToLower, splitCamelcase } from '../../../src/go/strings.js';
import { parseGitAddress } from '../../../src/providers/git/address.js';
import { sha1String } from '../../../src/providers/git/status-key.js';
import { truncateText } from '../../../src/providers/git/bitbucketserver.js';
import { basicAuth } from '../../../src/providers/http/headers.js';
import { formatNameAndDescription } from '../../../src/providers/labels.js';
import { formatMarkdownPost } from '../../../src/providers/markdown.js';
import { goJoinEscapedPath, goPathClean, goQuote, parseGoRequestUri, parseGoUrl, parseUrlError } from '../../../src/go/url.js';

const FIXTURES = fixturesDir;

describe('splitCamelcase and formatNameAndDescription', () => {
  it.each([
    ['ReconciliationSucceeded', ['Reconciliation', 'Succeeded']],
    ['PDFLoader', ['PDF', 'Loader']],
    ['HealthCheckFailed', ['Health', 'Check', 'Failed']],
    ['Upgrade2Failed', ['Upgrade', '2', 'Failed']],
    ['info', ['info']],
    ['some_reason', ['some', '_', 'reason']],
    ['', []],
  ])('%j -> %j', (input, words) => {
    expect(splitCamelcase(input)).toEqual(words);
  });

  it.each([
    ['HealthCheckFailed', 'health check failed'],
    ['ReconciliationSucceeded', 'reconciliation succeeded'],
    ['ApplySucceeded', 'apply succeeded'],
    ['Progressing', 'progressing'],
    ['ProgressingWithRetry', 'progressing with retry'],
    ['DependencyNotReady', 'dependency not ready'],
    ['OCIRepository', 'oci repository'],
    ['HTTPError500', 'http error 500'],
    ['V2Beta1', 'v 2 beta 1'],
    ['V2Alpha', 'v 2 alpha'],
    ['ABcDe', 'a bc de'],
    ['aA1-', 'a a 1 -'],
    ['Health Check', 'health   check'],
    ['Health_Check', 'health _ check'],
    ['Succeeded', 'succeeded'],
    ['', ''],
  ])('reason %j -> description %j', (reason, description) => {
    expect(formatNameAndDescription({ involvedObject: { kind: 'Kustomization', namespace: 'x', name: 'gitops-system' }, reason }))
      .toEqual({ name: 'kustomization/gitops-system', description });
  });

  it('keeps a reason that is not well-formed UTF-16 as one word', () => {
    expect(splitCamelcase('Bad\ud800Reason')).toEqual(['Bad\ud800Reason']);
  });

  it('lower-cases per code point like Go', () => {
    expect(goToLower('ΣΑΣ')).toBe('σασ');
    expect(goToLower('İSTANBUL')).toBe('istanbul');
  });
});

describe('small helpers', () => {
  it('sha1String', () => {
    expect(sha1String('kustomization/namespace-foo-and-service-bar')).toBe('12ea142172e98435e16336acbbed8919610922c3');
    expect(sha1String('kustomization/webapp/0c9c2e41')).toBe('4abc3ba6f171924ecece234c03192982da12888b');
    expect(sha1String('kustomization/gitops-system/0c9c2e41')).toBe('c99410a43c260fddd152a40c296bddfa0b8fd879');
  });

  it('basicAuth', () => {
    expect(basicAuth('user', 'password')).toBe('dXNlcjpwYXNzd29yZA==');
    expect(basicAuth('flux', 's3cr3t')).toBe('Zmx1eDpzM2NyM3Q=');
    expect(basicAuth('hello', 'password')).toBe('aGVsbG86cGFzc3dvcmQ=');
  });

  it('goStatusText uses Go reason phrases, not Node ones', () => {
    expect(goStatusText(400)).toBe('Bad Request');
    expect(goStatusText(401)).toBe('Unauthorized');
    expect(goStatusText(413)).toBe('Request Entity Too Large');
    expect(goStatusText(418)).toBe("I'm a teapot");
    expect(goStatusText(599)).toBe('');
  });

  it('truncateText keeps short text and never splits a surrogate pair', () => {
    expect(truncateText('abc', 3)).toBe('abc');
    expect(truncateText('abcd', 3)).toBe('ab…');
    expect(truncateText('a😀bc', 3)).toBe('a…');
    expect(truncateText('x'.repeat(300), 255)).toHaveLength(255);
  });
});

describe('parseGitAddress (commit-status.md §11.1)', () => {
  it.each([
    ['https://github.com/foo/bar', 'https://github.com', 'foo/bar'],
    ['https://example.com/foo/bar', 'https://example.com', 'foo/bar'],
    ['https://gitlab.com/foo/bar.git', 'https://gitlab.com', 'foo/bar'],
    ['git@gitlab.com:foo/bar.git', 'https://gitlab.com', 'foo/bar'],
    ['ssh://git@github.com/stefanprodan/podinfo', 'https://github.com', 'stefanprodan/podinfo'],
    ['https://gitlab.com/foo/bar/foo.git', 'https://gitlab.com', 'foo/bar/foo'],
    ['ssh://git@abc.com', 'https://abc.com', ''],
    ['ssh://git@github.com:22/foo/bar.git', 'https://github.com:22', 'foo/bar'],
    ['http://gitea.local:3000/foo/bar', 'http://gitea.local:3000', 'foo/bar'],
    ['https://user:pass@github.com/foo/bar.git', 'https://github.com', 'foo/bar'],
    ['https://github.com/foo/bar?ref=main#frag', 'https://github.com', 'foo/bar'],
    ['https://github.com/foo/bar/', 'https://github.com', 'foo/bar/'],
    ['https://github.com/foo/bar.git/', 'https://github.com', 'foo/bar.git/'],
    ['git@github.com:foo/bar.git.git', 'https://github.com', 'foo/bar.git'],
    ['git://github.com/foo/bar.git', 'git://github.com', 'foo/bar'],
    ['HTTPS://GitHub.com/Foo/Bar', 'https://GitHub.com', 'Foo/Bar'],
    ['https://[::1]:8443/foo/bar', 'https://[::1]:8443', 'foo/bar'],
    ['https://gitlab.com/group%2Fproject', 'https://gitlab.com', 'group/project'],
    ['https://gitlab.com/1234', 'https://gitlab.com', '1234'],
    ['https://dev.azure.com/org/project/_git/repo', 'https://dev.azure.com', 'org/project/_git/repo'],
    ['https://org@dev.azure.com/org/project/_git/repo', 'https://dev.azure.com', 'org/project/_git/repo'],
    ['https://dev.azure.com/org/My%20Project/_git/repo', 'https://dev.azure.com', 'org/My Project/_git/repo'],
    ['git@ssh.dev.azure.com:v3/org/project/repo', 'https://ssh.dev.azure.com', 'v3/org/project/repo'],
    ['https://gitea.example.com/gitea/foo/bar', 'https://gitea.example.com', 'gitea/foo/bar'],
    ['github.com/foo/bar', 'file://', 'github.com/foo/bar'],
    ['not a url', 'file://', 'not a url'],
    [' https://github.com/foo/bar', 'file://', ' https://github.com/foo/bar'],
    ['https://github.com/foo/bar ', 'https://github.com', 'foo/bar '],
    ['localhost:3000/foo/bar', 'https://localhost', '3000/foo/bar'],
    ['https://host:abc/x/y', 'https://https', 'host'],
    ['git@github.com:foo/repo name.git', 'https://github.com', 'foo/repo'],
  ])('%j -> host %j, id %j', (address, host, id) => {
    expect(parseGitAddress(address)).toEqual({ host, id });
  });

  it('never throws on arbitrary input', () => {
    for (const s of ['', '%', '::::', 'http://[', 'ssh://%zz', '\u0000', 'a'.repeat(5000) + ':b']) expect(() => parseGitAddress(s)).not.toThrow();
  });
});

describe('formatMarkdownPost', () => {
  it('matches the upstream vector', () => {
    const e = { involvedObject: { kind: 'Kustomization', namespace: 'default', name: 'test-ks' }, severity: 'info', message: 'Test event message', metadata: { key2: 'value2', key1: 'value1' } };
    expect(formatMarkdownPost(e)).toBe('## Flux Status\n\nℹ️ Kustomization/default/test-ks\n\nTest event message\n\nMetadata:\n* `key1`: value1\n* `key2`: value2\n');
    expect(formatMarkdownPost({ ...e, severity: 'error' })).toBe('## Flux Status\n\n⚠️ Kustomization/default/test-ks\n\nTest event message\n\nMetadata:\n* `key1`: value1\n* `key2`: value2\n');
    expect(formatMarkdownPost({ ...e, metadata: {} })).toMatch(/Metadata:\n$/);
  });

  it('matches fixtures/expected/markdown-annotation-metadata.md (change_request left out)', () => {
    const raw = decodeEvent(readFileSync(`${FIXTURES}/events/kustomize-controller-annotation-metadata.json`));
    const merge = JSON.parse(readFileSync(`${FIXTURES}/expected/metadata-merge.json`, 'utf8')) as { mergedMetadata: Record<string, string> }[];
    const md = formatMarkdownPost({ ...raw, metadata: merge[1]!.mergedMetadata });
    expect(md).toBe(readFileSync(`${FIXTURES}/expected/markdown-annotation-metadata.md`, 'utf8'));
  });
});

describe('Go net/url semantics', () => {
  it.each([
    ['git@bitbucket.example.com:PLAT/webapp.git', 'parse "git@bitbucket.example.com:PLAT/webapp.git": first path segment in URL cannot contain colon'],
    ['https://host:abc/x', 'parse "https://host:abc/x": invalid port ":abc" after host'],
    ['http://a b.com/', 'parse "http://a b.com/": invalid character " " in host name'],
    ['https://h/%zz', 'parse "https://h/%zz": invalid URL escape "%zz"'],
    ['https://h/\n', 'parse "https://h/\\n": net/url: invalid control character in URL'],
    [':foo', 'parse ":foo": missing protocol scheme'],
    ['http://[::1/x', 'parse "http://[::1/x": missing \']\' in host'],
  ])('%j fails with Go text', (raw, msg) => {
    expect(() => parseGoUrl(raw)).toThrow(msg);
    expect(parseUrlError(raw)).toBe(msg);
  });

  it('splits scheme, user-info, host, decoded path, query and fragment', () => {
    expect(parseGoUrl('HTTPS://user:pw@Host.example:7990/a%20b/c.git?x=1#f')).toMatchObject({
      scheme: 'https', userinfo: 'user:pw', host: 'Host.example:7990', path: '/a b/c.git', rawQuery: 'x=1', fragment: 'f',
    });
    expect(parseGoUrl('https:opaque/x')).toMatchObject({ scheme: 'https', opaque: 'opaque/x', path: '' });
    expect(parseUrlError('socks5://proxy:1080')).toBeUndefined();
  });

  it('ParseRequestURI rejects relative references', () => {
    expect(() => parseGoRequestUri('')).toThrow('parse "": empty url');
    expect(() => parseGoRequestUri('not a url')).toThrow('parse "not a url": invalid URI for request');
    expect(parseGoRequestUri('/hooks/x#y').path).toBe('/hooks/x#y');
  });

  it('path.Clean and JoinPath', () => {
    expect(goPathClean('//a//b/./c/../d/')).toBe('/a/b/d');
    expect(goPathClean('')).toBe('.');
    expect(goJoinEscapedPath({ path: '/x y/commits', rawPath: '' }, 'abc/builds')).toBe('/x%20y/commits/abc/builds');
    expect(goJoinEscapedPath({ path: '//rest/commits', rawPath: '' }, 'h/builds')).toBe('/rest/commits/h/builds');
  });

  it('%q quoting', () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote('tab\there\u0001é')).toBe('"tab\\there\\x01é"');
  });
});
