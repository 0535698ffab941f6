// The Alert resource (notification.toolkit.fluxcd.io/v1beta3), validated as its CRD does.
import { z } from 'zod';
import { localObjectReferenceSchema, objectMetaSchema, type ResolvedMeta } from './meta.js';

export const NOTIFICATION_GROUP = 'notification.toolkit.fluxcd.io';
export const ALERT_API_VERSIONS = [`${NOTIFICATION_GROUP}/v1beta3`, `${NOTIFICATION_GROUP}/v1beta2`] as const;

export const EVENT_SOURCE_KINDS = [
  'Bucket', 'GitRepository', 'Kustomization', 'HelmRelease', 'HelmChart', 'HelmRepository', 'ImageRepository',
  'ImagePolicy', 'ImageUpdateAutomation', 'OCIRepository', 'ArtifactGenerator', 'ExternalArtifact',
] as const;

export const eventSourceSchema = z.object({
  apiVersion: z.string().optional(),
  // Flux's CRD enumerates EVENT_SOURCE_KINDS, but installers patch it (Flux Operator kinds) and the event server
  // accepts any kind: so does Herald. `herald check` warns about kinds outside Flux's list.
  kind: z.string({ error: 'kind is required' }).min(1, 'kind must not be empty'),
  name: z.string().min(1).max(253),
  namespace: z.string().min(1).max(253).optional(),
  matchLabels: z.record(z.string(), z.string()).nullish(),
}).loose();

export const alertSpecSchema = z.object({
  providerRef: localObjectReferenceSchema,
  eventSeverity: z.enum(['info', 'error']).default('info'),
  eventSources: z.array(eventSourceSchema),
  inclusionList: z.array(z.string()).nullish(),
  exclusionList: z.array(z.string()).nullish(),
  eventMetadata: z.record(z.string(), z.string()).nullish(),
  summary: z.string().max(255).optional(),
  suspend: z.boolean().optional(),
}).loose();

export const alertSchema = z.object({
  apiVersion: z.enum(ALERT_API_VERSIONS),
  kind: z.literal('Alert'),
  metadata: objectMetaSchema,
  spec: alertSpecSchema,
}).loose();

export type EventSource = z.infer<typeof eventSourceSchema>;
export type AlertSpec = z.infer<typeof alertSpecSchema>;
export type AlertManifest = z.infer<typeof alertSchema>;

export interface Alert {
  apiVersion: string;
  kind: 'Alert';
  metadata: ResolvedMeta;
  spec: AlertSpec;
}
