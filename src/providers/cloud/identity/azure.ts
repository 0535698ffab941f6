// Azure identity for the cloud providers: the controller's Entra ID credential (workload identity from the federated
// token file the Azure workload-identity webhook mounts, else managed identity), one per Herald instance so tokens are
// cached once per identity by @azure/identity; the deprecated static JWT of a Secret; the cloud of AZURE_AUTHORITY_HOST.
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { ProviderRuntime } from '../../runtime.js';
import { errorText, sharedLazily } from '../sdk.js';
import { serviceAccountAnnotations, serviceAccountKey, serviceAccountToken, type ServiceAccountRef } from './service-account.js';

/** The Event Hubs scope Flux requests (note the double slash, as upstream). */
export const EVENTHUBS_SCOPE = 'https://eventhubs.azure.net//.default';

/** The Azure DevOps resource (its well-known application ID) Flux requests a token for. */
export const AZURE_DEVOPS_SCOPE = '499b84ac-1321-427f-aa17-267ca6975798/.default';

/** The Service Bus host suffix of the cloud the controller runs in, from AZURE_AUTHORITY_HOST (spec: namespace → host). */
export function serviceBusSuffix(authorityHost = process.env['AZURE_AUTHORITY_HOST'] ?? ''): string {
  if (authorityHost.includes('chinacloudapi.cn')) return '.servicebus.chinacloudapi.cn';
  if (authorityHost.includes('microsoftonline.us')) return '.servicebus.usgovcloudapi.net';
  return '.servicebus.windows.net';
}

/** Which controller identity the environment provides (the variables the Azure workload-identity webhook sets). */
export function controllerAzureIdentityKind(env: NodeJS.ProcessEnv = process.env): 'workload-identity' | 'managed-identity' {
  return env['AZURE_FEDERATED_TOKEN_FILE'] ? 'workload-identity' : 'managed-identity';
}

/**
 * The controller's own Entra ID credential. With AZURE_FEDERATED_TOKEN_FILE (and AZURE_CLIENT_ID, AZURE_TENANT_ID,
 * AZURE_AUTHORITY_HOST as the webhook injects them) a WorkloadIdentityCredential, otherwise a ManagedIdentityCredential
 * (AZURE_CLIENT_ID selects a user-assigned identity). One per Herald instance; @azure/identity is imported on first
 * use and caches its tokens. Instance discovery is off: the authority is AZURE_AUTHORITY_HOST as the webhook sets it.
 */
export function controllerAzureCredential(runtime: ProviderRuntime): Promise<TokenCredential> {
  return sharedLazily(runtime, 'azure-controller-credential', async (): Promise<TokenCredential> => {
    const id = await import('@azure/identity');
    const clientId = process.env['AZURE_CLIENT_ID'];
    if (controllerAzureIdentityKind() === 'workload-identity') return new id.WorkloadIdentityCredential({ disableInstanceDiscovery: true });
    return clientId ? new id.ManagedIdentityCredential({ clientId }) : new id.ManagedIdentityCredential();
  });
}

/** The `exp` claim of a JWT in milliseconds, when the token is a JWT that has one (the signature is not checked). */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.trim().split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The deprecated static JWT of the Secret `token`, used verbatim and never refreshed (as Flux). Its expiry is the
 * token's `exp` claim when it has one (the SDK then asks again before it lapses and gets the same token), else an hour
 * from each request.
 */
export function staticJwtCredential(token: string): TokenCredential {
  const exp = jwtExpiry(token);
  return {
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: exp ?? Date.now() + 3_600_000 }),
  };
}

/** The audience of the Kubernetes token Entra ID accepts as a federated credential (as the webhook projects it). */
export const AZURE_TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
/** The ServiceAccount annotations of the Azure workload-identity webhook that Flux reads. */
export const AZURE_CLIENT_ID_ANNOTATION = 'azure.workload.identity/client-id';
export const AZURE_TENANT_ID_ANNOTATION = 'azure.workload.identity/tenant-id';

/**
 * Object-level identity: the Entra ID credential of a Provider's ServiceAccount. Each token request reads the
 * ServiceAccount's annotations (client ID, tenant ID, else AZURE_TENANT_ID), takes a Kubernetes token for
 * api://AzureADTokenExchange from the instance's cache and exchanges it with @azure/identity's
 * ClientAssertionCredential, one per ServiceAccount and identity for the whole instance, which caches the Entra ID
 * tokens. Failures read as Flux's (`failed to create ... for service account '<ns>/<name>': ...`).
 */
export function serviceAccountAzureCredential(runtime: ProviderRuntime, sa: ServiceAccountRef): TokenCredential {
  const key = serviceAccountKey(sa);
  return {
    async getToken(scopes, options) {
      const signal = (options?.abortSignal as AbortSignal | undefined) ?? AbortSignal.timeout(30_000);
      const annotations = await serviceAccountAnnotations(runtime, sa, signal);
      const clientId = annotations[AZURE_CLIENT_ID_ANNOTATION] ?? '';
      const tenantId = annotations[AZURE_TENANT_ID_ANNOTATION] || (process.env['AZURE_TENANT_ID'] ?? '');
      const fail = (why: string): Error => new Error(`failed to create provider access token for service account '${key}': ${why}`);
      if (clientId === '') throw fail(`the service account has no ${AZURE_CLIENT_ID_ANNOTATION} annotation`);
      if (tenantId === '') throw fail(`the service account has no ${AZURE_TENANT_ID_ANNOTATION} annotation and AZURE_TENANT_ID is not set`);
      // The Kubernetes token first, so that its failure reads as Flux's; it is cached, and the exchange takes it again.
      await serviceAccountToken(runtime, sa, AZURE_TOKEN_EXCHANGE_AUDIENCE, signal);
      const authorityHost = process.env['AZURE_AUTHORITY_HOST'];
      const credential = await sharedLazily(runtime, `azure-service-account-credential:${JSON.stringify([sa.namespace, sa.name, tenantId, clientId, authorityHost ?? ''])}`, async () => {
        const id = await import('@azure/identity');
        return new id.ClientAssertionCredential(tenantId, clientId, () => serviceAccountToken(runtime, sa, AZURE_TOKEN_EXCHANGE_AUDIENCE, AbortSignal.timeout(30_000)), {
          disableInstanceDiscovery: true,
          ...(authorityHost ? { authorityHost } : {}),
        });
      });
      try {
        return await credential.getToken(scopes, options);
      } catch (err) {
        throw fail(errorText(err));
      }
    },
  };
}
