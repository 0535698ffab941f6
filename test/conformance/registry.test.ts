// The registry is the one list of provider types: each has a definition that agrees with Flux's families, a doc page,
// and a place in the README's list, and the README lists exactly the registry.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROVIDER_CATEGORY, PROVIDER_TYPES } from '../../src/api/provider.js';
import { providerDefinitions, sensitiveSecretKeys, supportedProviderTypes, unsupportedProviderTypes } from '../../src/providers/registry.js';
import { repoRoot } from '../helpers/herald-process.js';

/** The types named on the README's "Provider types implemented:" line. */
function readmeTypes(): string[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('Provider types implemented:'));
  expect(line, 'README has a "Provider types implemented:" line').toBeDefined();
  // The sentence ends at a '.' followed by a space or the line's end: type names such as `incident.io` hold dots.
  return [...line!.split(/\.(?:\s|$)/)[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).sort();
}

describe('provider registry', () => {
  it('has one definition per type, each a CRD type filed under the category Flux gives it', () => {
    const types = providerDefinitions().map((d) => d.type);
    expect(new Set(types).size).toBe(types.length);
    for (const d of providerDefinitions()) {
      expect(PROVIDER_TYPES).toContain(d.type);
      expect(d.category, d.type).toBe(PROVIDER_CATEGORY[d.type]);
    }
    expect([...supportedProviderTypes(), ...unsupportedProviderTypes()].sort()).toEqual([...PROVIDER_TYPES].sort());
  });

  it('gives every type a doc page in docs/providers/', () => {
    for (const type of supportedProviderTypes()) {
      expect(existsSync(path.join(repoRoot, 'docs', 'providers', `${type}.md`)), `docs/providers/${type}.md`).toBe(true);
    }
  });

  it("lists exactly the registry's types in the README", () => {
    expect(readmeTypes()).toEqual(supportedProviderTypes());
  });

  it('masks every key a definition declares sensitive, and the common credentials', () => {
    const keys = sensitiveSecretKeys();
    for (const k of ['token', 'password', 'tls.key']) expect(keys).toContain(k);
    for (const d of providerDefinitions()) for (const k of d.secretKeys) if (k.sensitive) expect(keys, `${d.type}: ${k.key}`).toContain(k.key);
  });
});
