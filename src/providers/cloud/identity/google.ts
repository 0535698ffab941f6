// Google identity for the cloud providers: the credentials JSON of a Secret (checked at parse time, never quoted in an
// error) and the controller's application default credentials, one GoogleAuth per Herald instance so tokens are cached
// once per identity.
import { createPrivateKey } from 'node:crypto';
import type { GoogleAuth } from 'google-auth-library';
import type { ProviderRuntime } from '../../runtime.js';
import { ConfigError } from '../../types.js';
import { sharedLazily, withDeadline } from '../sdk.js';
import { serviceAccountAnnotations, serviceAccountKey, serviceAccountToken, type ServiceAccountRef } from './service-account.js';

/** The scopes Flux's Pub/Sub client requests (the SDK's defaults). */
export const PUBSUB_SCOPES = ['https://www.googleapis.com/auth/pubsub', 'https://www.googleapis.com/auth/cloud-platform'];

/** The credential file types google-auth-library accepts (`GoogleAuth.fromJSON`). */
export const GOOGLE_CREDENTIAL_TYPES = [
  'service_account', 'authorized_user', 'impersonated_service_account', 'external_account',
  'external_account_authorized_user', 'gdch_service_account',
] as const;

/** Fields of a credentials JSON that are secrets on their own. */
const SECRET_FIELDS = ['private_key', 'private_key_id', 'client_secret', 'refresh_token'];

export interface GoogleCredentials {
  /** The parsed JSON, handed to google-auth-library as `credentials`. */
  readonly json: Record<string, unknown>;
  readonly type: (typeof GOOGLE_CREDENTIAL_TYPES)[number];
  /** The service account or client the credentials name (safe to log). */
  readonly identity: string;
  /** Secret fields of the JSON (private key, client secret, refresh token), to mask. */
  readonly sensitive: string[];
}

/**
 * Parses the Secret `token` as a Google credentials JSON. Errors name the Secret and key and never quote the value
 * (JSON.parse messages quote the input, so they are not passed on).
 */
export function parseGoogleCredentials(token: string, secretWhere: string): GoogleCredentials {
  const bad = (why: string): ConfigError => new ConfigError(`${secretWhere} key 'token': ${why}`);
  let json: unknown;
  try {
    json = JSON.parse(token);
  } catch {
    throw bad('is not valid JSON; a Google credentials JSON (for example a service-account key file) is expected');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw bad('is not a JSON object; a Google credentials JSON (for example a service-account key file) is expected');
  }
  const obj = json as Record<string, unknown>;
  const type = obj['type'];
  if (typeof type !== 'string' || type === '') {
    throw bad(`the credentials JSON has no "type" (one of ${GOOGLE_CREDENTIAL_TYPES.join(', ')})`);
  }
  if (!(GOOGLE_CREDENTIAL_TYPES as readonly string[]).includes(type)) {
    throw bad(`the credentials JSON has the unsupported type ${JSON.stringify(type)} (one of ${GOOGLE_CREDENTIAL_TYPES.join(', ')})`);
  }
  const field = (name: string): string | undefined => (typeof obj[name] === 'string' && obj[name] !== '' ? (obj[name] as string) : undefined);
  const sensitive: string[] = [];
  for (const name of SECRET_FIELDS) {
    const v = field(name);
    if (v !== undefined) {
      sensitive.push(v);
      // A PEM key also leaks line by line.
      if (name === 'private_key') for (const line of v.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) sensitive.push(line);
    }
  }
  let identity = field('client_email') ?? field('client_id') ?? field('service_account_impersonation_url') ?? field('audience') ?? '';
  if (type === 'service_account') {
    for (const name of ['client_email', 'private_key']) {
      if (field(name) === undefined) throw bad(`the service-account key has no "${name}"`);
    }
    try {
      createPrivateKey(field('private_key')!);
    } catch {
      throw bad('the service-account key\'s "private_key" is not a valid PEM private key');
    }
  }
  if (type === 'authorized_user') {
    for (const name of ['client_id', 'client_secret', 'refresh_token']) {
      if (field(name) === undefined) throw bad(`the authorized_user credentials have no "${name}"`);
    }
  }
  if (type === 'external_account' && (obj['credential_source'] === undefined || field('audience') === undefined)) {
    throw bad('the external_account credentials need "audience" and "credential_source"');
  }
  if (type === 'impersonated_service_account') {
    identity = field('service_account_impersonation_url') ?? identity;
    if (identity === '' || obj['source_credentials'] === undefined) {
      throw bad('the impersonated_service_account credentials need "service_account_impersonation_url" and "source_credentials"');
    }
  }
  return { json: obj, type: type as GoogleCredentials['type'], identity, sensitive };
}

