// pagerduty against real local servers (spec providers/pagerduty.md): the two exchanges, every field, skips,
// construction errors, and the routing key (spec.channel, not a Secret value) kept out of every error.
import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../../src/api/event.js';
import { pagerDutyBase } from '../../../src/providers/incident/pagerduty.js';
import { canonicalEvent } from '../../helpers/providers.js';
import { bytesOf, incidentKit, upstreamEvent } from './incident-kit.js';

const kit = incidentKit('pagerduty');
const KEY = 'R0UT1NGKEY-0123456789abcdef';
const UID = '4f3c2a1b-8d7e-4c6b-9a5f-0e1d2c3b4a59';
const META = { cluster: 'prod-eu', revision: 'main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', summary: 'Production cluster' };
const accepted = () => ({ status: 202, body: '{"status":"success"}' });

describe('pagerduty: requests', () => {
  it('triggers an incident for an error with the full payload, byte for byte in go-pagerduty field order', async () => {
    const srv = await kit.server({ respond: accepted });
    await kit.deliver(kit.provider({ address: `${srv.url}/v2/enqueue`, channel: KEY }), [], canonicalEvent('error'));
    expect(srv.requests).toHaveLength(1);
    const [req] = srv.requests;
    expect(`${req!.method} ${req!.url}`).toBe('POST /v2/enqueue');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['authorization']).toBeUndefined();
    expect(req!.text).toBe(bytesOf({
      routing_key: KEY, event_action: 'trigger', dedup_key: UID,
      payload: {
        summary: 'health check failed: kustomization/webapp', source: 'Flux kustomize-controller', severity: 'error',
        timestamp: '2025-06-01T10:15:30Z', component: 'webapp', group: 'Kustomization',
        custom_details: { message: 'Health check failed after 2m', metadata: META },
      },
    }));
  });

  it('resolves an info event, then sends the change event once the resolve was answered', async () => {
    let firstAnswered = 0;
    const srv = await kit.server({
      respond: async (_r, n) => {
        if (n === 0) {
          await new Promise((r) => setTimeout(r, 100));
          firstAnswered = Date.now();
        }
        return accepted();
      },
    });
    const arrivals: number[] = [];
    const orig = srv.requests.push.bind(srv.requests);
    srv.requests.push = (...items) => {
      arrivals.push(Date.now());
      return orig(...items);
    };
    await kit.deliver(kit.provider({ address: srv.url, channel: KEY }), [], canonicalEvent('info'));
    expect(srv.requests.map((r) => r.url)).toEqual(['/v2/enqueue', '/v2/change/enqueue']);
    expect(arrivals[1]!).toBeGreaterThanOrEqual(firstAnswered);
    expect(srv.requests[0]!.text).toBe(bytesOf({ routing_key: KEY, event_action: 'resolve', dedup_key: UID }));
    expect(srv.requests[1]!.text).toBe(bytesOf({
      routing_key: KEY,
      payload: {
        summary: 'health check failed: kustomization/webapp', source: 'Flux kustomize-controller', timestamp: '2025-06-01T10:15:30Z',
        custom_details: { message: 'Health check failed after 2m', metadata: META },
      },
    }));
    expect(srv.requests[1]!.headers['content-type']).toBe('application/json');
  });

  it('reproduces Flux\'s vectors 4-6 (GitRepository flux-system/test-app, uid 1234)', async () => {
    const srv = await kit.server({ respond: accepted });
    const base = {
      involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'test-app', uid: '1234' },
      timestamp: '2020-01-01T00:00:00Z', message: 'message', metadata: { key1: 'val1', key2: 'val2' }, reportingController: 'source-controller',
    };
    const p = kit.provider({ address: srv.url, channel: 'notARealRoutingKey' });
    await kit.deliver(p, [], decodeEvent(JSON.stringify({ ...base, severity: 'info', reason: 'Succeeded' })));
    await kit.deliver(p, [], decodeEvent(JSON.stringify({ ...base, severity: 'error', reason: 'Failed' })));
    const bodies = srv.requests.map((r) => JSON.parse(r.text));
    expect(bodies[0]).toEqual({ routing_key: 'notARealRoutingKey', event_action: 'resolve', dedup_key: '1234' });
    expect(bodies[1]).toEqual({
      routing_key: 'notARealRoutingKey',
      payload: { summary: 'succeeded: gitrepository/test-app', source: 'Flux source-controller', timestamp: '2020-01-01T00:00:00Z', custom_details: { message: 'message', metadata: { key1: 'val1', key2: 'val2' } } },
    });
    expect(bodies[2]).toEqual({
      routing_key: 'notARealRoutingKey', event_action: 'trigger', dedup_key: '1234',
      payload: {
        summary: 'failed: gitrepository/test-app', source: 'Flux source-controller', severity: 'error', timestamp: '2020-01-01T00:00:00Z',
        component: 'test-app', group: 'GitRepository', custom_details: { message: 'message', metadata: { key1: 'val1', key2: 'val2' } },
      },
    });
    expect(bodies).toHaveLength(3);
  });

  it('resolves a trace event without a change event; omits an empty dedup key; sends metadata null when there is none', async () => {
    const srv = await kit.server({ respond: accepted });
    const p = kit.provider({ address: srv.url, channel: KEY });
    await kit.deliver(p, [], upstreamEvent({ severity: 'trace' }));
    expect(srv.requests.map((r) => r.url)).toEqual(['/v2/enqueue']);
    expect(JSON.parse(srv.requests[0]!.text)).toEqual({ routing_key: KEY, event_action: 'resolve', dedup_key: '2f5c9d21-b62c-4a35-9b17-1b0f4c8e2d3a' });

    const bare = upstreamEvent({ severity: 'error', metadata: {} });
    bare.involvedObject = { kind: 'GitRepository', namespace: 'gitops-system', name: 'webapp' };
    await kit.deliver(p, [], bare);
    expect(srv.requests[1]!.text).toBe(bytesOf({
      routing_key: KEY, event_action: 'trigger',
      payload: {
        summary: 'reason: gitrepository/webapp', source: 'Flux source-controller', severity: 'error', timestamp: '2022-09-30T06:40:29Z',
        component: 'webapp', group: 'GitRepository', custom_details: { message: 'message', metadata: null },
      },
    }));
  });

  it('skips Progressing (exact reason), for errors and info alike', async () => {
    const srv = await kit.server({ respond: accepted });
    const p = kit.provider({ address: srv.url, channel: KEY });
    await kit.deliver(p, [], upstreamEvent({ reason: 'Progressing' }));
    await kit.deliver(p, [], upstreamEvent({ reason: 'Progressing', severity: 'error' }));
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.requests).toHaveLength(0);
    await kit.deliver(p, [], upstreamEvent({ reason: 'ProgressingWithRetry', severity: 'error' }));
    expect(srv.requests).toHaveLength(1);
  });

  it('uses only the scheme and host of the address: path, query and user info are dropped', async () => {
    const srv = await kit.server({ respond: accepted });
    const address = srv.url.replace('http://', 'http://user:secret@') + '/some/path/v2/enqueue?routing=x#frag';
    await kit.deliver(kit.provider({ address, channel: KEY }), [], canonicalEvent('info'));
    expect(srv.requests.map((r) => r.url)).toEqual(['/v2/enqueue', '/v2/change/enqueue']);
    expect(srv.requests[0]!.headers['authorization']).toBeUndefined();
    expect(pagerDutyBase('https://events.eu.pagerduty.com/v2/enqueue')).toBe('https://events.eu.pagerduty.com');
    expect(pagerDutyBase('https://events.pagerduty.com/v2/enqueue')).toBe('https://events.pagerduty.com');
  });
});

