// The Flux event on the wire: decoding with Go's rules plus Herald's validation, and Go-compatible JSON encoding.
import { z } from 'zod';

export interface ObjectReference {
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface FluxEvent {
  involvedObject: ObjectReference;
  severity: string;
  /** Canonical RFC 3339 in UTC with whole seconds (`2026-07-20T10:15:30Z`), or null when unset. */
  timestamp: string | null;
  message: string;
  reason: string;
  metadata: Record<string, string>;
  reportingController: string;
  reportingInstance?: string;
}

export const SEVERITIES = ['info', 'error', 'trace'] as const;
export const EVENT_GROUP_PREFIX = 'event.toolkit.fluxcd.io/';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const digit = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
};
const two = (s: string, i: number): number => digit(s, i) * 10 + digit(s, i + 1);

/** `YYYY-MM-DDTHH:MM:SSZ` with every field in range (NaN compares false, so a non-digit fails each check). */
function isWholeUtcSecond(v: string): boolean {
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58 || v.charCodeAt(19) !== 90) return false;
  const year = two(v, 0) * 100 + two(v, 2);
  const month = two(v, 5), day = two(v, 8);
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && two(v, 11) <= 23 && two(v, 14) <= 59 && two(v, 17) <= 59)) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= days;
}

/** Parses an RFC 3339 timestamp as Go does and returns it in Flux's canonical form, or undefined when invalid. */
export function canonicalTimestamp(value: string): string | undefined {
  // Flux emitters always send whole UTC seconds (`2026-07-20T10:15:30Z`): validate the digits and ranges and keep the
  // text as it is, without a regular expression or a Date (this runs for every event).
  if (value.length === 20 && isWholeUtcSecond(value)) return value;
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, , zone] = m as unknown as string[];
  const month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  let ms = Date.UTC(Number(y), month - 1, day, hour, minute, second);
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    const oh = Number(zone!.slice(1, 3)), om = Number(zone!.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// No transforms in the schema: zod validates the types; normalisation (null -> '', canonical timestamps) happens
// after, in plain code, which keeps decoding a few microseconds per event on the hot path.
const optionalString = z.string().nullable().optional();
const requiredName = (field: string) =>
  z.string({ error: (i) => (i.input === undefined || i.input === null ? `${field} is required` : `${field} must be a string`) })
    .min(1, `${field} must not be empty`);

const involvedObjectSchema = z.object({
  kind: requiredName('kind'),
  namespace: requiredName('namespace'),
  name: requiredName('name'),
  uid: optionalString,
  apiVersion: optionalString,
  resourceVersion: optionalString,
  fieldPath: optionalString,
}, { error: 'involvedObject must be an object with kind, namespace and name' });

export const eventSchema = z.object({
  involvedObject: involvedObjectSchema,
  severity: z.enum(SEVERITIES, { error: `severity must be one of ${SEVERITIES.join(', ')}` }),
  timestamp: z.string({ error: 'timestamp must be an RFC 3339 string or null' }).nullable().optional(),
  message: optionalString,
  reason: optionalString,
  metadata: z.record(z.string(), z.string({ error: 'metadata values must be strings' }).nullable(), { error: 'metadata must be an object of strings' }).nullable().optional(),
  reportingController: optionalString,
  reportingInstance: optionalString,
}, { error: 'the event must be a JSON object' });

type EventInput = z.infer<typeof eventSchema>;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isOptionalString = (v: unknown): boolean => v === undefined || v === null || typeof v === 'string';
const isName = (v: unknown): boolean => typeof v === 'string' && v.length > 0;

/**
 * The shape every Flux emitter sends, checked by hand: the schema costs more than the JSON parse itself, for every
 * event. It accepts what the schema accepts (anything else goes through the schema, which names the bad field) and
 * leaves the value as the schema would return it, except that a `__proto__` metadata key survives; the unit tests
 * hold both to the same answers.
 */
export function isWellFormed(v: unknown): v is EventInput {
  if (!isObject(v)) return false;
  const ref = v.involvedObject;
  if (!isObject(ref) || !isName(ref.kind) || !isName(ref.namespace) || !isName(ref.name)) return false;
  if (!isOptionalString(ref.uid) || !isOptionalString(ref.apiVersion) || !isOptionalString(ref.resourceVersion) || !isOptionalString(ref.fieldPath)) return false;
  if (v.severity !== 'info' && v.severity !== 'error' && v.severity !== 'trace') return false;
  if (!isOptionalString(v.timestamp) || !isOptionalString(v.message) || !isOptionalString(v.reason)) return false;
  if (!isOptionalString(v.reportingController) || !isOptionalString(v.reportingInstance)) return false;
  const md = v.metadata;
  if (md === undefined || md === null) return true;
  if (!isObject(md) || Object.getPrototypeOf(md) !== Object.prototype) return false;
  // A `__proto__` key (an own property from JSON.parse) is kept, as Go keeps every key; the schema's record drops it.
  for (const k in md) {
    const value = md[k];
    if (value !== null && typeof value !== 'string') return false;
  }
  return true;
}

const TOP_FIELDS = ['involvedObject', 'severity', 'timestamp', 'message', 'reason', 'metadata', 'reportingController', 'reportingInstance'];
const REF_FIELDS = ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'];

/** Go's encoding/json matches member names case-insensitively, preferring an exact match; unknown members are dropped. */
function foldFields(input: unknown, fields: string[]): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const src = input as Record<string, unknown>;
  // The common case: every member already has its exact field name.
  let exact = true;
  for (const k in src) if (!fields.includes(k)) { exact = false; break; }
  if (exact) return src;
  const out: Record<string, unknown> = {};
  const lower = new Map(fields.map((f) => [f.toLowerCase(), f]));
  for (const [k, v] of Object.entries(src)) {
    const f = lower.get(k.toLowerCase());
    if (f !== undefined && (k === f || !(f in src))) out[f] = v;
  }
  return out;
}

