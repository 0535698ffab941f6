// Parses the YAML text of one manifest file into validated Alerts, Providers, Secrets and other objects, plus one problem per broken field.
import { Composer, LineCounter, Parser, type Document } from 'yaml';
import type { z } from 'zod';
import { ALERT_API_VERSIONS, NOTIFICATION_GROUP, alertSchema, type Alert } from '../api/alert.js';
import { apiGroupOf } from '../api/event.js';
import { objectMetaSchema, resolveMeta, type ObjectMeta, type ResolvedMeta } from '../api/meta.js';
import { providerSchema, type Provider } from '../api/provider.js';
import { secretDataFrom, secretSchema, type Secret } from '../api/secret.js';
import type { GenericObject, StoredObject } from './store.js';

/** Why one document (or one item of a List document) of a manifest file was skipped. */
export interface ManifestProblem {
  /** The file as the user named it (config dir joined with the path below it). */
  file: string;
  /** 1-based position of the YAML document in the file, counting every `---` separated document; 0 for the whole file. */
  document: number;
  kind?: string;
  namespace?: string;
  name?: string;
  /** Dotted path of the offending field, e.g. `spec.eventSources.0.kind`; List items start with `items.<n>`. */
  field?: string;
  message: string;
  /** 1-based line of the error (YAML syntax errors) or of the document's start. */
  line?: number;
}

/** One valid object and where it was defined. */
export interface ManifestEntry {
  object: StoredObject;
  /** Identity in the store: API group, kind, namespace and name (the version does not matter). */
  id: string;
  document: number;
  /** Index in `items` when the object came from a List document. */
  item?: number;
  line?: number;
  /** entryFingerprint of the object, set by the directory source when it parses the file. */
  fingerprint?: string;
}

export interface ParsedManifestFile {
  entries: ManifestEntry[];
  problems: ManifestProblem[];
  /** The first YAML syntax error: the text is not (yet) well-formed, e.g. a file caught half-written. */
  syntaxError?: { line: number; column: number; message: string };
}

/** At most this many field problems are reported per object, so one garbage document cannot flood the log. */
const MAX_ISSUES_PER_OBJECT = 10;

const FLUX_VERSION = `${NOTIFICATION_GROUP}/v1beta3`;

/**
 * Kubernetes reads manifests as YAML 1.1 (`yes`/`on` are booleans, `0777` is octal), so Herald does too; but
 * timestamps and base-60 numbers stay strings, as they do for kubectl, so a label like `1:20` is not turned into 80.
 */
const YAML_OPTIONS = {
  version: '1.1' as const,
  prettyErrors: false,
  customTags: (tags: unknown[]) =>
    tags.filter((t) => {
      const tag = t as { tag?: string; format?: string };
      return tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME';
    }) as never,
};

/** The store's identity of an object: `group|kind|namespace/name`, the same for every version of the group. */
export function objectId(obj: { apiVersion: string; kind: string; metadata: { namespace: string; name: string } }): string {
  return `${apiGroupOf(obj.apiVersion)}|${obj.kind}|${obj.metadata.namespace}/${obj.metadata.name}`;
}

/** Pure: parses a manifest text. Objects come out in document order; broken documents only add problems. */
export function parseManifests(text: string, file: string): { objects: StoredObject[]; problems: ManifestProblem[] } {
  const parsed = parseManifestFile(text, file);
  return { objects: parsed.entries.map((e) => e.object), problems: parsed.problems };
}

/** Like parseManifests, with each object's position and the first YAML syntax error, for the directory source. */
export function parseManifestFile(text: string, file: string): ParsedManifestFile {
  const lineCounter = new LineCounter();
  const out: ParsedManifestFile = { entries: [], problems: [] };
  // Streamed one document at a time (parser and composer are generators): a file with thousands of Alerts never
  // holds all its syntax trees at once, which keeps the start-up peak, and so the resident memory, small.
  const composer = new Composer({ ...YAML_OPTIONS, lineCounter } as ConstructorParameters<typeof Composer>[0]);
  let i = 0;
  for (const doc of composer.compose(new Parser(lineCounter.addNewLine).parse(text))) {
    parseDocument(doc as Document.Parsed, ++i, file, lineCounter, out);
  }
  return out;
}

