// googlepubsub against a Pub/Sub gRPC server (the Publisher service of the client library's own protos, reached through
// PUBSUB_EMULATOR_HOST as the SDK defines it): topic, data bytes, attributes, one client per Provider version, the
// construction errors of the spec, credentials JSON checks and masking, gRPC failures and the attempt deadline.
import { generateKeyPairSync } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FluxEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import { maskError } from '../../../src/providers/masking.js';
import { GooglePubSubProvider, type GooglePubSubConfig } from '../../../src/providers/cloud/googlepubsub.js';
import { parseGoogleCredentials } from '../../../src/providers/cloud/identity/google.js';
import { type ConfigError, DeliveryError } from '../../../src/providers/types.js';
import {
  CANONICAL_BODY, canonicalEvent, deliverOnce, deliveryFailure, notificationFor, sendContext, settingsFor, testRuntime,
} from '../../helpers/providers.js';
import { configErrorOf, providerWithSecret } from '../../helpers/provider-parse.js';
import { startPubSubServer, type PubSubServer, type PublishAnswer } from '../../helpers/pubsub-server.js';

const runtime = testRuntime();
let server: PubSubServer;
let answer: (topic: string) => PublishAnswer = () => undefined;

beforeAll(async () => {
  server = await startPubSubServer((c) => answer(c.topic));
  process.env['PUBSUB_EMULATOR_HOST'] = server.host;
});
afterAll(async () => {
  await server.close();
});

const provider = (spec: Partial<ProviderSpec>, secret?: Record<string, string>) => providerWithSecret('googlepubsub', 'gcp', spec, secret);

function callsFor(topic: string) {
  return server.calls.filter((c) => c.topic === topic);
}

function parse(spec: Partial<ProviderSpec>, secret?: Record<string, string>): GooglePubSubConfig {
  const { p, secrets } = provider(spec, secret);
  return GooglePubSubProvider.parse(settingsFor(p, secrets), { runtime });
}

const configError = (spec: Partial<ProviderSpec>, secret?: Record<string, string>): ConfigError => configErrorOf(() => parse(spec, secret));

/** Go's zero Event (the upstream test vectors). */
const zeroEvent = (): FluxEvent => ({ involvedObject: {} as FluxEvent['involvedObject'], severity: '', timestamp: null, message: '', reason: '', metadata: {}, reportingController: '' });

/** A service-account key file with a key generated for this test. */
function serviceAccountKey(): { json: string; privateKey: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const json = JSON.stringify({
    type: 'service_account', project_id: 'my-gcp-project', private_key_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    private_key: pem, client_email: 'flux@my-gcp-project.iam.gserviceaccount.com', client_id: '123456789012345678901',
    token_uri: 'https://oauth2.googleapis.com/token',
  });
  return { json, privateKey: pem };
}

