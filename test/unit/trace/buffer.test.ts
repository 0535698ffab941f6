// The live trace ring: records for matched, excluded and duplicate events, delivery attempts, filters, bounds.
import { describe, expect, it } from 'vitest';
import type { Alert, AlertSpec } from '../../../src/api/alert.js';
import type { FluxEvent } from '../../../src/api/event.js';
import { selectAlerts } from '../../../src/routing/match.js';
import { compileAlert, type LabelLookup } from '../../../src/resources/store.js';
import { MAX_ATTEMPTS_PER_DELIVERY, MAX_MESSAGE_CHARS, TraceBuffer, traceDeliveries } from '../../../src/trace/buffer.js';
import type { Delivery } from '../../../src/delivery/outbox.js';

function alert(name: string, spec: Partial<AlertSpec>): Alert {
  return {
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert',
    metadata: { name, namespace: 'flux-system', uid: `uid-${name}` },
    spec: { providerRef: { name: 'slack' }, eventSeverity: 'info', eventSources: [{ kind: 'Kustomization', name: '*' }], ...spec },
  };
}

function event(message = 'Health check failed after 2m', name = 'apps'): FluxEvent {
  return {
    involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name, apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
    severity: 'error', timestamp: null, message, reason: 'HealthCheckFailed', metadata: {}, reportingController: 'kustomize-controller',
  };
}

const noLabels: LabelLookup = async () => undefined;

async function dispatch(trace: TraceBuffer, e: FluxEvent, alerts: Alert[]) {
  const t = trace.begin(e);
  const compiled = alerts.map((a) => compileAlert(a));
  const { matched } = await selectAlerts(e, compiled, noLabels, undefined, (c, v) => t.verdict(c, v));
  return { t, matched };
}

