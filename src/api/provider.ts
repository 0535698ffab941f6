// The Provider resource (notification.toolkit.fluxcd.io/v1beta3), validated as its CRD does, and the provider type classes.
import { z } from 'zod';
import { localObjectReferenceSchema, objectMetaSchema, type ResolvedMeta } from './meta.js';
import { ALERT_API_VERSIONS } from './alert.js';

export const PROVIDER_TYPES = [
  'slack', 'discord', 'msteams', 'rocket', 'generic', 'generic-hmac', 'github', 'gitlab', 'gitea',
  'giteapullrequestcomment', 'bitbucketserver', 'bitbucket', 'azuredevops', 'googlechat', 'googlepubsub', 'webex',
  'sentry', 'azureeventhub', 'telegram', 'lark', 'matrix', 'opsgenie', 'alertmanager', 'grafana', 'githubdispatch',
  'githubpullrequestcomment', 'gitlabmergerequestcomment', 'pagerduty', 'datadog', 'nats', 'zulip', 'otel', 'zoom',
  'incident.io',
] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** The families of spec/providers/README.md §1. */
export const PROVIDER_CATEGORIES = ['forwarding', 'chat', 'incident', 'cloud-bus', 'commit-status', 'change-request'] as const;
export type ProviderCategory = (typeof PROVIDER_CATEGORIES)[number];

/**
 * Flux's family of every type the CRD allows. Routing gates (event-server.md §8.3) and the CRD's commitStatusExpr
 * rule depend on it whether or not this build implements the type; each provider definition declares its category
 * too, and the registry refuses a definition that disagrees with this table.
 */
export const PROVIDER_CATEGORY: Readonly<Record<ProviderType, ProviderCategory>> = {
  generic: 'forwarding', 'generic-hmac': 'forwarding', githubdispatch: 'forwarding', otel: 'forwarding',
  slack: 'chat', discord: 'chat', msteams: 'chat', rocket: 'chat', googlechat: 'chat', webex: 'chat', telegram: 'chat',
  lark: 'chat', matrix: 'chat', zulip: 'chat', zoom: 'chat',
  sentry: 'incident', opsgenie: 'incident', alertmanager: 'incident', grafana: 'incident', pagerduty: 'incident',
  datadog: 'incident', 'incident.io': 'incident',
  nats: 'cloud-bus', googlepubsub: 'cloud-bus', azureeventhub: 'cloud-bus',
  github: 'commit-status', gitlab: 'commit-status', gitea: 'commit-status', bitbucketserver: 'commit-status',
  bitbucket: 'commit-status', azuredevops: 'commit-status',
  githubpullrequestcomment: 'change-request', gitlabmergerequestcomment: 'change-request', giteapullrequestcomment: 'change-request',
};

const typesOf = (c: ProviderCategory): ReadonlySet<string> => new Set(PROVIDER_TYPES.filter((t) => PROVIDER_CATEGORY[t] === c));
export const COMMIT_STATUS_TYPES: ReadonlySet<string> = typesOf('commit-status');
export const CHANGE_REQUEST_TYPES: ReadonlySet<string> = typesOf('change-request');
/** The whole-event forwarders that also receive commit_status=update events (gate A). */
export const GENERIC_TYPES: ReadonlySet<string> = new Set(['generic', 'generic-hmac']);

export const TIMEOUT_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m))+$/;
const INTERVAL_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

export const providerSpecSchema = z.object({
  type: z.enum(PROVIDER_TYPES, { error: (i) => `type ${JSON.stringify(i.input)} is not a supported provider type` }),
  interval: z.string().regex(INTERVAL_PATTERN, 'interval must be a duration such as 5m').optional(),
  channel: z.string().max(2048).optional(),
  username: z.string().max(2048).optional(),
  address: z.string().max(2048).optional(),
  timeout: z.string().regex(TIMEOUT_PATTERN, 'timeout must be a duration in ms, s or m, such as 15s').optional(),
  proxy: z.string().max(2048).regex(/^(http|https):\/\/.*$/, 'proxy must start with http:// or https://').optional(),
  proxySecretRef: localObjectReferenceSchema.optional(),
  secretRef: localObjectReferenceSchema.optional(),
  serviceAccountName: z.string().optional(),
  certSecretRef: localObjectReferenceSchema.optional(),
  suspend: z.boolean().optional(),
  commitStatusExpr: z.string().optional(),
}).loose().refine((s) => COMMIT_STATUS_TYPES.has(s.type) || s.commitStatusExpr === undefined, {
  message: `spec.commitStatusExpr is only supported for the ${[...COMMIT_STATUS_TYPES].map((t) => `'${t}'`).join(', ')} provider types`,
  path: ['commitStatusExpr'],
});

export const providerSchema = z.object({
  apiVersion: z.enum(ALERT_API_VERSIONS),
  kind: z.literal('Provider'),
  metadata: objectMetaSchema,
  spec: providerSpecSchema,
}).loose();

export type ProviderSpec = z.infer<typeof providerSpecSchema>;

export interface Provider {
  apiVersion: string;
  kind: 'Provider';
  metadata: ResolvedMeta;
  spec: ProviderSpec;
}

/** A Go duration restricted to the CRD's units, in milliseconds. */
export function parseDuration(value: string): number {
  let total = 0;
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(value)) !== null) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    consumed = re.lastIndex;
  }
  if (consumed !== value.length || value.length === 0) throw new Error(`invalid duration ${JSON.stringify(value)}`);
  return total;
}

export const DEFAULT_PROVIDER_TIMEOUT_MS = 15_000;

export function providerTimeoutMs(p: Provider): number {
  return p.spec.timeout ? parseDuration(p.spec.timeout) : DEFAULT_PROVIDER_TIMEOUT_MS;
}
