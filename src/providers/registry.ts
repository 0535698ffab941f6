// The one map from Provider spec.type to its implementation. Add a provider by adding its module here.
import type { ProviderDefinition } from './types.js';
import { NatsProvider } from './nats.js';
import { GenericProvider } from './generic.js';
import { GenericHmacProvider } from './generic-hmac.js';
import { BitbucketServerProvider } from './bitbucketserver.js';

const definitions: ProviderDefinition<any>[] = [
  // each provider module's definition, one line per type
  NatsProvider,
  GenericProvider,
  GenericHmacProvider,
  BitbucketServerProvider,
];

const registry = new Map<string, ProviderDefinition<unknown>>(definitions.map((d) => [d.type, d]));

export function providerDefinition(type: string): ProviderDefinition<unknown> | undefined {
  return registry.get(type);
}

export function supportedProviderTypes(): string[] {
  return [...registry.keys()].sort();
}
