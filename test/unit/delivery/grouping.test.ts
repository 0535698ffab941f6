// Burst grouping's pure parts and the in-memory stage: the annotation, which types group, the composed notification,
// the flush at 50 and on the window, separate groups per Alert × Provider, and the flush on close.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Alert } from '../../../src/api/alert.js';
import {
  checkGroupWindow, composeGroup, GROUP_MAX_EVENTS, groupableType, groupWindowOf, MemoryGrouping,
} from '../../../src/delivery/grouping.js';
import { MemoryOutbox } from '../../../src/delivery/memory.js';
import type { Delivery } from '../../../src/delivery/outbox.js';
import type { Notification } from '../../../src/providers/types.js';

const log = pino({ level: 'silent' });

function alert(window?: string): Alert {
  return {
    apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert',
    metadata: { namespace: 'apps', name: 'burst', uid: 'u', ...(window !== undefined ? { annotations: { 'herald.dev/group-window': window } } : {}) },
    spec: { providerRef: { name: 'slack' }, eventSources: [{ kind: 'Kustomization', name: '*' }] },
  } as unknown as Alert;
}

function notification(i: number, severity = 'info', provider = 'slack', alertName = 'burst'): Notification {
  return {
    event: { involvedObject: { kind: 'Kustomization', namespace: 'apps', name: `app-${i}` } as never, severity, timestamp: null, message: `message ${i}\nsecond line`, reason: 'r', metadata: {}, reportingController: 'c' },
    alert: { namespace: 'apps', name: alertName, uid: 'u' },
    provider: { namespace: 'apps', name: provider, uid: 'p', type: 'slack' },
  };
}

function recordingOutbox(): { outbox: MemoryOutbox; sent: Delivery[] } {
  const sent: Delivery[] = [];
  const outbox = new MemoryOutbox({ log });
  outbox.start(async (d) => {
    sent.push(d);
    return { result: 'delivered' };
  });
  return { outbox, sent };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('group window annotation', () => {
  it('parses durations and refuses bad or out-of-range ones with the Alert and annotation named', () => {
    expect(groupWindowOf(alert())).toBeUndefined();
    expect(groupWindowOf(alert('30s'))).toEqual({ windowMs: 30_000 });
    expect(groupWindowOf(alert('1m30s'))).toEqual({ windowMs: 90_000 });
    expect(groupWindowOf(alert('soon'))).toEqual({ error: 'Alert apps/burst: annotation herald.dev/group-window: invalid duration "soon", expected a duration such as 30s or 2m (events are sent one by one)' });
    expect(groupWindowOf(alert('2h'))).toMatchObject({ error: expect.stringContaining('outside 100ms..1h') });
    expect(groupWindowOf(alert('10ms'))).toMatchObject({ error: expect.stringContaining('outside') });
    expect(checkGroupWindow(alert('soon'), 'slack')).toHaveLength(1);
    expect(checkGroupWindow(alert('30s'), 'slack')).toEqual([]);
    expect(checkGroupWindow(alert('30s'), 'github')[0]).toMatch(/^warning: .*github notifications are never grouped/);
  });

  it('groups chat and incident types only', () => {
    for (const t of ['slack', 'msteams', 'discord', 'pagerduty', 'opsgenie', 'alertmanager']) expect(groupableType(t)).toBe(true);
    for (const t of ['github', 'gitlab', 'gitea', 'githubpullrequestcomment', 'generic', 'generic-hmac', 'githubdispatch', 'nats', 'googlepubsub', 'otel']) expect(groupableType(t)).toBe(false);
  });
});

describe('composeGroup', () => {
  it('takes the first worst-severity event as the base and lists each event on one line, in order', () => {
    const n = composeGroup([notification(1), notification(2, 'error'), notification(3, 'error'), notification(4, 'trace')].map((notification) => ({ notification, acceptedAt: 0 })));
    expect(n.event.involvedObject.name).toBe('app-2');
    expect(n.event.severity).toBe('error');
    expect(n.rendered).toEqual({
      title: '4 events for Alert apps/burst (2 error, 1 info, 1 trace)',
      text: [
        '• Kustomization/apps/app-1 [info] message 1 second line',
        '• Kustomization/apps/app-2 [error] message 2 second line',
        '• Kustomization/apps/app-3 [error] message 3 second line',
        '• Kustomization/apps/app-4 [trace] message 4 second line',
      ].join('\n'),
    });
  });

  it('sends a group of one unchanged, uses template text per line, and cuts long messages', () => {
    const lone = notification(1);
    expect(composeGroup([{ notification: lone, acceptedAt: 0 }])).toBe(lone);
    const templated = { ...notification(2), rendered: { text: 'from the template', title: 'ignored' } };
    const long = { ...notification(3) };
    long.event = { ...long.event, message: 'x'.repeat(2000) };
    const text = (composeGroup([{ notification: templated, acceptedAt: 0 }, { notification: long, acceptedAt: 0 }]).rendered as { text: string }).text;
    expect(text.split('\n')[0]).toBe('• Kustomization/apps/app-2 [info] from the template');
    expect(text.split('\n')[1]).toBe(`• Kustomization/apps/app-3 [info] ${'x'.repeat(499)}…`);
  });
});

describe('MemoryGrouping', () => {
  it('sends one notification per window and flushes at 50 at once', async () => {
    const { outbox, sent } = recordingOutbox();
    const g = new MemoryGrouping(outbox, log);
    for (let i = 0; i < 30; i++) await g.add(notification(i), Date.now(), 200);
    expect(sent).toHaveLength(0);
    expect(g.pending).toBe(1);
    await sleep(350);
    expect(sent).toHaveLength(1);
    expect((sent[0]!.notification.rendered as { text: string }).text.split('\n')).toHaveLength(30);

    for (let i = 0; i < GROUP_MAX_EVENTS; i++) await g.add(notification(100 + i), Date.now(), 10_000);
    await sleep(20);
    expect(sent).toHaveLength(2);
    expect((sent[1]!.notification.rendered as { text: string }).text.split('\n')).toHaveLength(50);
    expect(g.pending).toBe(0);
    await outbox.close(100);
  });

  it('keeps separate groups per Alert and per Provider, and flushes pending groups on close', async () => {
    const { outbox, sent } = recordingOutbox();
    const g = new MemoryGrouping(outbox, log);
    await g.add(notification(1, 'info', 'slack', 'a'), 1, 60_000);
    await g.add(notification(2, 'info', 'slack', 'a'), 2, 60_000);
    await g.add(notification(3, 'info', 'teams', 'a'), 3, 60_000);
    await g.add(notification(4, 'info', 'slack', 'b'), 4, 60_000);
    expect(g.pending).toBe(3);
    await g.close();
    await expect(g.add(notification(5), 5, 1000)).rejects.toThrow(/closed/);
    await sleep(20);
    expect(sent.map((d) => `${d.notification.alert.name}/${d.notification.provider.name}:${d.notification.rendered ? 'grouped' : d.notification.event.involvedObject.name}`).sort())
      .toEqual(['a/slack:grouped', 'a/teams:app-3', 'b/slack:app-4']);
    expect(sent.find((d) => d.notification.rendered)!.acceptedAt).toBe(1);
    await outbox.close(100);
  });
});
