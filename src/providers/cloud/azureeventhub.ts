// Provider `azureeventhub` (spec providers/azureeventhub.md): sends the event JSON to an Event Hub with the official
// client (@azure/event-hubs, AMQP 1.0), authenticated by a SAS connection string, a static JWT or the controller's
// workload identity; one producer client (one AMQP connection) per Provider version instead of Flux's per event.
import { randomUUID } from 'node:crypto';
import type { EventHubProducerClient } from '@azure/event-hubs';
import type { TokenCredential } from '@azure/identity';
import { encodeEvent } from '../../api/event.js';
import type { ProviderRuntime } from '../runtime.js';
import { ConfigError, DeliveryError, type FailureReason, type Notification, type ParseContext, type ProviderSettings, type SendContext } from '../types.js';
import { controllerAzureCredential, controllerAzureIdentityKind, EVENTHUBS_SCOPE, serviceAccountAzureCredential, serviceBusSuffix, staticJwtCredential } from './identity/azure.js';
import { objectLevelServiceAccount, serviceAccountKey } from './identity/service-account.js';
import { addSensitive, AttemptDeadline, defineSdkBusProvider, deliveryError, errorText, LazyClient, providerWhere, sdkError, withDeadline } from './sdk.js';

export type EventHubAuth = 'sas' | 'jwt' | 'workload-identity';

export interface AzureEventHubConfig {
  /** `namespace/name` of the Provider. */
  provider: string;
  auth: EventHubAuth;
  /** The namespace host (`<ns>.servicebus.windows.net`, or the connection string's endpoint host). */
  host: string;
  hub: string;
  timeoutMs: number;
  readonly sensitive: string[];
  readonly client: LazyClient<EventHubProducerClient>;
  /** Workload identity: the controller's credential (token errors are reported as Flux reports them). */
  readonly credential?: () => Promise<TokenCredential>;
  /** Object-level identity: `<ns>/<name>` of spec.serviceAccountName. */
  serviceAccount?: string;
}

/** The parts of a SAS connection string (`Key=value;...`, keys case-insensitive as the SDKs read them). */
interface SasConnectionString {
  endpoint: string;
  host: string;
  hub: string;
  keyName?: string;
  key?: string;
  signature?: string;
}

const AUTH_OPTIONS = 'invalid authentication options';