/**
 * The controller's own Google identity (application default credentials: GKE metadata server, workload identity
 * federation config in GOOGLE_APPLICATION_CREDENTIALS, ...), one per Herald instance so every Provider without a token
 * shares its cached access token. google-auth-library is imported on first use.
 */
export function controllerGoogleAuth(runtime: ProviderRuntime): Promise<GoogleAuth> {
  return sharedLazily(runtime, 'google-application-default-credentials', async () => {
    const { GoogleAuth: Auth } = await import('google-auth-library');
    return new Auth({ scopes: PUBSUB_SCOPES });
  });
}

/** A GoogleAuth that never looks for credentials, for a client talking to an emulator (which takes none). */
export async function emulatorGoogleAuth(): Promise<GoogleAuth> {
  const { GoogleAuth: Auth } = await import('google-auth-library');
  return new Auth({ universeDomain: 'googleapis.com' });
}

/** The ServiceAccount annotations Flux reads for Google object-level identity. */
export const GCP_SERVICE_ACCOUNT_ANNOTATION = 'iam.gke.io/gcp-service-account';
export const GCP_WORKLOAD_IDENTITY_PROVIDER_ANNOTATION = 'gcp.auth.fluxcd.io/workload-identity-provider';
const SERVICE_ACCOUNT_EMAIL = /^[a-zA-Z0-9-]{1,100}@[a-zA-Z0-9-]{1,100}\.iam\.gserviceaccount\.com$/;
const WORKLOAD_IDENTITY_PROVIDER = /^projects\/\d{1,30}\/locations\/global\/workloadIdentityPools\/[^/]{1,100}\/providers\/[^/]{1,100}$/;
/** The scopes of Flux's object-level Google tokens. */
export const SERVICE_ACCOUNT_SCOPES = ['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/userinfo.email'];

/** The GKE cluster Herald runs in, from the metadata server (GCE_METADATA_HOST overrides its address). */
export interface GkeCluster {
  project: string;
  location: string;
  name: string;
}

/** A ServiceAccount's Google identity: the Kubernetes token's audience, the STS audience, the account to impersonate. */
export interface GoogleServiceAccountIdentity {
  tokenAudience: string;
  stsAudience: string;
  email?: string;
}

/**
 * What a ServiceAccount's annotations say about its Google identity (Flux's checks and texts): workload identity
 * federation with `gcp.auth.fluxcd.io/workload-identity-provider`, else GKE's own pool (`<project>.svc.id.goog`, the
 * cluster as identity provider, from `gke()`); `iam.gke.io/gcp-service-account` adds impersonation.
 */