describe('trace records', () => {
  it('records a matched event with its delivery and each attempt', async () => {
    const trace = new TraceBuffer(10);
    const { t, matched } = await dispatch(trace, event(), [alert('on-call', {})]);
    expect(matched).toHaveLength(1);
    t.delivery('d1', matched[0]!, { namespace: 'flux-system', name: 'slack', type: 'slack' });
    trace.attempt('d1', 1, { result: 'retry', delayMs: 1000, error: 'postMessage failed: 503 Service Unavailable' });
    trace.attempt('d1', 2, { result: 'delivered' });
    const [r] = trace.query();
    expect(r).toMatchObject({
      seq: 1, object: 'Kustomization/flux-system/apps', severity: 'error', dedup: 'passed',
      alerts: [{ alert: 'flux-system/on-call', provider: 'flux-system/slack', matched: true, rule: 'source Kustomization/flux-system/*' }],
      deliveries: [{ id: 'd1', provider: 'flux-system/slack', type: 'slack', state: 'delivered', attempts: [
        { attempt: 1, result: 'retry', delayMs: 1000, error: 'postMessage failed: 503 Service Unavailable' },
        { attempt: 2, result: 'delivered' },
      ] }],
    });
    expect(trace.trackedDeliveries).toBe(0);
  });

  it('records the first rule that excluded an event', async () => {
    const trace = new TraceBuffer(10);
    await dispatch(trace, event('Dependencies do not meet ready condition'), [
      alert('quiet', { exclusionList: ['^Dependencies do not meet'] }),
      alert('errors-only', { eventSeverity: 'error', eventSources: [{ kind: 'HelmRelease', name: '*' }] }),
    ]);
    const [r] = trace.query();
    expect(r!.alerts).toEqual([
      { alert: 'flux-system/quiet', provider: 'flux-system/slack', matched: false, rule: 'message matches exclusionList pattern "^Dependencies do not meet"' },
      { alert: 'flux-system/errors-only', provider: 'flux-system/slack', matched: false, rule: 'eventSources[HelmRelease/*]: kind Kustomization is not HelmRelease' },
    ]);
    expect(r!.deliveries).toEqual([]);
  });

  it('records a duplicate without consulting any Alert', () => {
    const trace = new TraceBuffer(10);
    trace.duplicate(event());
    const [r] = trace.query();
    expect(r).toMatchObject({ dedup: 'duplicate', alerts: [], deliveries: [], note: expect.stringContaining('answered 429') });
  });

  it('keeps message excerpts and attempts bounded', () => {
    const trace = new TraceBuffer(2);
    const t = trace.begin(event('x'.repeat(100_000)));
    t.delivery('d', compileAlert(alert('a', {})), { namespace: 'flux-system', name: 'slack', type: 'slack' });
    for (let i = 1; i <= 50; i++) trace.attempt('d', i, { result: 'retry', delayMs: 10, error: 'e'.repeat(10_000) });
    const [r] = trace.query();
    expect(r!.message.length).toBe(MAX_MESSAGE_CHARS);
    const d = r!.deliveries[0]!;
    expect(d.attempts).toHaveLength(MAX_ATTEMPTS_PER_DELIVERY);
    expect(d.attempts[0]!.attempt).toBe(1);
    expect(d.attempts.at(-1)!.attempt).toBe(50);
    expect(d.attemptsOmitted).toBe(40);
    expect(d.attempts[0]!.error!.length).toBeLessThanOrEqual(400);
  });

  it('filters by object, Alert and Provider, newest first, and since a sequence number', async () => {
    const trace = new TraceBuffer(10);
    const a = await dispatch(trace, event('one', 'apps'), [alert('on-call', {})]);
    a.t.delivery('d1', a.matched[0]!, { namespace: 'flux-system', name: 'slack', type: 'slack' });
    await dispatch(trace, event('two', 'infra'), [alert('other', { providerRef: { name: 'teams' } })]);
    trace.duplicate(event('three', 'apps'));
    expect(trace.query().map((r) => r.message)).toEqual(['three', 'two', 'one']);
    expect(trace.query({ object: 'kustomization/flux-system/APPS' }).map((r) => r.message)).toEqual(['three', 'one']);
    expect(trace.query({ alert: 'flux-system/other' }).map((r) => r.message)).toEqual(['two']);
    expect(trace.query({ provider: 'slack' }).map((r) => r.message)).toEqual(['one']);
    expect(trace.query({ provider: 'flux-system/teams' }).map((r) => r.message)).toEqual(['two']);
    expect(trace.query({ since: 1 }).map((r) => r.message)).toEqual(['three', 'two']);
    expect(trace.query({ limit: 1 }).map((r) => r.message)).toEqual(['three']);
  });

  it('stays flat after 100,000 events: capacity records and no leaked delivery handles', async () => {
    const trace = new TraceBuffer(1000);
    const compiled = compileAlert(alert('a', {}));
    for (let i = 0; i < 100_000; i++) {
      const t = trace.begin(event(`event ${i}`));
      t.verdict(compiled, { matched: true, source: compiled.alert.spec.eventSources[0]! });
      t.delivery(`d${i}`, compiled, { namespace: 'flux-system', name: 'slack', type: 'slack' });
      // Half are still retrying when they fall out of the ring: their handles must go with them.
      if (i % 2 === 0) trace.attempt(`d${i}`, 1, { result: 'delivered' });
      else trace.attempt(`d${i}`, 1, { result: 'retry', delayMs: 1, error: 'x' });
      if (i % 3 === 0) trace.duplicate(event(`dup ${i}`));
    }
    expect(trace.size).toBe(1000);
    expect(trace.query()).toHaveLength(1000);
    expect(trace.trackedDeliveries).toBeLessThanOrEqual(1000);
    expect(trace.lastSeq).toBe(100_000 + Math.ceil(100_000 / 3));
    // An attempt for an evicted delivery is ignored.
    trace.attempt('d1', 2, { result: 'delivered' });
    expect(trace.query().some((r) => r.deliveries.some((d) => d.id === 'd1'))).toBe(false);
  });

  it('the handler wrapper records each answer, and hides the text of an unexpected throw', async () => {
    const trace = new TraceBuffer(4);
    const c = compileAlert(alert('a', {}));
    const t = trace.begin(event());
    t.delivery('ok', c, { namespace: 'flux-system', name: 'slack', type: 'slack' });
    t.delivery('boom', c, { namespace: 'flux-system', name: 'slack', type: 'slack' });
    const handler = traceDeliveries(async (d) => {
      d.attempts = (d.attempts ?? 0) + 1;
      if (d.id === 'boom') throw new Error('token s3cr3t leaked');
      return { result: 'delivered' };
    }, trace);
    const signal = new AbortController().signal;
    await handler({ id: 'ok' } as Delivery, signal);
    await expect(handler({ id: 'boom' } as Delivery, signal)).rejects.toThrow();
    const [r] = trace.query();
    expect(r!.deliveries.map((d) => [d.id, d.state, d.attempts[0]!.attempt])).toEqual([['ok', 'delivered', 1], ['boom', 'failed', 1]]);
    expect(JSON.stringify(r)).not.toContain('s3cr3t');
  });
});