describe('googlepubsub: what is published', () => {
  it('publishes the spec canonical example: topic, data bytes of the event, Secret headers as attributes', async () => {
    const topic = 'projects/my-gcp-project/topics/flux-events';
    const { p, secrets } = provider({ address: 'my-gcp-project', channel: 'flux-events' }, { headers: 'env: prod\n' });
    await deliverOnce(runtime, p, secrets, canonicalEvent('error'));
    await deliverOnce(runtime, p, secrets, canonicalEvent('info'));
    const calls = callsFor(topic);
    expect(calls).toHaveLength(2);
    for (const c of calls) {
      expect(c.messages).toHaveLength(1);
      expect(c.messages[0]!.attributes).toEqual({ env: 'prod' });
      expect(c.messages[0]!.orderingKey).toBe('');
      // The routing header and the client identification the SDK adds.
      expect(c.metadata['x-goog-request-params']).toBe('topic=projects%2Fmy-gcp-project%2Ftopics%2Fflux-events');
      expect(c.metadata['x-goog-api-client']).toMatch(/gl-node\//);
    }
    expect(calls[0]!.messages[0]!.data.toString('utf8')).toBe(CANONICAL_BODY);
    expect(calls[0]!.messages[0]!.data.length).toBe(552);
    expect(calls[1]!.messages[0]!.data.toString('utf8')).toBe(CANONICAL_BODY.replace('"severity":"error"', '"severity":"info"'));
  });

  it('sends no attributes without Secret headers, and the bytes of the upstream vectors (Go encoding/json)', async () => {
    const topic = 'projects/project-id/topics/vectors';
    const { p } = provider({ address: 'project-id', channel: 'vectors' });
    await deliverOnce(runtime, p, [], { ...zeroEvent(), metadata: { foo: 'bar' } });
    await deliverOnce(runtime, p, [], zeroEvent());
    const calls = callsFor(topic);
    expect(calls.map((c) => c.messages[0]!.data.toString('utf8'))).toEqual([
      '{"involvedObject":{},"severity":"","timestamp":null,"message":"","reason":"","metadata":{"foo":"bar"},"reportingController":""}',
      '{"involvedObject":{},"severity":"","timestamp":null,"message":"","reason":"","reportingController":""}',
    ]);
    expect(calls.map((c) => c.messages[0]!.attributes)).toEqual([{}, {}]);
  });

  it('takes a full projects/<p>/topics/<t> channel as it is', async () => {
    const { p } = provider({ address: 'my-gcp-project', channel: 'projects/other-project/topics/elsewhere' });
    await deliverOnce(runtime, p, [], canonicalEvent());
    expect(callsFor('projects/other-project/topics/elsewhere')).toHaveLength(1);
  });

  it('keeps one client (one gRPC connection) per Provider version and closes it with the version', async () => {
    const topic = 'projects/my-gcp-project/topics/one-client';
    const config = parse({ address: 'my-gcp-project', channel: 'one-client' });
    const { p } = provider({ address: 'my-gcp-project', channel: 'one-client' });
    for (let i = 0; i < 3; i++) await GooglePubSubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext());
    await Promise.all([1, 2, 3].map(() => GooglePubSubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext())));
    const peers = new Set(callsFor(topic).map((c) => c.peer));
    expect(callsFor(topic)).toHaveLength(6);
    expect(peers.size).toBe(1);
    // Each event is its own Publish (the SDK's batching never combines events).
    expect(callsFor(topic).every((c) => c.messages.length === 1)).toBe(true);
    await GooglePubSubProvider.close!(config);
    await expect(GooglePubSubProvider.send(notificationFor(canonicalEvent(), p), config, sendContext())).rejects.toThrow(DeliveryError);
    // The next version gets its own client.
    const next = parse({ address: 'my-gcp-project', channel: 'one-client' });
    await GooglePubSubProvider.send(notificationFor(canonicalEvent(), p), next, sendContext());
    await GooglePubSubProvider.close!(next);
    const all = callsFor(topic);
    expect(all).toHaveLength(7);
    expect(peers.has(all[6]!.peer)).toBe(false);
  });
});

describe('googlepubsub: construction errors (spec Validation, in order)', () => {
  it('names the empty project ID first, then the empty topic ID', () => {
    expect(configError({ address: '', channel: '' }).message).toBe('provider apps/ops: GCP project ID cannot be empty');
    expect(configError({ address: 'project-id', channel: '' }).message).toBe('provider apps/ops: GCP Pub/Sub topic ID cannot be empty');
  });

  it('refuses serviceAccountName with the feature-gate error while the gate is off', () => {
    expect(configError({ address: 'project-id', channel: 'topic', serviceAccountName: 'flux-pubsub' }).message)
      .toBe('provider apps/ops: to use spec.serviceAccountName for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller');
  });

  it('takes the project from the Secret address over spec.address', async () => {
    const { p, secrets } = provider({ address: 'spec-project', channel: 'from-secret' }, { address: ' secret-project \n' });
    await deliverOnce(runtime, p, secrets, canonicalEvent());
    expect(callsFor('projects/secret-project/topics/from-secret')).toHaveLength(1);
  });
});

