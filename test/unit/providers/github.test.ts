// The GitHub family's pure pieces: go-github's JSON strings and ref escaping, the App cache key, the request bodies.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appCacheKey, parseGitHubApp } from '../../../src/providers/git/github-app.js';
import { enterpriseApiBase, escapeRef, githubJsonString } from '../../../src/providers/git/github-client.js';
import { githubStatusBody } from '../../../src/providers/git/github.js';
import { commentRequestBody } from '../../../src/providers/git/githubpullrequestcomment.js';

describe('githubJsonString (go-github encoder, SetEscapeHTML(false))', () => {
  it.each([
    ['plain', '"plain"'],
    ['<a & b>', '"<a & b>"'],
    ['line\nbreak\ttab "q" \\', '"line\\nbreak\\ttab \\"q\\" \\\\"'],
    ['\b\f\u0001', '"\\u0008\\u000c\\u0001"'],
    ['\\b literal', '"\\\\b literal"'],
    ['sep\u2028\u2029', '"sep\\u2028\\u2029"'],
    ['lone \ud800', '"lone \ufffd"'],
    ['⚠️ emoji', '"⚠️ emoji"'],
  ])('%j → %s', (input, want) => {
    expect(githubJsonString(input)).toBe(want);
  });

  it('status and comment bodies keep <, >, & and end with a newline', () => {
    expect(githubStatusBody({ state: 'failure', description: 'a<b>&c', context: 'k/n/1' })).toBe('{"state":"failure","description":"a<b>&c","context":"k/n/1"}\n');
    expect(commentRequestBody('<!-- key -->\n\nx')).toBe('{"body":"<!-- key -->\\n\\nx"}\n');
  });
});

describe('escapeRef (go-github refURLEscape)', () => {
  it.each([
    ['9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', '9f1c2e3d4b5a69788796a5b4c3d2e1f001234567'],
    ['heads/feature x', 'heads/feature%20x'],
    ['a?b;c,d', 'a%3Fb%3Bc%2Cd'],
  ])('%s → %s', (ref, want) => {
    expect(escapeRef(ref)).toBe(want);
  });
});

describe('enterpriseApiBase (go-github WithEnterpriseURLs)', () => {
  it.each([
    ['https://ghe.example.com', 'https://ghe.example.com/api/v3/'],
    ['https://ghe.example.com/api/v3', 'https://ghe.example.com/api/v3/'],
    ['https://api.example.com', 'https://api.example.com/'],
    ['https://GHE.example.com:8443/', 'https://GHE.example.com:8443/api/v3/'],
  ])('%s → %s', (base, want) => {
    expect(enterpriseApiBase(base)).toBe(want);
  });
});

describe('appCacheKey (fluxcd/pkg githubapp)', () => {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const data = (extra: Record<string, string>) => Object.fromEntries(Object.entries({ githubAppID: '123', githubAppPrivateKey: pem, ...extra }).map(([k, v]) => [k, Buffer.from(v)]));

  it('hashes every input of the exchange in fluxcd/pkg\'s order', () => {
    const app = parseGitHubApp(data({ githubAppInstallationID: '456' }), 'x');
    const text = `githubAppID=123,githubAppInstallationOwner=,githubAppInstallationID=456,githubAppBaseURL=,githubAppPrivateKey=${pem},reflectSlug=false`;
    expect(appCacheKey(app, false)).toBe(createHash('sha256').update(text).digest('hex'));
    const byOwner = parseGitHubApp(data({ githubAppInstallationOwner: 'acme', githubAppBaseURL: 'https://ghe.example.com/api/v3' }), 'x');
    const ownerText = `githubAppID=123,githubAppInstallationOwner=acme,githubAppInstallationID=0,githubAppBaseURL=https://ghe.example.com/api/v3,githubAppPrivateKey=${pem},reflectSlug=true`;
    expect(appCacheKey(byOwner, true)).toBe(createHash('sha256').update(ownerText).digest('hex'));
    expect(byOwner.baseUrl).toBe('https://ghe.example.com/api/v3/');
  });
});