export async function googleServiceAccountIdentity(annotations: Record<string, string>, gke: () => Promise<GkeCluster>): Promise<GoogleServiceAccountIdentity> {
  const email = annotations[GCP_SERVICE_ACCOUNT_ANNOTATION] ?? '';
  if (email !== '' && !SERVICE_ACCOUNT_EMAIL.test(email)) {
    throw new Error(`invalid ${GCP_SERVICE_ACCOUNT_ANNOTATION} annotation: '${email}'. must match ${SERVICE_ACCOUNT_EMAIL.source}`);
  }
  const impersonate = email !== '' ? { email } : {};
  const wip = annotations[GCP_WORKLOAD_IDENTITY_PROVIDER_ANNOTATION] ?? '';
  if (wip !== '') {
    if (!WORKLOAD_IDENTITY_PROVIDER.test(wip)) {
      throw new Error(`invalid ${GCP_WORKLOAD_IDENTITY_PROVIDER_ANNOTATION} annotation: '${wip}'. must match ${WORKLOAD_IDENTITY_PROVIDER.source}`);
    }
    const audience = `//iam.googleapis.com/${wip}`;
    return { tokenAudience: audience, stsAudience: audience, ...impersonate };
  }
  const c = await gke();
  const pool = `${c.project}.svc.id.goog`;
  return {
    tokenAudience: pool,
    stsAudience: `identitynamespace:${pool}:https://container.googleapis.com/v1/projects/${c.project}/locations/${c.location}/clusters/${c.name}`,
    ...impersonate,
  };
}

/** The GKE cluster from the metadata server, asked once per Herald instance (a failure is asked again). */
function gkeCluster(runtime: ProviderRuntime): Promise<GkeCluster> {
  return sharedLazily(runtime, 'gke-cluster-metadata', async () => {
    const { gcpMetadata } = await import('google-auth-library');
    try {
      const [project, location, name] = await Promise.all([
        gcpMetadata.project<string>('project-id'),
        gcpMetadata.instance<string>('attributes/cluster-location'),
        gcpMetadata.instance<string>('attributes/cluster-name'),
      ]);
      return { project: String(project), location: String(location), name: String(name) };
    } catch (err) {
      throw new Error(`failed to get the GKE cluster from the metadata server (needed without the ${GCP_WORKLOAD_IDENTITY_PROVIDER_ANNOTATION} annotation): ${(err as Error).message}`, { cause: err });
    }
  });
}

/**
 * Object-level identity: the GoogleAuth of a Provider's ServiceAccount, as Flux builds it: a Kubernetes token of the
 * ServiceAccount (the instance's cache) for the audience of its identity (workload identity federation, or GKE's pool)
 * exchanged at Google's STS, then, with `iam.gke.io/gcp-service-account`, impersonation of that Google service
 * account. One per ServiceAccount and identity for the whole instance; google-auth-library caches the access token.
 */
export async function serviceAccountGoogleAuth(runtime: ProviderRuntime, sa: ServiceAccountRef, signal: AbortSignal): Promise<GoogleAuth> {
  const annotations = await serviceAccountAnnotations(runtime, sa, signal);
  let identity: GoogleServiceAccountIdentity;
  try {
    identity = await withDeadline(googleServiceAccountIdentity(annotations, () => gkeCluster(runtime)), signal);
  } catch (err) {
    throw new Error(`failed to create provider access token for service account '${serviceAccountKey(sa)}': ${(err as Error).message}`, { cause: err });
  }
  const { tokenAudience, stsAudience, email } = identity;
  return sharedLazily(runtime, `google-service-account-auth:${JSON.stringify([sa.namespace, sa.name, tokenAudience, stsAudience, email ?? ''])}`, async () => {
    const { GoogleAuth: Auth, IdentityPoolClient } = await import('google-auth-library');
    const client = new IdentityPoolClient({
      type: 'external_account',
      audience: stsAudience,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: 'https://sts.googleapis.com/v1/token',
      ...(email ? { service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${email}:generateAccessToken` } : {}),
      scopes: SERVICE_ACCOUNT_SCOPES,
      subject_token_supplier: { getSubjectToken: () => serviceAccountToken(runtime, sa, tokenAudience, AbortSignal.timeout(30_000)) },
    });
    return new Auth({ authClient: client, scopes: SERVICE_ACCOUNT_SCOPES });
  });
}
