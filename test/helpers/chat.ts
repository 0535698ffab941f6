// What the chat provider tests share: Flux's upstream test event and the ConfigError a Provider is refused with.
import { expect } from 'vitest';
import { decodeEvent, type FluxEvent } from '../../src/api/event.js';
import type { Provider } from '../../src/api/provider.js';
import type { Secret } from '../../src/api/secret.js';
import type { ProviderRuntime } from '../../src/providers/runtime.js';
import { ConfigError } from '../../src/providers/types.js';
import { canonicalEvent, deliverOnce, parseProvider, secretObject } from './providers.js';
import { startProxy } from './proxy.js';

/** The event of Flux's chat notifier tests: GitRepository gitops-system/webapp, info, message `message`. */
export function upstreamChatEvent(metadata: Record<string, string> = { test: 'metadata' }, severity = 'info'): FluxEvent {
  return decodeEvent(JSON.stringify({
    involvedObject: { kind: 'GitRepository', namespace: 'gitops-system', name: 'webapp' },
    severity,
    timestamp: '2022-09-30T06:40:29Z',
    message: 'message',
    reason: 'reason',
    metadata,
    reportingController: 'source-controller',
    reportingInstance: 'source-controller-xyz',
  }));
}

/** The ConfigError's message when the Provider is parsed as the ProviderCache does; fails the test when it parses. */
export function configErrorOf(runtime: ProviderRuntime, p: Provider, secrets: Secret[] = []): string {
  try {
    parseProvider(runtime, p, secrets);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

/**
 * Sends the canonical event once with a proxySecretRef to a real recording proxy added to the Provider; returns how
 * many times the proxy was used (0 for a type that does not apply the Provider proxy).
 */
export async function proxyUses(runtime: ProviderRuntime, p: Provider, secrets: Secret[]): Promise<number> {
  const proxy = await startProxy();
  try {
    const withProxy: Provider = { ...p, spec: { ...p.spec, proxySecretRef: { name: 'chat-proxy' } } };
    await deliverOnce(runtime, withProxy, [...secrets, secretObject('chat-proxy', { address: proxy.url })], canonicalEvent());
    return proxy.used.length;
  } finally {
    await proxy.close();
  }
}
