// encodeEvent's single-stringify fast path against the field-by-field reference encoder, on inputs where they could differ.
import { describe, expect, it } from 'vitest';
import { compareBytes, decodeEvent, encodeEvent, encodeEventByField, type FluxEvent } from '../../../src/api/event.js';
import { fixtureEventFiles, fixtureText } from '../../helpers/fixtures.js';

function event(overrides: Partial<FluxEvent> = {}): FluxEvent {
  return {
    involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'webapp', uid: 'u-1', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
    severity: 'info', timestamp: '2025-06-01T10:15:30Z', message: 'm', reason: 'R', metadata: {}, reportingController: 'kc',
    ...overrides,
  };
}

describe('encodeEvent fast path', () => {
  it('is byte-identical to the reference encoder on every fixture event', () => {
    for (const file of fixtureEventFiles()) {
      const e = decodeEvent(fixtureText(file));
      expect(encodeEvent(e), file).toBe(encodeEventByField(e));
    }
  });

  it.each([
    ['HTML characters and line separators', event({ message: '<b> & </b>\u2028\u2029', metadata: { 'a<b': 'c&d' } })],
    ['control characters, quotes and backslashes', event({ message: '\u0000\u0001\u001f\b\f\n\r\t"\\\u007f' })],
    ['lone surrogates become U+FFFD', event({ message: 'a\ud800b', metadata: { k: '\udfff' } })],
    ['a literal backslash-u text is not mistaken for a surrogate', event({ message: '\\ud800 is text' })],
    ['array-index metadata keys keep byte order', event({ metadata: { 10: 'x', 9: 'y', b: 'z', 0: 'w', '01': 'v' } })],
    ['__proto__ as a metadata key', event({ metadata: JSON.parse('{"__proto__":"p","a":"b"}') as Record<string, string> })],
    ['keys beyond the BMP sort by UTF-8 bytes', event({ metadata: { '\uffff': '1', '\u{1F600}': '2', '\ue000': '3', z: '4' } })],
    ['empty optional fields are omitted', event({ involvedObject: { kind: '', namespace: '', name: '' }, timestamp: null, reportingController: '' })],
    ['reportingInstance is kept', event({ reportingInstance: 'pod-1' })],
    ['non-ASCII is emitted raw', event({ message: 'héllo ✓ 日本', metadata: { 'clé': 'välue' } })],
  ])('%s', (_name, e) => {
    expect(encodeEvent(e)).toBe(encodeEventByField(e));
  });

  it('sorts metadata keys in UTF-8 byte order (U+FFFF before a supplementary character)', () => {
    expect(['\u{1F600}', '\uffff', 'a'].sort(compareBytes)).toEqual(['a', '\uffff', '\u{1F600}']);
    expect(encodeEvent(event({ metadata: { '\u{1F600}': '1', '\uffff': '2' } }))).toContain('"metadata":{"\uffff":"2","\u{1F600}":"1"}');
  });
});
