// Reading raw Secret data: presence, UTF-8 text, and Flux's wording for a Secret that is not there.
import type { Secret } from '../../api/secret.js';

export type GetSecret = (namespace: string, name: string) => Secret | undefined;

export function has(data: Record<string, Buffer>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(data, key);
}

export function str(data: Record<string, Buffer>, key: string): string | undefined {
  return has(data, key) ? data[key]!.toString('utf8') : undefined;
}

/** Flux's text for a Secret that is not there (the API server's NotFound message). */
export function secretNotFound(namespace: string, name: string): string {
  return `failed to get secret '${namespace}/${name}': secrets "${name}" not found`;
}

export function getSecretOrThrow(getSecret: GetSecret, namespace: string, name: string): Secret {
  const s = getSecret(namespace, name);
  if (!s) throw new Error(secretNotFound(namespace, name));
  return s;
}