function parseDocument(doc: Document.Parsed, document: number, file: string, lines: LineCounter, out: ParsedManifestFile): void {
  const line = lines.linePos(doc.range[0]).line;
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = lines.linePos(err.pos[0]);
      // prettyErrors is off so the message carries no excerpt of the source, which could be a Secret value.
      const message = `YAML syntax error at line ${pos.line}, column ${pos.col}: ${err.message}`;
      out.syntaxError ??= { line: pos.line, column: pos.col, message: err.message };
      out.problems.push({ file, document, message, line: pos.line });
    }
    return;
  }
  if (doc.contents === null) return;
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    out.problems.push({ file, document, message: `cannot read document: ${(err as Error).message}`, line });
    return;
  }
  if (value === null || value === undefined) return;
  if (!isRecord(value)) {
    out.problems.push({ file, document, message: 'document is not a mapping (a Kubernetes object)', line });
    return;
  }
  if (isList(value)) {
    parseList(value, document, line, file, out);
    return;
  }
  parseObject(value, { file, document, line, fieldPrefix: '' }, out);
}

interface Position {
  file: string;
  document: number;
  line: number;
  fieldPrefix: string;
  item?: number;
}

/** `kind: List` (kubectl's generic list) and typed lists such as `AlertList` as `kubectl get -o yaml` prints them. */
function isList(value: Record<string, unknown>): boolean {
  return typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

function parseList(list: Record<string, unknown>, document: number, line: number, file: string, out: ParsedManifestFile): void {
  const listKind = list.kind as string;
  // Items of a typed list may omit apiVersion and kind: they are those of the list.
  const itemKind = listKind === 'List' ? undefined : listKind.slice(0, -'List'.length);
  const itemApiVersion = listKind === 'List' ? undefined : list.apiVersion;
  (list.items as unknown[]).forEach((item, i) => {
    const fieldPrefix = `items.${i}`;
    if (!isRecord(item)) {
      out.problems.push({ file, document, field: fieldPrefix, message: 'list item is not a mapping (a Kubernetes object)', line });
      return;
    }
    const filled = { ...item };
    if (filled.kind === undefined && itemKind) filled.kind = itemKind;
    if (filled.apiVersion === undefined && itemApiVersion !== undefined) filled.apiVersion = itemApiVersion;
    parseObject(filled, { file, document, line, fieldPrefix, item: i }, out);
  });
}

function parseObject(raw: Record<string, unknown>, pos: Position, out: ParsedManifestFile): void {
  const ident = identify(raw);
  const problem = (field: string | undefined, message: string): ManifestProblem => ({
    file: pos.file,
    document: pos.document,
    ...ident,
    ...(field !== undefined || pos.fieldPrefix ? { field: [pos.fieldPrefix, field].filter(Boolean).join('.') } : {}),
    message,
    line: pos.line,
  });

  if (typeof raw.apiVersion !== 'string' || raw.apiVersion === '') {
    out.problems.push(problem('apiVersion', 'apiVersion is required'));
    return;
  }
  if (typeof raw.kind !== 'string' || raw.kind === '') {
    out.problems.push(problem('kind', 'kind is required'));
    return;
  }
  const apiVersion = raw.apiVersion;
  const kind = raw.kind;
  const group = apiGroupOf(apiVersion);

  let object: StoredObject | undefined;
  if (group === NOTIFICATION_GROUP && (kind === 'Alert' || kind === 'Provider')) {
    if (!(ALERT_API_VERSIONS as readonly string[]).includes(apiVersion)) {
      out.problems.push(problem('apiVersion', `apiVersion ${apiVersion} is not supported for ${kind}: use ${FLUX_VERSION}`));
      return;
    }
    object = kind === 'Alert' ? toAlert(raw, out, problem) : toProvider(raw, out, problem);
  } else if (group === '' && kind === 'Secret') {
    object = toSecret(raw, out, problem);
  } else {
    object = toGeneric(raw, apiVersion, kind, out, problem);
  }
  if (!object) return;
  out.entries.push({
    object,
    id: objectId(object),
    document: pos.document,
    ...(pos.item !== undefined ? { item: pos.item } : {}),
    line: pos.line,
  });
}

type ProblemAt = (field: string | undefined, message: string) => ManifestProblem;

function toAlert(raw: Record<string, unknown>, out: ParsedManifestFile, problem: ProblemAt): Alert | undefined {
  const r = alertSchema.safeParse(raw);
  if (!r.success) return reportIssues(r.error, out, problem);
  // v1beta2 manifests are accepted when they are valid v1beta3, and from then on they are v1beta3 objects.
  return { apiVersion: FLUX_VERSION, kind: 'Alert', metadata: meta('Alert', r.data.metadata), spec: r.data.spec };
}

function toProvider(raw: Record<string, unknown>, out: ParsedManifestFile, problem: ProblemAt): Provider | undefined {
  const r = providerSchema.safeParse(raw);
  if (!r.success) return reportIssues(r.error, out, problem);
  return { apiVersion: FLUX_VERSION, kind: 'Provider', metadata: meta('Provider', r.data.metadata), spec: r.data.spec };
}

function toSecret(raw: Record<string, unknown>, out: ParsedManifestFile, problem: ProblemAt): Secret | undefined {
  const r = secretSchema.safeParse(raw);
  if (!r.success) return reportIssues(r.error, out, problem);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta('Secret', r.data.metadata),
    ...(r.data.type !== undefined ? { type: r.data.type } : {}),
    data: secretDataFrom(r.data),
  };
}

