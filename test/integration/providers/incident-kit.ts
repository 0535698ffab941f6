// What the incident provider tests share: tracked recording servers, one runtime, delivery and construction failures.
import { expect } from 'vitest';
import { decodeEvent, type FluxEvent } from '../../../src/api/event.js';
import type { Provider, ProviderSpec, ProviderType } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { maskError } from '../../../src/providers/masking.js';
import { ConfigError, DeliveryError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { deliverOnce, deliveryFailure, parseProvider, providerObject, secretObject, settingsFor, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type RecordingServer, type RecordingServerOptions } from '../../helpers/recording-server.js';

export function incidentKit(type: ProviderType) {
  const track = closeAfterEach();
  const runtime = testRuntime();

  const provider = (spec: Partial<ProviderSpec>, opts: { uid?: string } = {}): Provider => providerObject(type, spec, opts);
  const secret = (name: string, data: Record<string, string>): Secret => secretObject(name, data);

  return {
    track,
    runtime,
    provider,
    secret,
    async server(opts?: RecordingServerOptions): Promise<RecordingServer> {
      return track(await startRecordingServer(opts));
    },
    deliver(p: Provider, secrets: Secret[] = [], event?: FluxEvent) {
      return deliverOnce(runtime, p, secrets, event);
    },
    failure(p: Provider, secrets: Secret[] = [], event?: FluxEvent): Promise<DeliveryError> {
      return deliveryFailure(deliverOnce(runtime, p, secrets, event));
    },
    /** The delivery's error once the worker has masked it. */
    async maskedFailure(p: Provider, secrets: Secret[] = [], event?: FluxEvent): Promise<string> {
      const err = await deliveryFailure(deliverOnce(runtime, p, secrets, event));
      return maskError(err.message, settingsFor(p, secrets));
    },
    /** The ConfigError the Provider's construction fails with. */
    configError(p: Provider, secrets: Secret[] = []): ConfigError {
      try {
        parseProvider(runtime, p, secrets);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return err as ConfigError;
      }
      throw new Error('expected the Provider to be refused');
    },
    /** A delivery that fails at construction sends nothing. */
    async refusedWithoutSending(p: Provider, secrets: Secret[], srv: RecordingServer): Promise<string> {
      let message = '';
      try {
        await deliverOnce(runtime, p, secrets);
        throw new Error('expected the delivery to be refused');
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(srv.requests).toHaveLength(0);
      return message;
    },
  };
}

/** The event of Flux's notifier tests: GitRepository gitops-system/webapp from source-controller. */
export function upstreamEvent(overrides: Partial<FluxEvent> = {}): FluxEvent {
  const e = decodeEvent(JSON.stringify({
    involvedObject: { kind: 'GitRepository', namespace: 'gitops-system', name: 'webapp', uid: '2f5c9d21-b62c-4a35-9b17-1b0f4c8e2d3a' },
    severity: 'info',
    timestamp: '2022-09-30T06:40:29Z',
    message: 'message',
    reason: 'reason',
    metadata: { test: 'metadata' },
    reportingController: 'source-controller',
    reportingInstance: 'source-controller-xyz',
  }));
  return { ...e, ...overrides };
}

/** Minified JSON in the key order shown: the bytes Go writes for a struct printed pretty in the spec. */
export const bytesOf = (value: unknown): string => JSON.stringify(value);
