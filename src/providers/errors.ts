// Error texts shared by provider families: where a Provider's address came from, and failures with derived secrets masked.
import { maskSecrets } from '../logger.js';
import { DeliveryError, type ProviderSettings } from './types.js';

/** `provider <ns>/<name>: secret <ns>/<secret> key 'address'` or `provider <ns>/<name>: spec.address`, for ConfigErrors. */
export function addressSource(settings: Pick<ProviderSettings, 'provider' | 'secretName' | 'secretData'>): string {
  const provider = `provider ${settings.provider.metadata.namespace}/${settings.provider.metadata.name}`;
  const fromSecret = settings.secretName !== undefined && Object.prototype.hasOwnProperty.call(settings.secretData, 'address');
  return fromSecret ? `${provider}: secret ${settings.secretName} key 'address'` : `${provider}: spec.address`;
}

/**
 * The same failure (classification, Retry-After) with a prefix and every value of `secrets` replaced by `*****`: for
 * credentials a provider derives itself (a DSN's secret key, a Basic value), which the settings' masking cannot know.
 * The original error is not kept as the cause, so no unmasked text travels with it.
 */
export function maskedDeliveryError(err: DeliveryError, secrets: readonly string[], prefix = ''): DeliveryError {
  return new DeliveryError(maskSecrets(`${prefix}${err.message}`, secrets.filter((s) => s !== '')), {
    retryable: err.retryable,
    reason: err.reason,
    ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
  });
}
