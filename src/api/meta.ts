// Kubernetes object metadata shared by every resource Herald reads, and the stable uid for objects without one.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const objectMetaSchema = z.object({
  name: z.string().min(1, 'metadata.name is required'),
  namespace: z.string().min(1).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
}).loose();

export type ObjectMeta = z.infer<typeof objectMetaSchema>;

/** Metadata after defaulting: namespace and uid always set. */
export interface ResolvedMeta extends ObjectMeta {
  namespace: string;
  uid: string;
}

export interface NamespacedName {
  namespace: string;
  name: string;
}

export const localObjectReferenceSchema = z.object({ name: z.string().min(1) }).loose();

/** A uid derived from kind/namespace/name so that objects from files get the same uid on every run. */
export function stableUid(kind: string, namespace: string, name: string): string {
  const h = createHash('sha256').update(`${kind}/${namespace}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function resolveMeta(kind: string, meta: ObjectMeta): ResolvedMeta {
  const namespace = meta.namespace ?? 'default';
  return { ...meta, namespace, uid: meta.uid || stableUid(kind, namespace, meta.name) };
}

export function keyOf(ref: NamespacedName): string {
  return `${ref.namespace}/${ref.name}`;
}

/** Formats zod issues as `path: message` lines, the way every validation error in Herald names its field. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}
