// Test inputs for the nats provider: Provider/Secret manifests resolved as Herald resolves them, the canonical event, NATS credentials.
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { stringify } from 'yaml';
import type { FluxEvent } from '../../src/api/event.js';
import type { Provider } from '../../src/api/provider.js';
import type { Secret } from '../../src/api/secret.js';
import { parseManifests } from '../../src/resources/manifests.js';
import { resolveProviderSettings } from '../../src/providers/settings/resolve.js';
import type { Notification, ProviderSettings } from '../../src/providers/types.js';

export interface NatsProviderInput {
  name?: string;
  namespace?: string;
  address?: string;
  channel?: string;
  timeout?: string;
  annotations?: Record<string, string>;
  /** stringData of the secretRef Secret. */
  secret?: Record<string, string>;
  /** stringData of the certSecretRef Secret. */
  certSecret?: Record<string, string>;
}

/** The Provider (and Secrets) as YAML manifests, as a user would write them. */
export function natsProviderManifests(input: NatsProviderInput): string {
  const namespace = input.namespace ?? 'apps';
  const name = input.name ?? 'ops';
  const docs: unknown[] = [{
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
    kind: 'Provider',
    metadata: { name, namespace, uid: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f', ...(input.annotations ? { annotations: input.annotations } : {}) },
    spec: {
      type: 'nats',
      ...(input.address !== undefined ? { address: input.address } : {}),
      ...(input.channel !== undefined ? { channel: input.channel } : {}),
      ...(input.timeout ? { timeout: input.timeout } : {}),
      ...(input.secret ? { secretRef: { name: `${name}-auth` } } : {}),
      ...(input.certSecret ? { certSecretRef: { name: `${name}-tls` } } : {}),
    },
  }];
  if (input.secret) docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-auth`, namespace }, stringData: input.secret });
  if (input.certSecret) docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-tls`, namespace }, stringData: input.certSecret });
  return docs.map((d) => stringify(d)).join('---\n');
}

/** Settings exactly as the delivery pipeline builds them (manifest parsing + resolveProviderSettings). */
export function natsSettings(input: NatsProviderInput): ProviderSettings {
  const { objects, problems } = parseManifests(natsProviderManifests(input), 'test.yaml');
  if (problems.length > 0) throw new Error(`bad test manifests: ${JSON.stringify(problems)}`);
  const provider = objects.find((o) => o.kind === 'Provider') as Provider;
  const secrets = objects.filter((o) => o.kind === 'Secret') as Secret[];
  return resolveProviderSettings(provider, (ns, n) => secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === n));
}

/** providers/README.md §3.3: the event every provider receives in the spec's examples. */
export function canonicalEvent(severity = 'error'): FluxEvent {
  return {
    involvedObject: {
      kind: 'Kustomization', namespace: 'apps', name: 'webapp', uid: '4f3c2a1b-8d7e-4c6b-9a5f-0e1d2c3b4a59',
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1', resourceVersion: '184467',
    },
    severity,
    timestamp: '2025-06-01T10:15:30Z',
    message: 'Health check failed after 2m',
    reason: 'HealthCheckFailed',
    metadata: { cluster: 'prod-eu', revision: 'main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', summary: 'Production cluster' },
    reportingController: 'kustomize-controller',
    reportingInstance: 'kustomize-controller-6f8c9d7b5-q2w4x',
  };
}

/** The 552 bytes of providers/README.md §3.3, verbatim. */
export const CANONICAL_PAYLOAD = '{"involvedObject":{"kind":"Kustomization","namespace":"apps","name":"webapp","uid":"4f3c2a1b-8d7e-4c6b-9a5f-0e1d2c3b4a59","apiVersion":"kustomize.toolkit.fluxcd.io/v1","resourceVersion":"184467"},"severity":"error","timestamp":"2025-06-01T10:15:30Z","message":"Health check failed after 2m","reason":"HealthCheckFailed","metadata":{"cluster":"prod-eu","revision":"main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567","summary":"Production cluster"},"reportingController":"kustomize-controller","reportingInstance":"kustomize-controller-6f8c9d7b5-q2w4x"}';

export function canonicalNotification(event: FluxEvent = canonicalEvent()): Notification {
  return {
    event,
    alert: { namespace: 'apps', name: 'webapp-alerts', uid: 'a6b8c0d2-1e3f-4a5b-8c7d-9e0f1a2b3c4d' },
    provider: { namespace: 'apps', name: 'ops', uid: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f', type: 'nats' },
  };
}

export interface OperatorChain {
  /** nats-server.conf text for operator mode with the account preloaded in a memory resolver. */
  serverConfig: string;
  /** Content of a user .creds file (JWT + seed) issued by the account. */
  creds: string;
  /** Creds of a user signed by an account the server does not know. */
  foreignCreds: string;
  user: KeyPair;
}

/** An operator → account → user chain made with @nats-io/nkeys and @nats-io/jwt. */
export async function makeOperatorChain(userPermissions?: { pub?: { allow?: string[]; deny?: string[] } }): Promise<OperatorChain> {
  const operator = createOperator();
  const account = createAccount();
  const user = createUser();
  const operatorJwt = await encodeOperator('herald-test-operator', operator);
  // An account without explicit limits allows zero connections.
  const limits = { conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, leaf: -1, wildcards: true };
  const accountJwt = await encodeAccount('HERALD', account, { limits }, { signer: operator });
  const userJwt = await encodeUser('herald-publisher', user, account, userPermissions ? { pub: userPermissions.pub ?? {} } : {});
  const creds = new TextDecoder().decode(fmtCreds(userJwt, user));
  const otherAccount = createAccount();
  const otherUser = createUser();
  const foreignJwt = await encodeUser('stranger', otherUser, otherAccount);
  const foreignCreds = new TextDecoder().decode(fmtCreds(foreignJwt, otherUser));
  const serverConfig = [
    `operator: ${operatorJwt}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${account.getPublicKey()}: ${accountJwt}`,
    '}',
  ].join('\n');
  return { serverConfig, creds, foreignCreds, user };
}