/** Parses a SAS connection string the way the Event Hubs SDKs do; errors never quote the string. */
function parseSasConnectionString(cs: string, fail: (why: string) => never): SasConnectionString {
  const fields = new Map<string, string>();
  for (const part of cs.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) fail('connection string is malformed: every part must be Key=value');
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const endpoint = fields.get('endpoint') ?? '';
  if (endpoint === '') fail('connection string has no Endpoint');
  const host = /^[a-z][a-z0-9+.-]*:\/\/([^/;]+)/i.exec(endpoint)?.[1] ?? '';
  if (host === '') fail('connection string Endpoint must be sb://<namespace host>/');
  const keyName = fields.get('sharedaccesskeyname');
  const key = fields.get('sharedaccesskey');
  const signature = fields.get('sharedaccesssignature');
  if (signature === undefined && (!keyName || !key)) fail('connection string needs both SharedAccessKeyName and SharedAccessKey');
  const hub = fields.get('entitypath') ?? '';
  if (hub === '') fail('connection string does not contain an EntityPath. eventHub cannot be an empty string');
  return {
    endpoint, host, hub,
    ...(keyName !== undefined ? { keyName } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(signature !== undefined ? { signature } : {}),
  };
}

/**
 * One attempt per send: the delivery worker owns retries (Flux's schedule, metrics, logs) for every provider, so the
 * SDK must not retry inside an attempt as well.
 */
const RETRY_OPTIONS = { maxRetries: 0, retryDelayInMs: 500, maxRetryDelayInMs: 4000, mode: 1 /* Exponential */ };

function parse(settings: ProviderSettings, ctx: ParseContext): AzureEventHubConfig {
  const { provider, where } = providerWhere(settings);
  const address = settings.address;
  const token = settings.token;
  const serviceAccount = settings.provider.spec.serviceAccountName ?? '';
  // Flux's constructor checks, in its order and with its texts (spec: Validation).
  if (address === '') throw new ConfigError(`${where}: ${AUTH_OPTIONS}: endpoint URL cannot be empty`);
  const sas = address.includes('SharedAccessKey');
  if (sas && serviceAccount !== '') throw new ConfigError(`${where}: ${AUTH_OPTIONS}: serviceAccountName and SAS authentication cannot be set at the same time`);
  if (sas && token !== '') throw new ConfigError(`${where}: ${AUTH_OPTIONS}: jwt token and SAS authentication cannot be set at the same time`);
  if (!sas && token !== '' && serviceAccount !== '') {
    throw new ConfigError(`${where}: ${AUTH_OPTIONS}: serviceAccountName and jwt token authentication cannot be set at the same time`);
  }
  const timeoutMs = settings.timeoutMs;
  const options = { retryOptions: RETRY_OPTIONS, userAgent: 'herald' };

  if (sas) {
    // A connection string in spec.address is as secret as one in the Secret: mask it and its key everywhere.
    const sasWhere = settings.secretName && settings.secretData['address'] !== undefined ? `${where}: secret ${settings.secretName} key 'address'` : `${where}: address`;
    const cs = parseSasConnectionString(address, (why) => {
      throw new ConfigError(`${sasWhere}: failed to create a eventhub using SAS: ${why}`);
    });
    const sensitive = addSensitive(settings, [address, address.trim(), cs.key, cs.signature]);
    return config(provider, 'sas', cs.host, cs.hub, timeoutMs, sensitive, async () => {
      const { EventHubProducerClient: Producer } = await import('@azure/event-hubs');
      return new Producer(address, options);
    });
  }

  const namespace = settings.channel;
  if (namespace === '') throw new ConfigError(`${where}: Event Hubs namespace (channel) cannot be empty when the address is the event hub name`);
  const host = namespace.includes('.servicebus.') ? namespace : `${namespace}${serviceBusSuffix()}`;
  const hub = address;
  if (token !== '') {
    const sensitive = addSensitive(settings, [token, token.trim()]);
    return config(provider, 'jwt', host, hub, timeoutMs, sensitive, async () => {
      const { EventHubProducerClient: Producer } = await import('@azure/event-hubs');
      return new Producer(host, hub, staticJwtCredential(token), options);
    });
  }
  const sa = objectLevelServiceAccount(settings, ctx.runtime, where);
  // Object-level identity: the ServiceAccount's credential (its errors already name it); else the controller's.
  const credential = sa
    ? ((c) => (): Promise<TokenCredential> => Promise.resolve(c))(serviceAccountAzureCredential(ctx.runtime, sa))
    : (): Promise<TokenCredential> => controllerAzureCredential(ctx.runtime);
  const c = config(provider, 'workload-identity', host, hub, timeoutMs, [...settings.sensitive], async () => {
    const { EventHubProducerClient: Producer } = await import('@azure/event-hubs');
    return new Producer(host, hub, await credential(), options);
  }, credential);
  if (sa) c.serviceAccount = serviceAccountKey(sa);
  return c;
}

function config(
  provider: string, auth: EventHubAuth, host: string, hub: string, timeoutMs: number, sensitive: string[],
  create: () => Promise<EventHubProducerClient>, credential?: () => Promise<TokenCredential>,
): AzureEventHubConfig {
  const c = { provider, auth, host, hub, timeoutMs };
  // Credentials and the client stay out of an enumerated (logged) config.
  return Object.defineProperties(c, {
    sensitive: { value: sensitive, enumerable: false },
    client: { value: new LazyClient(create, (p) => p.close()), enumerable: false },
    ...(credential ? { credential: { value: credential, enumerable: false } } : {}),
  }) as AzureEventHubConfig;
}

/** core-amqp's MessagingError codes that mean the credentials were refused. */
const AUTH_CODES = new Set(['UnauthorizedError', 'UnauthorizedAccessError']);
const THROTTLED_CODES = new Set(['ServerBusyError', 'QuotaExceededError']);
const CLIENT_CODES = new Set(['MessagingEntityNotFoundError', 'MessageTooLargeError', 'ArgumentOutOfRangeError', 'InvalidOperationError', 'NotImplementedError']);

function classify(err: unknown): { retryable: boolean; reason: FailureReason } {
  const e = sdkError(err) as { name?: string; code?: unknown; retryable?: unknown };
  if (e.name === 'AbortError') return { retryable: true, reason: 'timeout' };
  const code = typeof e.code === 'string' ? e.code : '';
  if (AUTH_CODES.has(code)) return { retryable: false, reason: 'auth' };
  if (THROTTLED_CODES.has(code)) return { retryable: true, reason: 'rate-limited' };
  if (CLIENT_CODES.has(code)) return { retryable: false, reason: 'client' };
  if (code === 'OperationTimeoutError' || code === 'ServiceCommunicationError') return { retryable: true, reason: code === 'OperationTimeoutError' ? 'timeout' : 'transport' };
  if (e.retryable === false) return { retryable: false, reason: 'server' };
  return { retryable: true, reason: /^E[A-Z]+$/.test(code) ? 'transport' : 'server' };
}

async function send(notification: Notification, config: AzureEventHubConfig, ctx: SendContext): Promise<void> {
  const body = Buffer.from(encodeEvent(notification.event), 'utf8');
  const fail = (step: string, err: unknown): DeliveryError => {
    if (err instanceof AttemptDeadline || (err as { name?: string }).name === 'AbortError') {
      return deliveryError(`${step}: context deadline exceeded`, config.sensitive, { retryable: true, reason: 'timeout' });
    }
    return deliveryError(`${step}: ${errorText(err)}`, config.sensitive, classify(err));
  };
  if (config.credential) {
    // Flux fetches the workload-identity token while it constructs the notifier; the library caches it, so the SDK's
    // own request for it (claims negotiation) is served from the cache.
    try {
      const credential = await withDeadline(config.credential(), ctx.signal);
      await withDeadline(credential.getToken(EVENTHUBS_SCOPE, { abortSignal: ctx.signal }), ctx.signal);
    } catch (err) {
      if (err instanceof AttemptDeadline) throw fail('failed to create a eventhub using managed identity: failed to get token', err);
      throw deliveryError(
        `failed to create a eventhub using managed identity: failed to get token: ${config.serviceAccount ? '' : 'failed to create provider access token for the controller: '}${errorText(err)}`,
        config.sensitive, { retryable: true, reason: 'auth' },
      );
    }
  }
  let producer: EventHubProducerClient;
  try {
    producer = await withDeadline(config.client.get(), ctx.signal);
  } catch (err) {
    throw fail('failed to create a eventhub using authentication token', err);
  }
  let batch;
  try {
    batch = await withDeadline(producer.createBatch({ abortSignal: ctx.signal }), ctx.signal);
  } catch (err) {
    throw fail('failed to create event data batch', err);
  }
  // Raw bytes (a Buffer body is sent as one data section, not JSON-encoded) and a message ID as Flux's client sets.
  if (!batch.tryAdd({ body, messageId: randomUUID() })) {
    throw new DeliveryError(`failed to add event data to batch: the event of ${body.length} bytes is larger than the event hub's maximum message size of ${batch.maxSizeInBytes} bytes`, { retryable: false, reason: 'invalid' });
  }
  try {
    await withDeadline(producer.sendBatch(batch, { abortSignal: ctx.signal }), ctx.signal);
  } catch (err) {
    throw fail('failed to send msg', err);
  }
  ctx.log.debug({ provider: config.provider, host: config.host, hub: config.hub }, 'sent to Azure Event Hub');
}

export const AzureEventHubProvider = defineSdkBusProvider<AzureEventHubConfig>({ type: 'azureeventhub', parse, send });
