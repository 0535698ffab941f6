// A small Google Cloud Pub/Sub gRPC server for tests: the Publisher service from the protos the client library ships,
// served by @grpc/grpc-js on loopback. The client reaches it through PUBSUB_EMULATOR_HOST (plaintext gRPC), or, with
// TLS and a certificate for pubsub.googleapis.com, as the real endpoint through a routing CONNECT proxy.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repoRoot } from './herald-process.js';

export interface PublishedMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
}

export interface PublishCall {
  topic: string;
  messages: PublishedMessage[];
  /** The call's metadata (lower-case keys, first value). */
  metadata: Record<string, string>;
  /** The client's address:port: one connection per client. */
  peer: string;
}

/** What the server answers a Publish with: message IDs (default), or a gRPC status error. */
export type PublishAnswer = { code: grpc.status; details: string } | 'hang' | undefined;

export interface PubSubServer {
  /** `127.0.0.1:<port>`, the value for PUBSUB_EMULATOR_HOST. */
  host: string;
  port: number;
  calls: PublishCall[];
  close(): Promise<void>;
}

const protoRoot = path.join(repoRoot, 'node_modules', '@google-cloud', 'pubsub', 'build', 'protos');
const commonProtos = path.join(repoRoot, 'node_modules', 'google-gax', 'build', 'protos');

let publisherService: grpc.ServiceDefinition | undefined;

function publisherDefinition(): grpc.ServiceDefinition {
  if (publisherService) return publisherService;
  const def = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', {
    includeDirs: [protoRoot, commonProtos], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { google: { pubsub: { v1: { Publisher: { service: grpc.ServiceDefinition } } } } };
  publisherService = pkg.google.pubsub.v1.Publisher.service;
  return publisherService;
}

export async function startPubSubServer(
  answer: (call: PublishCall) => PublishAnswer = () => undefined, opts: { tls?: { key: string; cert: string } } = {},
): Promise<PubSubServer> {
  const server = new grpc.Server();
  const calls: PublishCall[] = [];
  let nextId = 1;
  const hanging: (() => void)[] = [];
  server.addService(publisherDefinition(), {
    Publish(call: grpc.ServerUnaryCall<{ topic: string; messages: { data: Buffer; attributes: Record<string, string>; ordering_key: string }[] }, unknown>,
      callback: grpc.sendUnaryData<{ message_ids: string[] }>) {
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k.toLowerCase()] = Buffer.isBuffer(v) ? v.toString('base64') : String(v);
      const recorded: PublishCall = {
        topic: call.request.topic,
        messages: call.request.messages.map((m) => ({ data: Buffer.from(m.data), attributes: { ...m.attributes }, orderingKey: m.ordering_key })),
        metadata,
        peer: call.getPeer(),
      };
      calls.push(recorded);
      const a = answer(recorded);
      if (a === 'hang') {
        hanging.push(() => callback({ code: grpc.status.UNAVAILABLE, details: 'server closing' }));
        return;
      }
      if (a) {
        callback({ code: a.code, details: a.details });
        return;
      }
      callback(null, { message_ids: recorded.messages.map(() => String(nextId++)) });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const creds = opts.tls
      ? grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(opts.tls.key), cert_chain: Buffer.from(opts.tls.cert) }])
      : grpc.ServerCredentials.createInsecure();
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    host: `127.0.0.1:${port}`,
    port,
    calls,
    close: () => new Promise<void>((resolve) => {
      for (const h of hanging.splice(0)) h();
      server.tryShutdown(() => resolve());
      setTimeout(() => { server.forceShutdown(); resolve(); }, 1000).unref();
    }),
  };
}
