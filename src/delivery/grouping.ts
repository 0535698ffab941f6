// Burst grouping (docs/grouping.md): an Alert annotated `herald.dev/group-window: 30s` gathers its notifications for
// one Provider within the window into ONE notification that lists each event. Only chat and incident types are
// grouped: commit-status and change-request types carry one state per commit or change, and forwarding and bus types
// forward whole events, so a list would change what their receivers parse.
import { randomUUID } from 'node:crypto';
import { describeObject } from '../api/event.js';
import type { Alert } from '../api/alert.js';
import { parseDuration, PROVIDER_CATEGORY, type ProviderType } from '../api/provider.js';
import type { Logger } from '../logger.js';
import { renderedText } from '../providers/rendered.js';
import type { Notification } from '../providers/types.js';
import type { Delivery, Outbox } from './outbox.js';

export const GROUP_WINDOW_ANNOTATION = 'herald.dev/group-window';
/** A group is sent early when it holds this many events. */
export const GROUP_MAX_EVENTS = 50;
/** Shortest and longest window accepted. */
export const GROUP_WINDOW_MIN_MS = 100;
export const GROUP_WINDOW_MAX_MS = 60 * 60_000;
/** Each event's line in the grouped text is cut to this many characters. */
export const GROUP_LINE_MESSAGE_CHARS = 500;

/** Whether notifications for this provider type may be grouped: chat and incident types only. */
export function groupableType(type: string): boolean {
  const c = PROVIDER_CATEGORY[type as ProviderType];
  return c === 'chat' || c === 'incident';
}

export type GroupWindow = { windowMs: number } | { error: string } | undefined;

/** Parsed once per Alert object (a changed Alert is a new object), not for every event it matches. */
const windows = new WeakMap<Alert, GroupWindow>();

/** The Alert's group window in ms, an error naming the Alert and the annotation, or undefined without the annotation. */
export function groupWindowOf(alert: Alert): GroupWindow {
  const value = alert.metadata.annotations?.[GROUP_WINDOW_ANNOTATION];
  if (value === undefined) return undefined;
  if (windows.has(alert)) return windows.get(alert);
  const w = parseGroupWindow(alert, value);
  windows.set(alert, w);
  return w;
}

function parseGroupWindow(alert: Alert, value: string): GroupWindow {
  const where = `Alert ${alert.metadata.namespace}/${alert.metadata.name}: annotation ${GROUP_WINDOW_ANNOTATION}`;
  let ms: number;
  try {
    ms = parseDuration(value.trim());
  } catch {
    return { error: `${where}: invalid duration ${JSON.stringify(value)}, expected a duration such as 30s or 2m (events are sent one by one)` };
  }
  if (ms < GROUP_WINDOW_MIN_MS || ms > GROUP_WINDOW_MAX_MS) {
    return { error: `${where}: ${JSON.stringify(value)} is outside ${GROUP_WINDOW_MIN_MS}ms..1h (events are sent one by one)` };
  }
  return { windowMs: ms };
}

/** `herald check` lines for the annotation: an error for a bad duration, a warning when the provider type is never grouped. */
export function checkGroupWindow(alert: Alert, providerType: string | undefined): string[] {
  const w = groupWindowOf(alert);
  if (w === undefined) return [];
  if ('error' in w) return [w.error];
  if (providerType !== undefined && !groupableType(providerType)) {
    return [`warning: Alert ${alert.metadata.namespace}/${alert.metadata.name}: annotation ${GROUP_WINDOW_ANNOTATION} has no effect: ${providerType} notifications are never grouped (only chat and incident types are)`];
  }
  return [];
}

/** Higher is worse: the worst event of a group gives the grouped notification its severity (colour, state). */
export function severityRank(severity: string): number {
  switch (severity) {
    case 'error': return 3;
    case 'warning': return 2;
    case 'info': return 1;
    default: return 0;
  }
}

