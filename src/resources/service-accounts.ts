// ServiceAccounts for object-level workload identity: their annotations and TokenRequest tokens, through the cluster
// mode's authenticated REST client (the providers never read Kubernetes themselves).
import type { ServiceAccountSource } from '../providers/runtime.js';
import { KubeApiError, collectionPath, type KubeRest } from './kube-rest.js';

/** The lifetime Herald asks for (the API server may shorten or extend it; the answer's expiry is what counts). */
export const SERVICE_ACCOUNT_TOKEN_SECONDS = 3600;

interface TokenRequestStatus {
  status?: { token?: string; expirationTimestamp?: string };
}

/** `<ns>/serviceaccounts/<name>`'s path. */
const saPath = (namespace: string, name: string): string => `${collectionPath('', 'v1', 'serviceaccounts', namespace)}/${encodeURIComponent(name)}`;

/** A 404 reads as the API server's own text (`serviceaccounts "<name>" not found`), without the request line. */
function apiText(err: unknown): string {
  if (err instanceof KubeApiError) {
    const i = err.message.indexOf(`${err.status}${err.reason ? ` ${err.reason}` : ''}: `);
    return i >= 0 ? err.message.slice(i + `${err.status}${err.reason ? ` ${err.reason}` : ''}: `.length) : err.message;
  }
  return (err as Error).message;
}

export function kubeServiceAccounts(rest: KubeRest): ServiceAccountSource {
  return {
    async annotations(namespace, name) {
      try {
        const sa = await rest.get<{ metadata?: { annotations?: Record<string, string> } }>(saPath(namespace, name));
        return sa?.metadata?.annotations ?? {};
      } catch (err) {
        throw new Error(apiText(err), { cause: err });
      }
    },
    async token(namespace, name, audience) {
      let answer: TokenRequestStatus;
      try {
        answer = await rest.post<TokenRequestStatus>(`${saPath(namespace, name)}/token`, {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { audiences: [audience], expirationSeconds: SERVICE_ACCOUNT_TOKEN_SECONDS },
        });
      } catch (err) {
        throw new Error(apiText(err), { cause: err });
      }
      const token = answer?.status?.token ?? '';
      const expiresAt = Date.parse(answer?.status?.expirationTimestamp ?? '');
      if (token === '') throw new Error('the TokenRequest answer has no token');
      return { token, expiresAt: Number.isFinite(expiresAt) ? expiresAt : Date.now() + SERVICE_ACCOUNT_TOKEN_SECONDS * 1000 };
    },
  };
}
