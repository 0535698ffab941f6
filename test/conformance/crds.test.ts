// Herald's crds/ against Flux's CRDs: identical schemas, so either set can be installed; and Herald's zod schemas read the same fields.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EVENT_SOURCE_KINDS, alertSpecSchema } from '../../src/api/alert.js';
import { PROVIDER_TYPES, providerSpecSchema } from '../../src/api/provider.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { repoRoot } from '../helpers/herald-process.js';

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; plural: string };
    scope: string;
    versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: JsonSchema } }[];
  };
}

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: string[];
  required?: string[];
  [key: string]: unknown;
}

function loadCrds(dir: string): Map<string, Crd> {
  const out = new Map<string, Crd>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    const doc = parse(readFileSync(path.join(dir, file), 'utf8')) as Crd;
    expect(doc.kind, file).toBe('CustomResourceDefinition');
    out.set(doc.metadata.name, doc);
  }
  return out;
}

const flux = loadCrds(path.join(fixturesDir, 'crds'));
const herald = loadCrds(path.join(repoRoot, 'crds'));

function specSchema(crd: Crd): JsonSchema {
  const version = crd.spec.versions.find((v) => v.name === 'v1beta3');
  return version!.schema.openAPIV3Schema.properties!['spec']!;
}

describe('crds/', () => {
  it('holds exactly the CRDs Flux ships for Alerts and Providers', () => {
    expect([...herald.keys()].sort()).toEqual([...flux.keys()].sort());
    expect([...herald.keys()].sort()).toEqual(['alerts.notification.toolkit.fluxcd.io', 'providers.notification.toolkit.fluxcd.io']);
  });

  for (const [name, fluxCrd] of flux) {
    it(`${name}: group, names, scope, versions and schema equal Flux's`, () => {
      const ours = herald.get(name)!;
      expect(ours.apiVersion).toBe(fluxCrd.apiVersion);
      // Deep equality of the whole spec: openAPIV3Schema, defaults, enums, patterns, CEL rules, printer columns.
      expect(ours.spec).toEqual(fluxCrd.spec);
      expect(ours.metadata.annotations).toEqual(fluxCrd.metadata.annotations);
    });
  }

  it('lists both CRDs in its kustomization.yaml', () => {
    const k = parse(readFileSync(path.join(repoRoot, 'crds/kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(k.resources.sort()).toEqual(readdirSync(path.join(repoRoot, 'crds')).filter((f) => f !== 'kustomization.yaml').sort());
  });
});

describe('Herald reads the fields the CRDs define', () => {
  const alert = specSchema(herald.get('alerts.notification.toolkit.fluxcd.io')!);
  const provider = specSchema(herald.get('providers.notification.toolkit.fluxcd.io')!);

  it('Alert spec fields and event source kinds', () => {
    expect(Object.keys(alert.properties!).sort()).toEqual(Object.keys(alertSpecSchema.shape).sort());
    expect(alert.properties!['eventSources']!.items!.properties!['kind']!.enum).toEqual([...EVENT_SOURCE_KINDS]);
  });

  it('Provider spec fields and types', () => {
    const shape = (providerSpecSchema as unknown as { def?: { in?: { shape?: object } } }).def?.in?.shape
      ?? (providerSpecSchema as unknown as { shape: object }).shape;
    expect(Object.keys(provider.properties!).sort()).toEqual(Object.keys(shape).sort());
    expect(provider.properties!['type']!.enum).toEqual([...PROVIDER_TYPES]);
  });
});