/**
 * Sets `obj[key] = value` as an own property even for `__proto__`, which a plain assignment would turn into a
 * prototype change (silently dropping a metadata key Go keeps).
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

export class EventDecodeError extends Error {
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

/** Decodes one request body into an event, or throws EventDecodeError naming the bad field. */
export function decodeEvent(body: Buffer | string): FluxEvent {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new EventDecodeError(`body is not valid JSON: ${(err as Error).message}`);
  }
  const folded = foldFields(raw, TOP_FIELDS) as Record<string, unknown> | unknown;
  if (folded && typeof folded === 'object' && !Array.isArray(folded) && 'involvedObject' in (folded as object)) {
    (folded as Record<string, unknown>).involvedObject = foldFields((folded as Record<string, unknown>).involvedObject, REF_FIELDS);
  }
  let e: EventInput;
  if (isWellFormed(folded)) e = folded;
  else {
    // Anything off the common shape goes through the schema, which names the bad field.
    const parsed = eventSchema.safeParse(folded);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join('.');
      throw new EventDecodeError(field ? `${field}: ${issue.message}` : issue.message, field || undefined);
    }
    e = parsed.data;
  }
  const ref: ObjectReference = { kind: e.involvedObject.kind, namespace: e.involvedObject.namespace, name: e.involvedObject.name };
  for (const f of ['uid', 'apiVersion', 'resourceVersion', 'fieldPath'] as const) {
    const v = e.involvedObject[f];
    if (v) ref[f] = v;
  }
  let timestamp: string | null = null;
  if (e.timestamp != null) {
    const t = canonicalTimestamp(e.timestamp);
    if (t === undefined) throw new EventDecodeError(`timestamp: timestamp must be RFC 3339 (e.g. 2026-07-20T10:15:30Z), got ${JSON.stringify(e.timestamp)}`, 'timestamp');
    timestamp = t;
  }
  const metadata: Record<string, string> = {};
  if (e.metadata) for (const k in e.metadata) setOwn(metadata, k, e.metadata[k] ?? '');
  const event: FluxEvent = {
    involvedObject: ref,
    severity: e.severity,
    timestamp,
    message: e.message ?? '',
    reason: e.reason ?? '',
    metadata,
    reportingController: e.reportingController ?? '',
  };
  if (e.reportingInstance) event.reportingInstance = e.reportingInstance;
  return event;
}

