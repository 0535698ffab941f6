import { describe, expect, it } from 'vitest';
import { alertSchema } from '../../../src/api/alert.js';

const base = { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert', metadata: { name: 'a', namespace: 'ns' } };

describe('alertSchema', () => {
  it('accepts kinds outside Flux enum (installers patch it, e.g. Flux Operator ResourceSet) and defaults eventSeverity to info', () => {
    const r = alertSchema.safeParse({ ...base, spec: { providerRef: { name: 'p' }, eventSources: [{ kind: 'ResourceSet', name: '*' }] } });
    expect(r.success).toBe(true);
    expect(r.data?.spec.eventSeverity).toBe('info');
  });

  it('rejects an empty kind, an unknown eventSeverity and a missing providerRef, naming the field', () => {
    const paths = (spec: unknown) => alertSchema.safeParse({ ...base, spec }).error?.issues.map((i) => i.path.join('.'));
    expect(paths({ providerRef: { name: 'p' }, eventSources: [{ kind: '', name: '*' }] })).toEqual(['spec.eventSources.0.kind']);
    expect(paths({ providerRef: { name: 'p' }, eventSeverity: 'warning', eventSources: [] })).toEqual(['spec.eventSeverity']);
    expect(paths({ eventSources: [] })).toEqual(['spec.providerRef']);
  });
});
