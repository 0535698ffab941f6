import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../../src/api/event.js';
import { cleanMetadata, conflictAnnotations, mergeMetadata, removeInternalMetadata } from '../../../src/routing/metadata.js';
import { rateLimitKey, rateLimitKeyInput } from '../../../src/server/dedup.js';
import { fixtureJson, fixtureText } from '../../helpers/fixtures.js';

interface Preprocessing {
  event: string;
  apiGroup: string;
  metadataAfterCleanup: Record<string, string>;
  rateLimitKeyInput: string;
  rateLimitKey: string;
  metadataAfterInternalExclusion: Record<string, string>;
}

interface MergeVector {
  event: string;
  alertEventMetadata: Record<string, string>;
  alertSummary: string;
  mergedMetadata: Record<string, string> | null;
  conflictAnnotations: Record<string, string> | null;
}

describe('fixture vectors (expected/preprocessing.json)', () => {
  for (const v of fixtureJson<Preprocessing[]>('expected/preprocessing.json')) {
    it(`cleans, keys and strips ${v.event}`, () => {
      const cleaned = cleanMetadata(decodeEvent(fixtureText(v.event)));
      expect(cleaned.metadata).toEqual(v.metadataAfterCleanup);
      expect(rateLimitKeyInput(cleaned)).toBe(v.rateLimitKeyInput);
      expect(rateLimitKey(cleaned)).toBe(v.rateLimitKey);
      expect(removeInternalMetadata(cleaned).metadata).toEqual(v.metadataAfterInternalExclusion);
    });
  }
});

describe('metadata clean-up rules (event-server.md §5)', () => {
  const event = (metadata: Record<string, string>, apiVersion = 'kustomize.toolkit.fluxcd.io/v1') =>
    ({ involvedObject: { kind: 'Kustomization', namespace: 'a', name: 'b', apiVersion }, severity: 'info', timestamp: null, message: '', reason: '', metadata, reportingController: '' });

  it('keeps group and event keys, drops checksum/digest case-insensitively, keeps prefix tests case-sensitive', () => {
    const out = cleanMetadata(event({
      'kustomize.toolkit.fluxcd.io/revision': '1',
      'kustomize.toolkit.fluxcd.io/aa/bb': '2',
      'kustomize.toolkit.fluxcd.io/checksum': 'x',
      'kustomize.toolkit.fluxcd.io/Digest': 'x',
      'event.toolkit.fluxcd.io/summary': '3',
      'event.toolkit.fluxcd.io/digest': '4',
      'source.toolkit.fluxcd.io/revision': 'x',
      'Kustomize.toolkit.fluxcd.io/revision': 'x',
      revision: 'x',
    }));
    expect(out.metadata).toEqual({
      'kustomize.toolkit.fluxcd.io/revision': '1',
      'kustomize.toolkit.fluxcd.io/aa/bb': '2',
      'event.toolkit.fluxcd.io/summary': '3',
      'event.toolkit.fluxcd.io/digest': '4',
    });
  });

  it('treats "/" as the controller prefix when the group is empty (upstream quirk)', () => {
    const out = cleanMetadata(event({ '/revision': '1', 'revision': '2', '/checksum': 'x' }, 'v1'));
    expect(out.metadata).toEqual({ '/revision': '1' });
  });

  it('puts an empty originRevision into the dedup key when present', () => {
    const e = event({ 'kustomize.toolkit.fluxcd.io/originRevision': '' });
    expect(rateLimitKeyInput(e)).toBe('event/name=b/namespace=a/kind=Kustomization/message=/originRevision=');
  });
});

describe('metadata merge (expected/metadata-merge.json)', () => {
  for (const [i, v] of fixtureJson<MergeVector[]>('expected/metadata-merge.json').entries()) {
    it(`merges vector ${i} (${v.event})`, () => {
      const e = removeInternalMetadata(cleanMetadata(decodeEvent(fixtureText(v.event))));
      const r = mergeMetadata(e, { eventMetadata: v.alertEventMetadata, summary: v.alertSummary || undefined });
      expect(Object.keys(r.metadata).length ? r.metadata : null).toEqual(v.mergedMetadata);
      expect(r.conflicts.length ? conflictAnnotations(r.conflicts) : null).toEqual(v.conflictAnnotations);
      expect(r.usedDeprecatedSummary).toBe(!!v.alertSummary);
    });
  }

  it('reports a conflict even when the values are identical', () => {
    const e = { involvedObject: { kind: 'K', namespace: 'a', name: 'b', apiVersion: 'g/v1' }, severity: 'info', timestamp: null, message: '', reason: '', metadata: { 'g/env': 'x' }, reportingController: '' };
    const r = mergeMetadata(e, { eventMetadata: { env: 'x' } });
    expect(r.conflicts).toEqual([{ key: 'env', sources: ['Alert object .spec.eventMetadata', 'involved object controller metadata'] }]);
    expect(r.metadata).toEqual({ env: 'x' });
  });
});