describe('pagerduty: failures', () => {
  it('fails the alert event with Flux\'s prefix and sends no change event', async () => {
    const srv = await kit.server({ respond: () => ({ status: 400, body: '{"status":"invalid event"}' }) });
    const err = await kit.failure(kit.provider({ address: srv.url, channel: KEY }), [], canonicalEvent('info'));
    expect(err.message).toBe('failed sending event: request failed with status code 400: {"status":"invalid event"}');
    expect(err.retryable).toBe(false);
    expect(srv.requests).toHaveLength(1);
  });

  it('fails when the change event is refused after the resolve went through', async () => {
    const srv = await kit.server({ respond: (_r, n) => (n === 0 ? accepted() : { status: 400, body: 'change events are not supported on this integration' }) });
    const err = await kit.failure(kit.provider({ address: srv.url, channel: KEY }), [], canonicalEvent('info'));
    expect(err.message).toBe('failed sending change event: request failed with status code 400: change events are not supported on this integration');
    expect(srv.requests.map((r) => r.url)).toEqual(['/v2/enqueue', '/v2/change/enqueue']);
  });

  it('keeps the routing key out of the error, even when PagerDuty echoes the request (both exchanges)', async () => {
    for (const failing of [0, 1]) {
      const srv = await kit.server({ respond: (r, n) => (n === failing ? { status: 400, body: `echo ${r.text}` } : accepted()) });
      const err = await kit.failure(kit.provider({ address: srv.url, channel: KEY }), [], canonicalEvent('info'));
      expect(err.message).toContain('"routing_key":"*****"');
      expect(err.message).not.toContain(KEY);
      expect(err.message).not.toContain(KEY.slice(0, 12));
    }
  });

  it('keeps even a part of the routing key out when a long echo is cut to an excerpt', async () => {
    const srv = await kit.server({ respond: (r) => ({ status: 400, body: `${'x'.repeat(2048 - 6)}${JSON.parse(r.text).routing_key}` }) });
    const err = await kit.failure(kit.provider({ address: srv.url, channel: KEY }), [], canonicalEvent('error'));
    expect(err.message.endsWith('x*****')).toBe(true);
    expect(err.message).not.toContain(KEY.slice(0, 6));
  });

  it('reports a refused connection as retryable, naming the URL but not the key', async () => {
    const srv = await kit.server();
    const url = srv.url;
    await srv.close();
    const err = await kit.failure(kit.provider({ address: url, channel: KEY }), [], canonicalEvent('error'));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`failed sending event: Post "${url}/v2/enqueue": `);
    expect(err.message).not.toContain(KEY);
  });
});

