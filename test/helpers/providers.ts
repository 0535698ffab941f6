// What every provider test needs: the spec's canonical objects and event, Secrets, settings resolved as the pipeline
// resolves them, and one instance runtime (HTTP and NATS pools) per test file, closed after it.
import { afterAll } from 'vitest';
import { pino } from 'pino';
import { decodeEvent, type FluxEvent } from '../../src/api/event.js';
import type { Provider, ProviderSpec, ProviderType } from '../../src/api/provider.js';
import type { Secret } from '../../src/api/secret.js';
import type { Logger } from '../../src/logger.js';
import { providerDefinition } from '../../src/providers/registry.js';
import { ProviderRuntime } from '../../src/providers/runtime.js';
import { resolveProviderSettings } from '../../src/providers/settings/resolve.js';
import { DeliveryError, type Notification, type ProviderDefinition, type ProviderSettings, type SendContext } from '../../src/providers/types.js';

/** The provider input of providers/README.md §3.3, 552 bytes. */
export const CANONICAL_BODY = '{"involvedObject":{"kind":"Kustomization","namespace":"apps","name":"webapp","uid":"4f3c2a1b-8d7e-4c6b-9a5f-0e1d2c3b4a59","apiVersion":"kustomize.toolkit.fluxcd.io/v1","resourceVersion":"184467"},"severity":"error","timestamp":"2025-06-01T10:15:30Z","message":"Health check failed after 2m","reason":"HealthCheckFailed","metadata":{"cluster":"prod-eu","revision":"main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567","summary":"Production cluster"},"reportingController":"kustomize-controller","reportingInstance":"kustomize-controller-6f8c9d7b5-q2w4x"}';

/** providers/README.md §3.1. */
export const CANONICAL = {
  provider: { name: 'ops', namespace: 'apps', uid: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f' },
  alert: { name: 'webapp-alerts', namespace: 'apps', uid: 'a6b8c0d2-1e3f-4a5b-8c7d-9e0f1a2b3c4d' },
} as const;

/** The canonical provider input (§3.3); `info` gives the spec's "info variant" (the same bytes but the severity). */
export function canonicalEvent(severity: 'error' | 'info' = 'error'): FluxEvent {
  const e = decodeEvent(CANONICAL_BODY);
  e.severity = severity;
  return e;
}

export interface ProviderObjectOptions {
  name?: string;
  namespace?: string;
  uid?: string;
  annotations?: Record<string, string>;
}

/** A Provider object as the store holds it. */
export function providerObject(type: ProviderType, spec: Partial<ProviderSpec> = {}, opts: ProviderObjectOptions = {}): Provider {
  return {
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
    kind: 'Provider',
    metadata: {
      name: opts.name ?? CANONICAL.provider.name,
      namespace: opts.namespace ?? CANONICAL.provider.namespace,
      uid: opts.uid ?? CANONICAL.provider.uid,
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec: { ...spec, type } as ProviderSpec,
  };
}

/** A Secret with `data` from strings (UTF-8) or raw bytes. */
export function secretObject(name: string, data: Record<string, string | Buffer>, namespace = 'apps'): Secret {
  const bytes: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(data)) bytes[k] = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, uid: `uid-${name}` }, data: bytes };
}

/** The notification the pipeline hands a provider for `event` (metadata already merged). */
export function notificationFor(event: FluxEvent, p: Provider, extra: Partial<Pick<Notification, 'commitStatusId' | 'alert'>> = {}): Notification {
  return {
    event,
    alert: extra.alert ?? { ...CANONICAL.alert },
    provider: { namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid, type: p.spec.type },
    ...(extra.commitStatusId !== undefined ? { commitStatusId: extra.commitStatusId } : {}),
  };
}

/** Settings exactly as the delivery pipeline builds them. */
export function settingsFor(p: Provider, secrets: Secret[] = []): ProviderSettings {
  return resolveProviderSettings(p, (ns, name) => secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === name));
}

export const silentLog: Logger = pino({ level: 'silent' });

export function sendContext(timeoutMs = 5000, log: Logger = silentLog): SendContext {
  return { signal: AbortSignal.timeout(timeoutMs), attempt: 1, log };
}

/** One runtime for the test file, closed (pools drained) after it. */
export function testRuntime(): ProviderRuntime {
  const runtime = new ProviderRuntime();
  afterAll(() => runtime.close());
  return runtime;
}

export function definitionOf(type: string): ProviderDefinition<unknown> {
  const def = providerDefinition(type);
  if (!def) throw new Error(`provider type ${type} is not registered`);
  return def;
}

/** Parses the Provider as the ProviderCache does: settings, then the type's parse with the runtime. */
export function parseProvider(runtime: ProviderRuntime, p: Provider, secrets: Secret[] = []): { settings: ProviderSettings; config: unknown } {
  const settings = settingsFor(p, secrets);
  return { settings, config: definitionOf(p.spec.type).parse(settings, { runtime }) };
}

/** Resolves, parses and sends once, exactly as the worker does; returns the settings for masking checks. */
export async function deliverOnce(
  runtime: ProviderRuntime, p: Provider, secrets: Secret[] = [], event: FluxEvent = canonicalEvent(),
  opts: { timeoutMs?: number; log?: Logger; commitStatusId?: string } = {},
): Promise<ProviderSettings> {
  const { settings, config } = parseProvider(runtime, p, secrets);
  const def = definitionOf(p.spec.type);
  try {
    await def.send(notificationFor(event, p, opts.commitStatusId !== undefined ? { commitStatusId: opts.commitStatusId } : {}), config, sendContext(opts.timeoutMs, opts.log));
  } finally {
    await def.close?.(config);
  }
  return settings;
}

/** The DeliveryError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function deliveryFailure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof DeliveryError)) throw new Error(`expected a DeliveryError, got ${String(err)}`, { cause: err });
    return err;
  }
  throw new Error('expected the delivery to fail');
}