describe('googlepubsub: credentials JSON in the Secret token', () => {
  it('accepts a service-account key (a key generated here) and publishes with it', async () => {
    const key = serviceAccountKey();
    const config = parse({ address: 'my-gcp-project', channel: 'with-key' }, { token: key.json });
    expect(config.auth).toEqual({ kind: 'credentials', type: 'service_account', identity: 'flux@my-gcp-project.iam.gserviceaccount.com' });
    // Its private key (and every line of it) is masked wherever it would appear.
    expect(config.sensitive).toContain(key.privateKey);
    const line = key.privateKey.split('\n')[1]!;
    expect(config.sensitive).toContain(line);
    expect(JSON.stringify(config)).not.toContain(line);
    const { p, secrets } = provider({ address: 'my-gcp-project', channel: 'with-key' }, { token: key.json });
    await deliverOnce(runtime, p, secrets, canonicalEvent());
    const [call] = callsFor('projects/my-gcp-project/topics/with-key');
    expect(call!.messages[0]!.data.toString('utf8')).toBe(CANONICAL_BODY);
    // SDK behaviour (spec Target): with PUBSUB_EMULATOR_HOST the client uses a plaintext channel without call
    // credentials, so the credentials are parsed but no Authorization metadata is sent.
    expect(call!.metadata['authorization']).toBeUndefined();
    await GooglePubSubProvider.close!(config);
  });

  it('refuses a token that is not a usable credentials JSON, naming Provider, Secret and key, never quoting it', () => {
    const key = serviceAccountKey();
    const broken = key.json.slice(0, -40);
    const cases: [string, RegExp][] = [
      ['not json at all sk-4f9a8b7c6d5e', /key 'token': is not valid JSON/],
      [broken, /key 'token': is not valid JSON/],
      ['["a","b"]', /is not a JSON object/],
      ['{"client_email":"x@y"}', /has no "type"/],
      ['{"type":"api_key","key":"AIzaSyD-secret-value-123"}', /unsupported type "api_key"/],
      ['{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n"}', /has no "client_email"/],
      ['{"type":"service_account","client_email":"x@y","private_key":"-----BEGIN PRIVATE KEY-----\\nMIIEsecretsecretsecret\\n-----END PRIVATE KEY-----\\n"}', /"private_key" is not a valid PEM private key/],
      ['{"type":"authorized_user","client_id":"id","client_secret":"s3cr3t-client"}', /have no "refresh_token"/],
    ];
    for (const [token, want] of cases) {
      const err = configError({ address: 'my-gcp-project', channel: 'flux-events' }, { token });
      expect(err.message).toMatch(/^provider apps\/ops: secret apps\/gcp key 'token': /);
      expect(err.message).toMatch(want);
      for (const piece of ['sk-4f9a8b7c6d5e', 'AIzaSyD', 'MIIEsecret', 's3cr3t-client', key.privateKey.split('\n')[1]!]) {
        expect(err.message).not.toContain(piece);
      }
    }
  });

  it('parses the other credential types google-auth-library accepts', () => {
    const external = JSON.stringify({
      type: 'external_account', audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k8s',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', token_url: 'https://sts.googleapis.com/v1/token',
      credential_source: { file: '/var/run/service-account/token' },
    });
    expect(parseGoogleCredentials(external, 'w').type).toBe('external_account');
    const user = JSON.stringify({ type: 'authorized_user', client_id: 'id', client_secret: 'client-s3cret', refresh_token: 'refresh-t0ken' });
    expect(parseGoogleCredentials(user, 'w').sensitive).toEqual(['client-s3cret', 'refresh-t0ken']);
  });
});

