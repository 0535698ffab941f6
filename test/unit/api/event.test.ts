import { describe, expect, it } from 'vitest';
import { canonicalTimestamp, decodeEvent, encodeEvent, EventDecodeError, apiGroupOf, eventSchema, goJsonString, isWellFormed } from '../../../src/api/event.js';
import { fixtureEventFiles, fixtureText } from '../../helpers/fixtures.js';

const valid = {
  involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'webapp' },
  severity: 'info',
  message: 'hello',
  reason: 'ReconciliationSucceeded',
};

function decodeError(body: unknown): EventDecodeError {
  try {
    decodeEvent(typeof body === 'string' ? body : JSON.stringify(body));
  } catch (err) {
    return err as EventDecodeError;
  }
  throw new Error('expected a decode error');
}

describe('decodeEvent', () => {
  it('decodes every fixture event and re-encodes it byte-identically to its compact Go form', () => {
    for (const file of fixtureEventFiles()) {
      const text = fixtureText(file);
      const event = decodeEvent(text);
      expect(encodeEvent(event), file).toBe(JSON.stringify(JSON.parse(text)).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`));
    }
  });

  it('matches member names case-insensitively, preferring the exact case', () => {
    const { severity: _s, ...rest } = valid;
    const e = decodeEvent(JSON.stringify({ ...rest, Severity: 'error', MESSAGE: 'upper', message: 'exact' }));
    expect(e.severity).toBe('error');
    expect(e.message).toBe('exact');
    const f = decodeEvent(JSON.stringify({ InvolvedObject: { KIND: 'HelmRelease', Namespace: 'a', name: 'b' }, severity: 'info' }));
    expect(f.involvedObject).toEqual({ kind: 'HelmRelease', namespace: 'a', name: 'b' });
  });

  it('treats null strings and null metadata values as empty', () => {
    const e = decodeEvent(JSON.stringify({ ...valid, message: null, metadata: { 'a/b': null } }));
    expect(e.message).toBe('');
    expect(e.metadata).toEqual({ 'a/b': '' });
  });

  it.each([
    ['not json', 'body is not valid JSON'],
    ['{"a":1} trailing', 'body is not valid JSON'],
    ['\ufeff{}', 'body is not valid JSON'],
    ['[]', 'the event must be a JSON object'],
    ['null', 'the event must be a JSON object'],
  ])('rejects the body %j', (body, text) => {
    expect(decodeError(body).message).toContain(text);
  });

  it.each([
    [{ ...valid, involvedObject: { namespace: 'a', name: 'b' } }, 'involvedObject.kind', 'kind is required'],
    [{ ...valid, involvedObject: { kind: 'K', name: 'b' } }, 'involvedObject.namespace', 'namespace is required'],
    [{ ...valid, involvedObject: { kind: 'K', namespace: 'a', name: '' } }, 'involvedObject.name', 'must not be empty'],
    [{ ...valid, involvedObject: 'x' }, 'involvedObject', 'must be an object'],
    [{ ...valid, severity: 'warning' }, 'severity', 'one of info, error, trace'],
    [{ ...valid, message: 5 }, 'message', ''],
    [{ ...valid, metadata: { a: 1 } }, 'metadata.a', ''],
    [{ ...valid, timestamp: '2026-07-20 10:15:30' }, 'timestamp', 'RFC 3339'],
    [{ ...valid, timestamp: 5 }, 'timestamp', ''],
  ])('names the bad field %#', (body, field, text) => {
    const err = decodeError(body);
    expect(err.field).toBe(field);
    expect(err.message).toContain(text);
  });
});

describe('the hand-checked common shape', () => {
  const full = {
    involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'webapp', uid: 'u', apiVersion: 'kustomize.toolkit.fluxcd.io/v1', resourceVersion: '1', fieldPath: null },
    severity: 'error', timestamp: '2026-07-20T10:15:30Z', message: 'm', reason: 'r', metadata: { 'a/b': 'c', d: null },
    reportingController: 'kustomize-controller', reportingInstance: null,
  };
  // Each variant changes one member of a valid event: to another valid value, or to one the schema refuses.
  const variants: unknown[] = [valid, full, { ...full, metadata: null }, { ...full, metadata: {} }, { ...full, timestamp: null }];
  const bad: [string, unknown][] = [
    ['kind', ''], ['kind', 5], ['namespace', null], ['name', undefined], ['uid', 5], ['apiVersion', {}], ['fieldPath', []],
  ];
  for (const [k, v] of bad) variants.push({ ...full, involvedObject: { ...full.involvedObject, [k]: v } });
  for (const [k, v] of [['severity', 'warning'], ['severity', null], ['timestamp', 5], ['message', 5], ['reason', {}], ['reportingController', true],
    ['reportingInstance', []], ['metadata', []], ['metadata', 'x'], ['metadata', { a: 1 }], ['metadata', { a: {} }], ['involvedObject', null], ['involvedObject', []]] as const) {
    variants.push({ ...full, [k]: v });
  }
  variants.push(JSON.parse('{"involvedObject":{"kind":"K","namespace":"n","name":"x"},"severity":"info","metadata":{"__proto__":"kept"}}'));
  variants.push(null, [], 'x', 5);

  it('accepts only what the schema accepts, and leaves the value as the schema returns it', () => {
    let accepted = 0;
    for (const v of variants) {
      if (!isWellFormed(v) || Object.hasOwn((v as { metadata?: object }).metadata ?? {}, '__proto__')) continue;
      accepted++;
      const parsed = eventSchema.safeParse(v);
      expect(parsed.success, JSON.stringify(v)).toBe(true);
      expect(parsed.data).toEqual(v);
    }
    // The valid variants take the fast path; the rest go through the schema.
    expect(accepted).toBe(5);
  });

  it('keeps a bare __proto__ metadata key, as Go does (the schema alone dropped it)', () => {
    expect(decodeEvent('{"involvedObject":{"kind":"K","namespace":"n","name":"x"},"severity":"info","metadata":{"__proto__":"kept"}}').metadata).toEqual(JSON.parse('{"__proto__":"kept"}'));
  });
});

describe('timestamps', () => {
  it('normalises to UTC whole seconds as Go forwards them', () => {
    expect(canonicalTimestamp('2026-07-20T12:15:30.987+02:00')).toBe('2026-07-20T10:15:30Z');
    expect(canonicalTimestamp('2026-07-20T10:15:30Z')).toBe('2026-07-20T10:15:30Z');
    expect(canonicalTimestamp('2026-02-30T10:15:30Z')).toBeUndefined();
    expect(canonicalTimestamp('2026-07-20t10:15:30Z')).toBeUndefined();
  });

  it('checks every field of a whole UTC second, as the general parser does', () => {
    for (const ok of ['2024-02-29T23:59:59Z', '2000-02-29T00:00:00Z', '2026-12-31T00:00:00Z', '2026-04-30T12:00:00Z']) {
      expect(canonicalTimestamp(ok)).toBe(ok);
      // The same instant with an offset goes through the general parser and lands on the same text.
      expect(canonicalTimestamp(ok.replace('Z', '+00:00'))).toBe(ok);
    }
    for (const bad of ['2025-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-00-10T00:00:00Z', '2026-13-10T00:00:00Z',
      '2026-07-00T00:00:00Z', '2026-07-20T24:00:00Z', '2026-07-20T10:60:00Z', '2026-07-20T10:15:60Z', '2026-07-20T10:15:3aZ',
      '2026-07-20 10:15:30Z', '2026/07/20T10:15:30Z', '2026-07-20T10-15:30Z', '+026-07-20T10:15:30Z']) {
      expect(canonicalTimestamp(bad)).toBeUndefined();
      expect(canonicalTimestamp(bad.replace('Z', '+00:00'))).toBeUndefined();
    }
  });
});

describe('encodeEvent', () => {
  it('reproduces the upstream zero-value vectors', () => {
    const zero = { involvedObject: { kind: '', namespace: '', name: '' }, severity: '', timestamp: null, message: '', reason: '', metadata: {}, reportingController: '' };
    expect(encodeEvent(zero)).toBe('{"involvedObject":{},"severity":"","timestamp":null,"message":"","reason":"","reportingController":""}');
    expect(encodeEvent({ ...zero, metadata: { foo: 'bar' } })).toBe('{"involvedObject":{},"severity":"","timestamp":null,"message":"","reason":"","metadata":{"foo":"bar"},"reportingController":""}');
  });

  it('escapes like Go: HTML characters, line separators, control characters', () => {
    expect(goJsonString('<a & b>\u2028\u0001\n')).toBe('"\\u003ca \\u0026 b\\u003e\\u2028\\u0001\\n"');
  });

  it('derives API groups like ParseGroupVersion', () => {
    expect(apiGroupOf('kustomize.toolkit.fluxcd.io/v1')).toBe('kustomize.toolkit.fluxcd.io');
    expect(apiGroupOf('v1')).toBe('');
    expect(apiGroupOf('/')).toBe('');
    expect(apiGroupOf('a/b/c')).toBe('');
    expect(apiGroupOf(undefined)).toBe('');
  });
});
