// Provider `googlepubsub` (spec providers/googlepubsub.md): publishes the event JSON to a Pub/Sub topic with the
// official client (@google-cloud/pubsub, gRPC), one client per Provider version.
import type { PubSub, Topic } from '@google-cloud/pubsub';
import { encodeEvent } from '../../api/event.js';
import type { ProviderRuntime } from '../runtime.js';
import { ConfigError, type FailureReason, type Notification, type ParseContext, type ProviderSettings, type SendContext } from '../types.js';
import { controllerGoogleAuth, emulatorGoogleAuth, parseGoogleCredentials, serviceAccountGoogleAuth, type GoogleCredentials } from './identity/google.js';
import { addSensitive, AttemptDeadline, defineSdkBusProvider, deliveryError, errorText, LazyClient, providerWhere, withDeadline } from './sdk.js';
import { objectLevelServiceAccount, requireObjectLevelGate, serviceAccountKey, type ServiceAccountRef } from './identity/service-account.js';

export interface GooglePubSubConfig {
  /** `namespace/name` of the Provider. */
  provider: string;
  projectId: string;
  /** The topic as given (`spec.channel`): a short ID or a full `projects/<p>/topics/<t>` name. */
  topicId: string;
  /** `projects/<project>/topics/<topic>`, for messages. */
  topicName: string;
  /** Secret `headers`: the message attributes. */
  attributes: Record<string, string>;
  /**
   * `token` (a credentials JSON of this type and identity), spec.serviceAccountName's identity (object-level, behind
   * the feature gate) or the controller's application default credentials.
   */
  auth: { kind: 'credentials'; type: string; identity: string } | { kind: 'service-account'; serviceAccount: string } | { kind: 'application-default' };
  timeoutMs: number;
  readonly sensitive: string[];
  readonly client: LazyClient<{ pubsub: PubSub; topic: Topic }>;
}

/** The SDK's topic name rule: a name that already starts with `projects/` is used as it is. */
function topicResourceName(projectId: string, topic: string): string {
  return topic.startsWith('projects/') ? topic : `projects/${projectId}/topics/${topic}`;
}

function createClient(projectId: string, topicId: string, credentials: GoogleCredentials | undefined, runtime: ProviderRuntime, timeoutMs: number, sa?: ServiceAccountRef) {
  return async (): Promise<{ pubsub: PubSub; topic: Topic }> => {
    const { PubSub: Client } = await import('@google-cloud/pubsub');
    // PUBSUB_EMULATOR_HOST (and CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB) are read here by the SDK: plaintext gRPC, no
    // credentials, as Flux's Go client does.
    const pubsub = new Client({ projectId, ...(credentials ? { credentials: credentials.json } : {}) });
    if (!credentials) {
      // Against an emulator the SDK sends no credentials, so the controller's identity is not looked up (off GCP that
      // lookup probes the metadata server for seconds); otherwise every Provider shares the controller's GoogleAuth.
      // With spec.serviceAccountName (object-level identity), that ServiceAccount's; its annotations are read here, once
      // per client (Provider version).
      pubsub.options.auth = pubsub.isEmulator
        ? await emulatorGoogleAuth()
        : sa ? await serviceAccountGoogleAuth(runtime, sa, AbortSignal.timeout(timeoutMs)) : await controllerGoogleAuth(runtime);
    }
    const topic = pubsub.topic(topicId, {
      // One message per event, sent at once (no batching window); the SDK's own retries end with the Provider timeout.
      batching: { maxMessages: 1, maxMilliseconds: 0 },
      gaxOpts: { timeout: timeoutMs },
    });
    return { pubsub, topic };
  };
}