function toGeneric(raw: Record<string, unknown>, apiVersion: string, kind: string, out: ParsedManifestFile, problem: ProblemAt): GenericObject | undefined {
  const r = objectMetaSchema.safeParse(raw.metadata);
  if (!r.success) return reportIssues(r.error, out, problem, 'metadata');
  // Only the identity and labels are needed (matchLabels lookups); the spec is dropped to keep memory small.
  const m = meta(kind, r.data);
  const metadata: ResolvedMeta = { name: m.name, namespace: m.namespace, uid: m.uid };
  if (m.labels) metadata.labels = m.labels;
  if (m.annotations) metadata.annotations = m.annotations;
  return { apiVersion, kind, metadata };
}

function meta(kind: string, m: ObjectMeta): ResolvedMeta {
  // managedFields of `kubectl get -o yaml` output are large and meaningless here.
  const { managedFields: _dropped, ...rest } = m as ObjectMeta & { managedFields?: unknown };
  return resolveMeta(kind, rest);
}

function reportIssues(error: z.ZodError, out: ParsedManifestFile, problem: ProblemAt, prefix?: string): undefined {
  const issues = error.issues;
  for (const issue of issues.slice(0, MAX_ISSUES_PER_OBJECT)) {
    const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    // zod messages name the expectation, never the input, so a Secret value cannot end up in a log line.
    out.problems.push(problem(field || undefined, issue.message));
  }
  if (issues.length > MAX_ISSUES_PER_OBJECT) {
    out.problems.push(problem(undefined, `${issues.length - MAX_ISSUES_PER_OBJECT} more problems not shown`));
  }
  return undefined;
}

/** Kind, namespace and name as far as they can be read from a raw object, to name it in problems. */
function identify(raw: Record<string, unknown>): Pick<ManifestProblem, 'kind' | 'namespace' | 'name'> {
  const out: Pick<ManifestProblem, 'kind' | 'namespace' | 'name'> = {};
  if (typeof raw.kind === 'string' && raw.kind) out.kind = raw.kind;
  const m = raw.metadata;
  if (isRecord(m)) {
    if (typeof m.name === 'string' && m.name) {
      out.name = m.name;
      out.namespace = typeof m.namespace === 'string' && m.namespace ? m.namespace : 'default';
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Set);
}

/** One line: `examples/alerts.yaml#2 Alert apps/foo: spec.eventSources.0.kind: <message>` (document 0: the whole file). */
export function formatProblem(p: ManifestProblem): string {
  let head = p.document > 0 ? `${p.file}#${p.document}` : p.file;
  if (p.kind) head += ` ${p.kind}`;
  if (p.name) head += ` ${p.namespace ?? 'default'}/${p.name}`;
  return `${head}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}
