// Metadata clean-up on receipt (event-server.md §5), internal key removal (§7.1) and the merge into a notification (§9).
import { apiGroupOf, EVENT_GROUP_PREFIX, setOwn, type FluxEvent } from '../api/event.js';
import type { AlertSpec } from '../api/alert.js';

/** Keeps `event.toolkit.fluxcd.io/*` and `<group>/*` keys, drops `<group>/checksum` and `<group>/digest` (case-insensitively). */
export function cleanMetadata(event: FluxEvent): FluxEvent {
  const prefix = `${apiGroupOf(event.involvedObject.apiVersion)}/`;
  const md = event.metadata;
  const kept: Record<string, string> = {};
  // Only a key that would be kept needs the (allocating) case-insensitive exclusion check.
  let excluded: string[] | undefined;
  for (const k of Object.keys(md)) {
    if (!k.startsWith(EVENT_GROUP_PREFIX) && !k.startsWith(prefix)) continue;
    excluded ??= [fold(`${prefix}checksum`), fold(`${prefix}digest`)];
    if (excluded.includes(fold(k))) continue;
    setOwn(kept, k, md[k]!);
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
  const md = event.metadata;
  const result: Record<string, string> = {};
  // Keys set twice are noted and their sources worked out afterwards: a conflict is rare, so the common merge keeps no
  // per-key source lists.
  let twice: string[] | undefined;
  let filled = false;
  const put = (key: string, value: string) => {
    filled = true;
    if (Object.prototype.hasOwnProperty.call(result, key) && !(twice ??= []).includes(key)) twice.push(key);
    setOwn(result, key, value);
  };
  const keys = Object.keys(md);
  for (const k of keys) if (k.startsWith(EVENT_GROUP_PREFIX)) put(k.slice(EVENT_GROUP_PREFIX.length), md[k]!);
  if (spec.eventMetadata) for (const k of Object.keys(spec.eventMetadata)) put(k, spec.eventMetadata[k]!);
  const usedDeprecatedSummary = !!spec.summary;
  if (spec.summary) put('summary', spec.summary);
  for (const k of keys) if (k.startsWith(prefix)) put(k.slice(prefix.length), md[k]!);
  const conflicts: MetadataConflict[] = [];
  if (twice) {
    const has = (o: Record<string, string> | null | undefined, k: string) => o != null && Object.prototype.hasOwnProperty.call(o, k);
    for (const key of twice.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const sources: string[] = [];
      if (has(md, EVENT_GROUP_PREFIX + key)) sources.push(SOURCE_ANNOTATIONS);
      if (has(spec.eventMetadata, key)) sources.push(SOURCE_EVENT_METADATA);
      if (key === 'summary' && spec.summary) sources.push(SOURCE_SUMMARY);
      if (has(md, prefix + key)) sources.push(SOURCE_CONTROLLER);
      conflicts.push({ key, sources });
    }
  }
  return { metadata: filled ? result : { ...md }, conflicts, usedDeprecatedSummary };
}

/** The Kubernetes Event annotations Flux attaches to MetadataAppendFailed: key -> "label 1, label 2". */
export function conflictAnnotations(conflicts: MetadataConflict[]): Record<string, string> {
  return Object.fromEntries(conflicts.map((c) => [c.key, c.sources.join(', ')]));
}