describe('googlepubsub: failed publishes', () => {
  const failing = (code: grpc.status, details: string) => (t: string) => (t.endsWith('/failing') ? { code, details } : undefined);

  it.each([
    [grpc.status.NOT_FOUND, 'Resource not found (resource=failing).', false, 'client'],
    [grpc.status.PERMISSION_DENIED, 'User not authorized to perform this action.', false, 'auth'],
    [grpc.status.UNAUTHENTICATED, 'Request had invalid authentication credentials.', false, 'auth'],
    [grpc.status.INVALID_ARGUMENT, 'Invalid resource name given.', false, 'client'],
  ] as const)('reports gRPC status %i as Flux does, with the topic name (retryable: %s)', async (code, details, retryable, reason) => {
    answer = failing(code, details);
    try {
      const { p } = provider({ address: 'my-gcp-project', channel: 'failing' });
      const err = await deliveryFailure(deliverOnce(runtime, p, [], canonicalEvent()));
      expect(err.message).toBe(`error publishing to GCP Pub/Sub topic projects/my-gcp-project/topics/failing: ${code} ${grpc.status[code]}: ${details}`);
      expect([err.retryable, err.reason]).toEqual([retryable, reason]);
    } finally {
      answer = () => undefined;
    }
  });

  it('lets the SDK retry UNAVAILABLE and RESOURCE_EXHAUSTED within the Provider timeout, then fails retryable', async () => {
    for (const [code, reason] of [[grpc.status.UNAVAILABLE, 'transport'], [grpc.status.RESOURCE_EXHAUSTED, 'rate-limited']] as const) {
      answer = failing(code, 'try later');
      const before = callsFor('projects/my-gcp-project/topics/failing').length;
      try {
        const { p } = provider({ address: 'my-gcp-project', channel: 'failing', timeout: '1s' });
        const started = Date.now();
        // The SDK checks its total timeout only after each backoff sleep (100 ms x4, jittered), so it may overrun the
        // Provider timeout by one sleep; the attempt deadline ends it in any case.
        const err = await deliveryFailure(deliverOnce(runtime, p, [], canonicalEvent(), { timeoutMs: 3000 }));
        expect(Date.now() - started).toBeLessThan(3500);
        expect(err.retryable).toBe(true);
        expect([reason, 'timeout']).toContain(err.reason);
        // The SDK retried (backoff 100 ms, x4) before the Provider timeout ended it.
        expect(callsFor('projects/my-gcp-project/topics/failing').length - before).toBeGreaterThan(1);
      } finally {
        answer = () => undefined;
      }
    }
  });

  it('ends a publish that gets no answer at the attempt deadline, as a timeout', async () => {
    answer = (t) => (t.endsWith('/hanging') ? 'hang' : undefined);
    try {
      const { p } = provider({ address: 'my-gcp-project', channel: 'hanging' });
      const started = Date.now();
      const err = await deliveryFailure(deliverOnce(runtime, p, [], canonicalEvent(), { timeoutMs: 400 }));
      expect(Date.now() - started).toBeLessThan(2000);
      expect(err.message).toBe('error publishing to GCP Pub/Sub topic projects/my-gcp-project/topics/hanging: context deadline exceeded');
      expect([err.retryable, err.reason]).toEqual([true, 'timeout']);
    } finally {
      answer = () => undefined;
    }
  });

  it('keeps the credentials JSON and its private key out of a failure', async () => {
    const key = serviceAccountKey();
    answer = (t) => (t.endsWith('/echo') ? { code: grpc.status.INVALID_ARGUMENT, details: `bad key ${key.privateKey} in ${key.json}` } : undefined);
    try {
      const { p, secrets } = provider({ address: 'my-gcp-project', channel: 'echo' }, { token: key.json });
      const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent()));
      const masked = maskError(err.message, settingsFor(p, secrets));
      expect(err.message).not.toContain(key.privateKey.split('\n')[1]!);
      expect(masked).not.toContain(key.privateKey.split('\n')[1]!);
      expect(masked).not.toContain('a1b2c3d4e5f60718293a4b5c6d7e8f9012345678');
    } finally {
      answer = () => undefined;
    }
  });
});