describe('pagerduty: construction', () => {
  it('refuses an address that is not a request URI, with Flux\'s text and the Provider, and sends nothing', async () => {
    const srv = await kit.server();
    const message = await kit.refusedWithoutSending(kit.provider({ address: 'not a url', channel: KEY }), [], srv);
    expect(message).toContain(`provider apps/ops: spec.address: invalid PagerDuty endpoint URL "not a url": 'parse "not a url": invalid URI for request'`);
    expect(message).not.toContain(KEY);
  });

  it('names the Secret key when the bad address comes from the Secret, without printing the address', () => {
    const err = kit.configError(kit.provider({ channel: KEY, secretRef: { name: 'pd' } }), [kit.secret('pd', { address: 'events.example.com/signed-s3cr3t' })]);
    expect(err.message).toContain("invalid PagerDuty endpoint URL");
    expect(err.message).toContain("provider apps/ops: secret apps/pd key 'address': invalid PagerDuty endpoint URL");
    expect(err.message).not.toContain('signed-s3cr3t');
  });

  it('refuses an address without scheme and host, and an empty routing key', async () => {
    const srv = await kit.server();
    expect(kit.configError(kit.provider({ address: '/v2/enqueue', channel: KEY })).message)
      .toContain('provider apps/ops: spec.address: invalid PagerDuty endpoint URL "/v2/enqueue": it needs a scheme and a host');
    expect(await kit.refusedWithoutSending(kit.provider({ address: srv.url }), [], srv))
      .toContain('provider apps/ops: spec.channel (the PagerDuty integration routing key) is empty');
  });
});