function parse(settings: ProviderSettings, ctx: ParseContext): GooglePubSubConfig {
  const { provider, where, secretWhere } = providerWhere(settings);
  // Flux's constructor checks, in its order and with its texts.
  if (settings.address === '') throw new ConfigError(`${where}: GCP project ID cannot be empty`);
  if (settings.channel === '') throw new ConfigError(`${where}: GCP Pub/Sub topic ID cannot be empty`);
  const projectId = settings.address;
  const topicId = settings.channel;
  requireObjectLevelGate(settings, ctx.runtime, where);
  // Object-level identity only without a token (a credentials JSON wins, as in Flux).
  const sa = settings.token === '' ? objectLevelServiceAccount(settings, ctx.runtime, where) : undefined;
  // Flux passes the token on when it is non-empty; a token of only whitespace cannot be credentials either.
  const credentials = settings.token !== '' ? parseGoogleCredentials(settings.token, secretWhere) : undefined;
  const sensitive = addSensitive(settings, credentials?.sensitive ?? []);
  const timeoutMs = settings.timeoutMs;
  const config = {
    provider,
    projectId,
    topicId,
    topicName: topicResourceName(projectId, topicId),
    attributes: { ...settings.headers },
    auth: credentials
      ? { kind: 'credentials', type: credentials.type, identity: credentials.identity }
      : sa ? { kind: 'service-account', serviceAccount: serviceAccountKey(sa) } : { kind: 'application-default' },
    timeoutMs,
  };
  // Credentials and the client stay out of an enumerated (logged) config.
  return Object.defineProperties(config, {
    sensitive: { value: sensitive, enumerable: false },
    // Every message is published as soon as it is added (no batching), so there is nothing to flush; a publish still
    // in flight is cancelled with the channel.
    client: { value: new LazyClient(createClient(projectId, topicId, credentials, ctx.runtime, timeoutMs, sa), async ({ pubsub }) => {
      await new Promise<void>((resolve) => pubsub.close(() => resolve()));
    }), enumerable: false },
  }) as GooglePubSubConfig;
}

/** gRPC status codes (google.rpc.Code). */
const GRPC = {
  CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const;

/** Retryable as the SDK's publish retry set (spec: Response handling); the reason labels the failure metrics. */
function classify(code: number | undefined): { retryable: boolean; reason: FailureReason } {
  switch (code) {
    case GRPC.UNAUTHENTICATED:
    case GRPC.PERMISSION_DENIED:
      return { retryable: false, reason: 'auth' };
    case GRPC.RESOURCE_EXHAUSTED:
      return { retryable: true, reason: 'rate-limited' };
    case GRPC.DEADLINE_EXCEEDED:
      return { retryable: true, reason: 'timeout' };
    case GRPC.UNAVAILABLE:
      return { retryable: true, reason: 'transport' };
    case GRPC.CANCELLED:
    case GRPC.UNKNOWN:
    case GRPC.ABORTED:
    case GRPC.INTERNAL:
      return { retryable: true, reason: 'server' };
    case undefined:
      // Not a gRPC status: the credentials could not produce a token (metadata server, token endpoint).
      return { retryable: true, reason: 'auth' };
    default:
      return { retryable: false, reason: 'client' };
  }
}

async function send(notification: Notification, config: GooglePubSubConfig, ctx: SendContext): Promise<void> {
  const data = Buffer.from(encodeEvent(notification.event), 'utf8');
  const prefix = `error publishing to GCP Pub/Sub topic ${config.topicName}: `;
  try {
    const { topic } = await withDeadline(config.client.get(), ctx.signal);
    const message = Object.keys(config.attributes).length > 0 ? { data, attributes: config.attributes } : { data };
    const id = await withDeadline(topic.publishMessage(message), ctx.signal);
    ctx.log.debug({ provider: config.provider, topic: config.topicName, messageId: id }, 'published to GCP Pub/Sub');
  } catch (err) {
    if (err instanceof AttemptDeadline) {
      throw deliveryError(`${prefix}context deadline exceeded`, config.sensitive, { retryable: true, reason: 'timeout' });
    }
    const code = (err as { code?: unknown }).code;
    throw deliveryError(`${prefix}${errorText(err)}`, config.sensitive, classify(typeof code === 'number' ? code : undefined));
  }
}

export const GooglePubSubProvider = defineSdkBusProvider<GooglePubSubConfig>({ type: 'googlepubsub', parse, send });
