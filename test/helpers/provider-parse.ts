// Small helpers for provider tests that check parse results: a Provider with an optional Secret, and the ConfigError
// a parse throws.
import { expect } from 'vitest';
import type { ProviderSpec, ProviderType } from '../../src/api/provider.js';
import type { Secret } from '../../src/api/secret.js';
import { ConfigError } from '../../src/providers/types.js';
import { providerObject, secretObject } from './providers.js';

/** The canonical Provider of `type` with `spec`, and a secretRef Secret `secretName` holding `secret` when given. */
export function providerWithSecret(type: ProviderType, secretName: string, spec: Partial<ProviderSpec>, secret?: Record<string, string>) {
  const p = providerObject(type, { ...spec, ...(secret ? { secretRef: { name: secretName } } : {}) });
  const secrets: Secret[] = secret ? [secretObject(secretName, secret)] : [];
  return { p, secrets };
}

/** The ConfigError `parse` throws; fails the test when it returns or throws anything else. */
export function configErrorOf(parse: () => unknown): ConfigError {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
