// Credential keys as fluxcd/pkg's AuthMethodsFromSecret reads them, all or nothing; Herald refuses what Flux silently drops.
import { ConfigError } from '../types.js';
import { has, str } from './secret-data.js';
import { keyPairError, tlsMaterial, validCaBundle } from './tls.js';

export interface Credentials {
  basic?: { username: string; password: string };
  token?: string;
}

/** Flux drops every credential of the Secret when one is malformed; Herald refuses the Secret and says why. */
export function parseCredentials(data: Record<string, Buffer>, context: string): Credentials {
  const out: Credentials = {};
  const hasUser = has(data, 'username');
  const hasPass = has(data, 'password');
  if (hasUser !== hasPass) {
    throw new ConfigError(hasUser
      ? `${context} has 'username' but no 'password' (both keys are needed for basic auth)`
      : `${context} has 'password' but no 'username' (both keys are needed for basic auth; spec.username is not combined with a Secret password)`);
  }
  if (hasUser) out.basic = { username: str(data, 'username')!, password: str(data, 'password')! };

  if (has(data, 'githubAppID') && has(data, 'githubAppPrivateKey')) {
    const owner = has(data, 'githubAppInstallationOwner');
    const id = has(data, 'githubAppInstallationID');
    if (owner === id) {
      throw new ConfigError(`${context} has 'githubAppID' and 'githubAppPrivateKey' but needs exactly one of 'githubAppInstallationOwner' or 'githubAppInstallationID'`);
    }
  }

  const tls = tlsMaterial(data);
  if (tls.cert && tls.key) {
    const err = keyPairError(tls.cert, tls.key);
    if (err) throw new ConfigError(`${context}: '${tls.certKey}' and '${tls.keyKey}' are not a valid certificate and key pair: ${err}`);
  }
  if (tls.ca && validCaBundle(tls.ca) === undefined) {
    throw new ConfigError(`${context}: '${tls.caKey}' holds no valid PEM certificate`);
  }

  const token = str(data, 'token');
  if (token) out.token = token;
  return out;
}

