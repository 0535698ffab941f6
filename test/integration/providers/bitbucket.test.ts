// bitbucket (Cloud) against a local HTTPS fake of the Bitbucket Cloud 2.0 API reached through BITBUCKET_API_BASE_URL (CA made in the test).
import { afterAll, describe, expect, it } from 'vitest';
import type { FluxEvent } from '../../../src/api/event.js';
import { ConfigError } from '../../../src/providers/types.js';
import { startFakeBitbucketCloud, trackHosts, type FakeHost } from '../../helpers/fake-git-hosts.js';
import { COMMIT, gitObjects, STATUS_ID, variantI } from '../../helpers/git-variants.js';
import { canonicalEvent, deliverOnce, deliveryFailure, parseProvider, testRuntime } from '../../helpers/providers.js';

const KEY = '4abc3ba6f171924ecece234c03192982da12888b'; // sha1("kustomization/webapp/0c9c2e41")
const runtime = testRuntime();
const saved = process.env['BITBUCKET_API_BASE_URL'];
afterAll(() => {
  if (saved === undefined) delete process.env['BITBUCKET_API_BASE_URL'];
  else process.env['BITBUCKET_API_BASE_URL'] = saved;
});
const track = trackHosts();

async function bitbucket(): Promise<FakeHost> {
  const h = track(await startFakeBitbucketCloud({ user: 'flux-bot', password: 'app-pass', workspace: 'acme', repo: 'webapp' }));
  process.env['BITBUCKET_API_BASE_URL'] = `${h.url}/2.0`;
  return h;
}

function objects(data: Record<string, string> | undefined, address = 'git@bitbucket.org:acme/webapp.git') {
  return gitObjects('bitbucket', address, 'bitbucket-auth', data);
}

async function status(h: FakeHost, event: FluxEvent, opts: { id?: string; token?: string } = {}) {
  const { provider, secrets } = objects({ token: opts.token ?? 'flux-bot:app-pass', 'ca.crt': h.pki.ca });
  return deliverOnce(runtime, provider, secrets, event, { commitStatusId: opts.id ?? STATUS_ID });
}

const base = `/2.0/repositories/acme/webapp/commit/${COMMIT}/statuses/build`;

describe('bitbucket', () => {
  it('gets the status by key (404 first), posts it; an unchanged one is not posted again; a new state is', async () => {
    const h = await bitbucket();
    await status(h, canonicalEvent('error'));
    expect(h.calls()).toEqual([`GET ${base}/${KEY}`, `POST ${base}`]);
    expect(h.server.requests[1]!.headers['authorization']).toBe('Basic Zmx1eC1ib3Q6YXBwLXBhc3M=');
    expect(h.server.requests[1]!.text).toBe(`{"key":"${KEY}","url":"https://bitbucket.org","state":"FAILED","name":"kustomization/webapp","description":"health check failed"}`);
    await status(h, canonicalEvent('error'));
    expect(h.calls()).toHaveLength(3);
    await status(h, variantI());
    expect(h.calls().slice(3)).toEqual([`GET ${base}/${KEY}`, `POST ${base}`]);
    expect(h.statuses.map((s) => s['state'])).toEqual(['SUCCESSFUL']);
  });

  it('posts a plain info event and sends nothing for Progressing', async () => {
    const h = await bitbucket();
    const progressing = canonicalEvent('error');
    progressing.reason = 'Progressing';
    progressing.metadata = {};
    await status(h, progressing);
    expect(h.calls()).toEqual([]);
    const plain = canonicalEvent('info');
    plain.reason = 'ReconciliationSucceeded';
    await status(h, plain);
    expect(h.statuses.map((s) => [s['state'], s['description']])).toEqual([['SUCCESSFUL', 'reconciliation succeeded']]);
  });

  it('reports 401 as final (reason auth) with the status line, and a failed post unwrapped', async () => {
    const h = await bitbucket();
    const auth = await deliveryFailure(status(h, canonicalEvent('error'), { token: 'flux-bot:wrong-pass' }));
    expect([auth.retryable, auth.reason, auth.message]).toEqual([
      false, 'auth', 'could not get commit status: 401 Unauthorized (provider apps/ops: the server rejected the credentials from secret apps/bitbucket-auth)',
    ]);
    h.failNext.push({ status: 404, body: '{}' }, { status: 400, body: '{"type":"error"}' });
    const post = await deliveryFailure(status(h, canonicalEvent('error')));
    expect([post.retryable, post.message]).toEqual([false, '400 Bad Request']);
    h.failNext.push({ status: 503 });
    const get = await deliveryFailure(status(h, canonicalEvent('error')));
    expect([get.retryable, get.message]).toEqual([true, 'could not get commit status: 503 Service Unavailable']);
    h.failNext.push({ status: 200, body: 'oops' });
    expect((await deliveryFailure(status(h, canonicalEvent('error')))).message).toBe("could not get commit status: invalid character 'o' looking for beginning of value");
  });

  it("fails an event with Flux's texts", async () => {
    const h = await bitbucket();
    const trace = canonicalEvent('error');
    trace.severity = 'trace';
    expect((await deliveryFailure(status(h, trace))).message).toBe("can't convert to bitbucket state");
    expect((await deliveryFailure(status(h, canonicalEvent('error'), { id: '' }))).message).toBe('commit status cannot be empty');
    expect(h.calls()).toEqual([]);
  });

  it('refuses a token that is not <user>:<password> and bad addresses, naming the Secret and key, never the token', () => {
    const parse = (data: Record<string, string> | undefined, address?: string) => () => {
      const { provider, secrets } = objects(data, address);
      return parseProvider(runtime, provider, secrets);
    };
    const noColon = parse({ token: 'app-pass-only' });
    expect(noColon).toThrow(new ConfigError("provider apps/ops: invalid token format, expected to be <user>:<password>: secret apps/bitbucket-auth key 'token' must hold exactly one ':' between the user name and the app password or API token"));
    expect(parse({ token: 'a:b:c' })).toThrow(/invalid token format/);
    try {
      noColon();
    } catch (err) {
      expect((err as Error).message).not.toContain('app-pass-only');
    }
    expect(parse(undefined)).toThrow(/^provider apps\/ops: bitbucket token cannot be empty: spec.secretRef is not set/);
    expect(parse({ token: 'u:p' }, 'https://bitbucket.org/acme/webapp/src/main')).toThrow(/invalid repository id "acme\/webapp\/src\/main"/);
  });
});
