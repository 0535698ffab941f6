// How chat providers name what is wrong in a configuration error: the Provider, its Secret and the key.
import type { ProviderSettings } from '../types.js';

/** Where a Secret key was looked for: `secret apps/ops-token has no 'token'`, or that there is no secretRef at all. */
export function missingSecretKey(settings: Pick<ProviderSettings, 'secretName'>, key: string): string {
  return settings.secretName
    ? `secret ${settings.secretName} has no '${key}' (or it is empty)`
    : `spec.secretRef is not set, so there is no Secret '${key}'`;
}

/** The Secret key that holds a value: `secret apps/ops-token key 'token'`. */
export function secretKeyLabel(settings: Pick<ProviderSettings, 'secretName'>, key: string): string {
  return settings.secretName ? `secret ${settings.secretName} key '${key}'` : `the '${key}'`;
}

/** A credential that cannot travel in an HTTP header as is (a Secret made from a file with a trailing newline). */
export function hasLineBreak(value: string): boolean {
  return /[\r\n\0]/.test(value);
}
