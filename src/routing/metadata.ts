// Metadata clean-up on receipt (event-server.md §5), internal key removal (§7.1) and the merge into a notification (§9).
import { apiGroupOf, EVENT_GROUP_PREFIX, setOwn, type FluxEvent } from '../api/event.js';
import type { AlertSpec } from '../api/alert.js';

/** Keeps `event.toolkit.fluxcd.io/*` and `<group>/*` keys, drops `<group>/checksum` and `<group>/digest` (case-insensitively). */
export function cleanMetadata(event: FluxEvent): FluxEvent {
  const prefix = `${apiGroupOf(event.involvedObject.apiVersion)}/`;
  const excluded = [`${prefix}checksum`, `${prefix}digest`].map(fold);
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.metadata)) {
    if (excluded.includes(fold(k))) continue;
    if (k.startsWith(EVENT_GROUP_PREFIX) || k.startsWith(prefix)) setOwn(kept, k, v);
  }
  return { ...event, metadata: kept };
}

/** Unicode simple case folding is close enough to lower-then-upper for the ASCII keys involved. */
function fold(s: string): string {
  return s.toLowerCase().toUpperCase();
}

/** Removes `<group>/token`: it takes part in the dedup key but must never reach a provider. */
export function removeInternalMetadata(event: FluxEvent): FluxEvent {
  const key = `${apiGroupOf(event.involvedObject.apiVersion)}/token`;
  if (!Object.prototype.hasOwnProperty.call(event.metadata, key)) return event;
  const metadata = { ...event.metadata };
  delete metadata[key];
  return { ...event, metadata };
}

export const SOURCE_ANNOTATIONS = 'involved object annotations';
export const SOURCE_EVENT_METADATA = 'Alert object .spec.eventMetadata';
export const SOURCE_SUMMARY = 'Alert object .spec.summary';
export const SOURCE_CONTROLLER = 'involved object controller metadata';

export interface MetadataConflict {
  key: string;
  sources: string[];
}

export interface MergeResult {
  metadata: Record<string, string>;
  /** Sorted by key; reported even when the values are identical, as Flux does. */
  conflicts: MetadataConflict[];
  /** The deprecated `spec.summary` was used (Flux logs a deprecation warning). */
  usedDeprecatedSummary: boolean;
}

/** Builds the notification's metadata: annotations < Alert eventMetadata < Alert summary < controller metadata. */
export function mergeMetadata(event: FluxEvent, spec: Pick<AlertSpec, 'eventMetadata' | 'summary'>): MergeResult {
  const prefix = `${apiGroupOf(event.involvedObject.apiVersion)}/`;
  const result: Record<string, string> = {};
  const sources = new Map<string, string[]>();
  const put = (key: string, value: string, source: string) => {
    setOwn(result, key, value);
    const list = sources.get(key);
    if (list) list.push(source);
    else sources.set(key, [source]);
  };
  for (const [k, v] of Object.entries(event.metadata)) {
    if (k.startsWith(EVENT_GROUP_PREFIX)) put(k.slice(EVENT_GROUP_PREFIX.length), v, SOURCE_ANNOTATIONS);
  }
  for (const [k, v] of Object.entries(spec.eventMetadata ?? {})) put(k, v, SOURCE_EVENT_METADATA);
  const usedDeprecatedSummary = !!spec.summary;
  if (spec.summary) put('summary', spec.summary, SOURCE_SUMMARY);
  for (const [k, v] of Object.entries(event.metadata)) {
    if (k.startsWith(prefix)) put(k.slice(prefix.length), v, SOURCE_CONTROLLER);
  }
  const conflicts: MetadataConflict[] = [];
  for (const [key, list] of sources) if (list.length > 1) conflicts.push({ key, sources: list });
  conflicts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { metadata: Object.keys(result).length > 0 ? result : { ...event.metadata }, conflicts, usedDeprecatedSummary };
}

/** The Kubernetes Event annotations Flux attaches to MetadataAppendFailed: key -> "label 1, label 2". */
export function conflictAnnotations(conflicts: MetadataConflict[]): Record<string, string> {
  return Object.fromEntries(conflicts.map((c) => [c.key, c.sources.join(', ')]));
}
