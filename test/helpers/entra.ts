// A local Entra ID (v2.0) authority for workload-identity tests: loopback HTTPS with a test CA trusted for the test's
// duration, OpenID configuration, instance discovery and the token endpoint; the AZURE_* variables the Azure
// workload-identity webhook injects point at it (restored after each test).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tls from 'node:tls';
import { restoreEnvAndCaAfterEach, type Closable } from './cleanup.js';
import { startRecordingServer, type RecordingServer } from './recording-server.js';
import { makeTestPki } from './tls.js';

export const ENTRA_TENANT = 'tenant-0123';
export const ENTRA_CLIENT_ID = '00000000-0000-0000-0000-00000000c1d2';
/** What the webhook mounts: the ServiceAccount token projected for the audience api://AzureADTokenExchange. */
export const FEDERATED_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Zmx1eC1zeXN0ZW06bm90aWZpY2F0aW9uLWNvbnRyb2xsZXIifQ.c2lnbmF0dXJl';

const WI_ENV = ['AZURE_AUTHORITY_HOST', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE'] as const;

export type TokenAnswer = (form: URLSearchParams, url: string) => { status: number; body: string };

/** A successful token answer. */
export const entraToken = (access_token: string, expires_in = 3600) => ({ status: 200, body: JSON.stringify({ token_type: 'Bearer', expires_in, access_token }) });

/**
 * Registers the environment and CA restore hooks; returns `entra`, which starts the authority (tracked with `track`)
 * and sets the webhook's variables (`controller: false` leaves AZURE_CLIENT_ID and the token file unset).
 */
export function entraAuthority(track: <T extends Closable>(item: T) => T): (answer: TokenAnswer, opts?: { controller?: boolean }) => Promise<RecordingServer & { tokenRequests(): Array<{ url: string; form: URLSearchParams }> }> {
  restoreEnvAndCaAfterEach(WI_ENV);
  const savedCa = tls.getCACertificates('default');
  return async (answer, opts = {}) => {
    const pki = makeTestPki();
    tls.setDefaultCACertificates([...savedCa, pki.ca]);
    let base = '';
    const srv = track(await startRecordingServer({
      tls: { key: pki.serverKey, cert: pki.serverCert },
      respond: (req) => {
        const tenant = /^\/([^/]+)\//.exec(req.url)?.[1] ?? ENTRA_TENANT;
        if (req.url.includes('openid-configuration')) {
          return {
            status: 200, headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({
              issuer: `${base}/${tenant}/v2.0`, token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
              authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`, jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
              end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`, response_types_supported: ['code'],
            }),
          };
        }
        if (req.url.includes('/discovery/instance')) {
          const host = new URL(base).host;
          return { status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tenant_discovery_endpoint: `${base}/${tenant}/v2.0/.well-known/openid-configuration`, metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }] }) };
        }
        if (req.url.includes('/oauth2/v2.0/token')) {
          const a = answer(new URLSearchParams(req.text), req.url);
          return { status: a.status, headers: { 'Content-Type': 'application/json' }, body: a.body };
        }
        return { status: 404, body: '{}' };
      },
    }));
    base = srv.url.replace('127.0.0.1', 'localhost');
    process.env['AZURE_AUTHORITY_HOST'] = `${base}/`;
    process.env['AZURE_TENANT_ID'] = ENTRA_TENANT;
    if (opts.controller !== false) {
      const dir = mkdtempSync(path.join(tmpdir(), 'herald-wi-'));
      const tokenFile = path.join(dir, 'azure-identity-token');
      writeFileSync(tokenFile, FEDERATED_TOKEN);
      process.env['AZURE_CLIENT_ID'] = ENTRA_CLIENT_ID;
      process.env['AZURE_FEDERATED_TOKEN_FILE'] = tokenFile;
    } else {
      delete process.env['AZURE_CLIENT_ID'];
      delete process.env['AZURE_FEDERATED_TOKEN_FILE'];
    }
    return Object.assign(srv, {
      tokenRequests: () => srv.requests.filter((r) => r.url.includes('/oauth2/v2.0/token')).map((r) => ({ url: r.url, form: new URLSearchParams(r.text) })),
    });
  };
}