/** One held event: its notification (template already applied) and when the event server accepted it. */
export interface GroupItem {
  notification: Notification;
  acceptedAt: number;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * The one notification a group is sent as: the worst-severity event (the first of them) as the base, with a title and
 * a text listing every event in arrival order. A group of one is its event unchanged. Each line carries the event's
 * template text when the Alert has a template, else its message.
 */
export function composeGroup(items: readonly GroupItem[]): Notification {
  if (items.length === 0) throw new Error('empty group');
  if (items.length === 1) return items[0]!.notification;
  let worst = items[0]!;
  for (const it of items) if (severityRank(it.notification.event.severity) > severityRank(worst.notification.event.severity)) worst = it;
  const counts = new Map<string, number>();
  for (const it of items) counts.set(it.notification.event.severity, (counts.get(it.notification.event.severity) ?? 0) + 1);
  const bySeverity = [...counts.entries()].sort((a, b) => severityRank(b[0]) - severityRank(a[0])).map(([s, n]) => `${n} ${s}`).join(', ');
  const alert = worst.notification.alert;
  const title = `${items.length} events for Alert ${alert.namespace}/${alert.name} (${bySeverity})`;
  const lines = items.map((it) => {
    const n = it.notification;
    const e = n.event;
    return `• ${describeObject(e.involvedObject)} [${e.severity}] ${oneLine(renderedText(n, e.message), GROUP_LINE_MESSAGE_CHARS)}`;
  });
  const base = worst.notification;
  return { ...base, rendered: { title, text: lines.join('\n') } };
}

/** The key of a group: one per Alert and Provider. */
export function groupKey(n: Notification): string {
  return `${n.alert.namespace}/${n.alert.name}|${n.provider.namespace}/${n.provider.name}`;
}

/** Where the dispatcher hands a grouped Alert's notification instead of the outbox. */
export interface GroupingStage {
  /** Resolves once the notification is safely held (memory: at once; JetStream: stored). */
  add(notification: Notification, acceptedAt: number, windowMs: number): Promise<void>;
  /** Groups waiting to be sent. */
  readonly pending: number;
  /** Stops the timers: memory flushes every pending group into the outbox; JetStream leaves them stored. */
  close(): Promise<void>;
}

interface MemoryGroup {
  items: GroupItem[];
  timer: NodeJS.Timeout;
}

/** Groups held in this process; a pending group is flushed into the outbox on close (it is then sent or reported dropped by it). */
export class MemoryGrouping implements GroupingStage {
  private readonly groups = new Map<string, MemoryGroup>();
  private closed = false;

  constructor(private readonly outbox: Outbox, private readonly log: Logger) {}

  get pending(): number {
    return this.groups.size;
  }

  async add(notification: Notification, acceptedAt: number, windowMs: number): Promise<void> {
    if (this.closed) throw new Error('grouping is closed');
    const key = groupKey(notification);
    let g = this.groups.get(key);
    if (!g) {
      const timer = setTimeout(() => void this.flush(key), windowMs);
      this.groups.set(key, (g = { items: [], timer }));
    }
    g.items.push({ notification, acceptedAt });
    if (g.items.length >= GROUP_MAX_EVENTS) await this.flush(key);
  }

  private async flush(key: string): Promise<void> {
    const g = this.groups.get(key);
    if (!g) return;
    this.groups.delete(key);
    clearTimeout(g.timer);
    const delivery: Delivery = { id: randomUUID(), notification: composeGroup(g.items), acceptedAt: g.items[0]!.acceptedAt };
    try {
      await this.outbox.enqueue(delivery);
      this.log.debug({ group: key, events: g.items.length }, 'grouped notification stored in the outbox');
    } catch (err) {
      // Like a refused delivery: the outbox already logged why (full); the events were accepted, so say what is lost.
      this.log.error({ group: key, events: g.items.length, error: (err as Error).message }, 'grouped notification could not be stored in the outbox, dropped');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const keys = [...this.groups.keys()];
    if (keys.length > 0) this.log.info({ groups: keys.length }, 'flushing pending groups into the outbox');
    await Promise.all(keys.map((k) => this.flush(k)));
  }
}
