// Kubernetes Secrets as Herald reads them: `data` (base64) and `stringData`, values kept as raw bytes.
import { z } from 'zod';
import { objectMetaSchema, type ResolvedMeta } from './meta.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const secretSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Secret'),
  metadata: objectMetaSchema,
  type: z.string().optional(),
  data: z.record(z.string(), z.string().refine((v) => BASE64.test(v.replace(/\s+/g, '')) && v.replace(/\s+/g, '').length % 4 === 0, 'must be base64'))
    .nullish(),
  stringData: z.record(z.string(), z.string()).nullish(),
}).loose();

export interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ResolvedMeta;
  type?: string;
  /** Decoded values; `stringData` wins over `data` as on the API server. */
  data: Record<string, Buffer>;
}

export function secretDataFrom(parsed: z.infer<typeof secretSchema>): Record<string, Buffer> {
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(parsed.data ?? {})) data[k] = Buffer.from(v.replace(/\s+/g, ''), 'base64');
  for (const [k, v] of Object.entries(parsed.stringData ?? {})) data[k] = Buffer.from(v, 'utf8');
  return data;
}

export function hasKey(secret: Secret, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(secret.data, key);
}

export function secretString(secret: Secret, key: string): string | undefined {
  const v = secret.data[key];
  return v === undefined ? undefined : v.toString('utf8');
}
