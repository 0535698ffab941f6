// googlepubsub with credentials, as against Google: the client dials pubsub.googleapis.com:443 over TLS (a CONNECT
// proxy in grpc_proxy routes it to a local Pub/Sub gRPC server whose certificate for pubsub.googleapis.com comes from a
// test CA), so the SDK attaches call credentials. Checks the Bearer token the Secret's service-account key (generated
// here) produces, and the controller's application default credentials (GOOGLE_APPLICATION_CREDENTIALS) shared by
// every Provider without a token.
// Must come first: grpc-js reads its roots file when it loads.
import { grpcRootsFile } from '../../helpers/grpc-test-roots.js';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerGoogleAuth } from '../../../src/providers/cloud/identity/google.js';
import { ProviderRuntime } from '../../../src/providers/runtime.js';
import { providerWithSecret } from '../../helpers/provider-parse.js';
import { canonicalEvent, CANONICAL_BODY, deliverOnce } from '../../helpers/providers.js';
import { startProxy, type TinyProxy } from '../../helpers/proxy.js';
import { startPubSubServer, type PubSubServer } from '../../helpers/pubsub-server.js';
import { makeTestPki } from '../../helpers/tls.js';

const ENV = ['PUBSUB_EMULATOR_HOST', 'grpc_proxy', 'GOOGLE_APPLICATION_CREDENTIALS', 'no_grpc_proxy', 'no_proxy'] as const;
const savedEnv = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
let server: PubSubServer;
let proxy: TinyProxy;
let dir: string;

/** A certificate for pubsub.googleapis.com signed by the test CA. */
function googleCertificate(): { key: string; cert: string } {
  const pki = makeTestPki();
  const d = mkdtempSync(path.join(tmpdir(), 'herald-gcp-cert-'));
  try {
    writeFileSync(path.join(d, 'ca.crt'), pki.ca);
    writeFileSync(path.join(d, 'ca.key'), pki.caKey);
    writeFileSync(path.join(d, 'ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:pubsub.googleapis.com\n');
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: ['ignore', 'ignore', 'pipe'] });
    run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=pubsub.googleapis.com']);
    run(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '2', '-extfile', 'ext']);
    return { key: readFileSync(path.join(d, 'srv.key'), 'utf8'), cert: readFileSync(path.join(d, 'srv.crt'), 'utf8') };
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

function serviceAccount(email: string): { json: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    json: JSON.stringify({
      type: 'service_account', project_id: 'my-gcp-project', private_key_id: 'kid-0123456789', client_email: email,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), token_uri: 'https://oauth2.googleapis.com/token',
    }),
    publicKey,
  };
}

/** Verifies an RS256 JWT with `key` and returns its header and claims. */
function verifiedJwt(token: string, key: KeyObject): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, c, sig] = token.split('.');
  expect(verify('RSA-SHA256', Buffer.from(`${h}.${c}`), key, Buffer.from(sig!, 'base64url')), 'JWT signature').toBe(true);
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), claims: JSON.parse(Buffer.from(c!, 'base64url').toString()) };
}

beforeAll(async () => {
  expect(process.env['GRPC_DEFAULT_SSL_ROOTS_FILE_PATH']).toBe(grpcRootsFile);
  server = await startPubSubServer(undefined, { tls: googleCertificate() });
  proxy = await startProxy(undefined, { route: (host, port) => (host === 'pubsub.googleapis.com' ? { host: '127.0.0.1', port: server.port } : { host, port }) });
  delete process.env['PUBSUB_EMULATOR_HOST'];
  delete process.env['no_grpc_proxy'];
  delete process.env['no_proxy'];
  process.env['grpc_proxy'] = proxy.url;
  dir = mkdtempSync(path.join(tmpdir(), 'herald-adc-'));
});

afterAll(async () => {
  for (const k of ENV) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  await proxy.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(path.dirname(grpcRootsFile), { recursive: true, force: true });
});

describe('googlepubsub: credentials on the wire', () => {
  it('authenticates with the Secret service-account key: a JWT signed by that key on every Publish', async () => {
    const runtime = new ProviderRuntime();
    try {
      const sa = serviceAccount('flux@my-gcp-project.iam.gserviceaccount.com');
      const { p, secrets } = providerWithSecret('googlepubsub', 'gcp', { address: 'my-gcp-project', channel: 'with-key', timeout: '5s' }, { token: sa.json, headers: 'env: prod\n' });
      await deliverOnce(runtime, p, secrets, canonicalEvent(), { timeoutMs: 8000 });
      const call = server.calls.find((c) => c.topic === 'projects/my-gcp-project/topics/with-key')!;
      expect(call.messages[0]!.data.toString('utf8')).toBe(CANONICAL_BODY);
      expect(call.messages[0]!.attributes).toEqual({ env: 'prod' });
      expect(proxy.used.some((u) => u.method === 'CONNECT' && u.target === 'pubsub.googleapis.com:443')).toBe(true);
      const bearer = /^Bearer (.+)$/.exec(call.metadata['authorization'] ?? '')?.[1];
      expect(bearer, 'authorization metadata').toBeDefined();
      const { header, claims } = verifiedJwt(bearer!, sa.publicKey);
      expect(header['kid']).toBe('kid-0123456789');
      expect(claims['iss']).toBe('flux@my-gcp-project.iam.gserviceaccount.com');
      expect(claims['sub']).toBe('flux@my-gcp-project.iam.gserviceaccount.com');
      // A self-signed JWT for the Pub/Sub scopes (or the service's audience), as the spec describes.
      expect(String(claims['scope'] ?? claims['aud'])).toMatch(/pubsub|cloud-platform/);
    } finally {
      await runtime.close();
    }
  });

  it("uses the controller's application default credentials without a token, one GoogleAuth for all Providers", async () => {
    const runtime = new ProviderRuntime();
    try {
      const sa = serviceAccount('herald@my-gcp-project.iam.gserviceaccount.com');
      const file = path.join(dir, 'adc.json');
      writeFileSync(file, sa.json);
      process.env['GOOGLE_APPLICATION_CREDENTIALS'] = file;
      for (const channel of ['adc-a', 'adc-b']) {
        const { p } = providerWithSecret('googlepubsub', 'gcp', { address: 'my-gcp-project', channel, timeout: '5s' });
        await deliverOnce(runtime, p, [], canonicalEvent(), { timeoutMs: 8000 });
      }
      for (const topic of ['projects/my-gcp-project/topics/adc-a', 'projects/my-gcp-project/topics/adc-b']) {
        const call = server.calls.find((c) => c.topic === topic)!;
        const bearer = /^Bearer (.+)$/.exec(call.metadata['authorization'] ?? '')?.[1];
        expect(verifiedJwt(bearer!, sa.publicKey).claims['iss']).toBe('herald@my-gcp-project.iam.gserviceaccount.com');
      }
      expect(await controllerGoogleAuth(runtime)).toBe(await controllerGoogleAuth(runtime));
    } finally {
      delete process.env['GOOGLE_APPLICATION_CREDENTIALS'];
      await runtime.close();
    }
  });
});