/** A JSON string literal escaped as Go's encoding/json does (HTML-safe, U+2028/2029 escaped, invalid UTF-16 as U+FFFD). */
export function goJsonString(s: string): string {
  return JSON.stringify(s.toWellFormed()).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A string map with keys sorted by byte order, as Go serialises maps. */
export function goJsonStringMap(m: Record<string, string>): string {
  const keys = Object.keys(m).sort(compareBytes);
  return `{${keys.map((k) => `${goJsonString(k)}:${goJsonString(m[k]!)}`).join(',')}}`;
}

/** Byte-order (UTF-8) comparison. Below U+D800, UTF-16 code-unit order is the same, so most keys skip the encoding. */
export function compareBytes(a: string, b: string): number {
  if (!ABOVE_D7FF.test(a) && !ABOVE_D7FF.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const ABOVE_D7FF = /[\ud800-\uffff]/;
const HTML_UNSAFE = /[<>&\u2028\u2029]/;
const HTML_UNSAFE_ALL = /[<>&\u2028\u2029]/g;
/** Keys a JS object would reorder ahead of the others (array indices), or would not keep as its own. */
const UNORDERED_KEY = /^(?:0|[1-9][0-9]{0,9}|__proto__)$/;

/** Serialises an event exactly as Flux does (field order, omitted empties, sorted metadata, no trailing newline). */
export function encodeEvent(e: FluxEvent): string {
  // One JSON.stringify of a plain object in Go's field order is several times faster than escaping field by field
  // (this runs once per notification); inputs it could render differently take the field-by-field path.
  const ref = e.involvedObject;
  const involvedObject: Record<string, string> = {};
  for (const f of REF_FIELDS as (keyof ObjectReference)[]) {
    const v = ref[f];
    if (v) involvedObject[f] = v;
  }
  // Undefined members are left out by JSON.stringify and hold their place in the key order.
  const out: Record<string, unknown> = {
    involvedObject, severity: e.severity, timestamp: e.timestamp, message: e.message, reason: e.reason,
    metadata: undefined, reportingController: e.reportingController, reportingInstance: e.reportingInstance || undefined,
  };
  const keys = Object.keys(e.metadata);
  if (keys.length > 0) {
    keys.sort(compareBytes);
    const metadata: Record<string, string> = {};
    for (const k of keys) {
      if (UNORDERED_KEY.test(k)) return encodeEventByField(e);
      setOwn(metadata, k, e.metadata[k]!);
    }
    out.metadata = metadata;
  }
  const json = JSON.stringify(out);
  // A \u escape from JSON.stringify is a control character or a lone surrogate (which Go writes as \ufffd).
  if (json.includes('\\u')) return encodeEventByField(e);
  return HTML_UNSAFE.test(json) ? json.replace(HTML_UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}

/** The reference encoder: every string escaped on its own with goJsonString. */
export function encodeEventByField(e: FluxEvent): string {
  const ref = e.involvedObject;
  const refParts: string[] = [];
  for (const f of REF_FIELDS as (keyof ObjectReference)[]) {
    const v = ref[f];
    if (v) refParts.push(`${goJsonString(f)}:${goJsonString(v)}`);
  }
  let out = `{"involvedObject":{${refParts.join(',')}},"severity":${goJsonString(e.severity)},"timestamp":${e.timestamp === null ? 'null' : goJsonString(e.timestamp)},"message":${goJsonString(e.message)},"reason":${goJsonString(e.reason)}`;
  if (Object.keys(e.metadata).length > 0) out += `,"metadata":${goJsonStringMap(e.metadata)}`;
  out += `,"reportingController":${goJsonString(e.reportingController)}`;
  if (e.reportingInstance) out += `,"reportingInstance":${goJsonString(e.reportingInstance)}`;
  return out + '}';
}

/** The involved object's API group, derived like Kubernetes' ParseGroupVersion (events.md §5). */
export function apiGroupOf(apiVersion: string | undefined): string {
  if (!apiVersion || apiVersion === '/') return '';
  const parts = apiVersion.split('/');
  if (parts.length === 2) return parts[0]!;
  return '';
}

export function describeObject(ref: ObjectReference): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function cloneEvent(e: FluxEvent): FluxEvent {
  return { ...e, involvedObject: { ...e.involvedObject }, metadata: { ...e.metadata } };
}
