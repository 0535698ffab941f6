// Alert selection (event-server.md §7.3–§7.5): sources, severity, names, matchLabels, inclusion then exclusion.
import type { FluxEvent } from '../api/event.js';
import type { EventSource } from '../api/alert.js';
import type { CompiledAlert, CompiledPattern, LabelLookup } from '../resources/store.js';
import type { EventReason } from '../resources/recorder.js';
import { findPattern, MATCH_BUDGET_MS, MAX_BACKLOG } from './pattern-worker.js';
import { ALL_NAMESPACES, AllNamespacePolicy } from './all-namespaces.js';

export interface MatchWarning {
  reason: EventReason;
  message: string;
}

export type MatchVerdict =
  | { matched: true; source: EventSource }
  /** `rule` names the first rule that excluded the event, for `herald explain` and debug logs. */
  | { matched: false; rule: string };

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length > 0 && name.length <= 63 && LABEL_NAME.test(name);
}

function validLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && LABEL_NAME.test(value));
}

/** Static part of §7.4: namespace, kind, severity, name. */
export function sourceMatchesStatically(
  event: FluxEvent,
  source: EventSource,
  alertNamespace: string,
  eventSeverity: string,
  policy: AllNamespacePolicy = AllNamespacePolicy.none,
): string | undefined {
  const ref = event.involvedObject;
  const ns = source.namespace || alertNamespace;
  const wildcard = ns === ALL_NAMESPACES && policy.allows(alertNamespace);
  if (!wildcard && ref.namespace !== ns) {
    const refused = ns === ALL_NAMESPACES ? policy.refusal(alertNamespace) : undefined;
    return refused ? `${refused}; namespace ${ref.namespace} is not *` : `namespace ${ref.namespace} is not ${ns}`;
  }
  if (ref.kind !== source.kind) return `kind ${ref.kind} is not ${source.kind}`;
  if (event.severity !== eventSeverity && eventSeverity !== 'info') return `severity ${event.severity} does not pass eventSeverity ${eventSeverity}`;
  if (source.name !== '*' && source.name !== ref.name) return `name ${ref.name} is not ${source.name}`;
  return undefined;
}

/** Whether any event source of the Alert passes the static checks (namespace, kind, severity, name); no text built. */
function couldMatchStatically(event: FluxEvent, compiled: CompiledAlert, policy: AllNamespacePolicy): boolean {
  const { alert } = compiled;
  if (alert.spec.suspend === true) return false;
  const ref = event.involvedObject;
  const severity = alert.spec.eventSeverity ?? 'info';
  if (event.severity !== severity && severity !== 'info') return false;
  for (const source of alert.spec.eventSources) {
    const ns = source.namespace || alert.metadata.namespace;
    if (ref.namespace !== ns && !(ns === ALL_NAMESPACES && policy.allows(alert.metadata.namespace))) continue;
    if (ref.kind !== source.kind) continue;
    if (source.name !== '*' && source.name !== ref.name) continue;
    return true;
  }
  return false;
}

/**
 * The verdict for every Alert of one event that couldMatchStatically rejected: one object per event, holding only the
 * fields the rule needs (not the message, which may be megabytes); `ruleFor` gives explainAlert's text when read.
 */
export class StaticRejections {
  readonly matched = false as const;
  private readonly slim: FluxEvent;
  constructor(event: FluxEvent, private readonly policy: AllNamespacePolicy) {
    this.slim = { involvedObject: event.involvedObject, severity: event.severity } as FluxEvent;
  }

  ruleFor(compiled: CompiledAlert): string {
    const { alert } = compiled;
    if (alert.spec.suspend === true) return 'the Alert is suspended';
    const severity = alert.spec.eventSeverity ?? 'info';
    const reasons = alert.spec.eventSources.map((source) =>
      `eventSources[${source.kind}/${source.name}]: ${sourceMatchesStatically(this.slim, source, alert.metadata.namespace, severity, this.policy) ?? ''}`);
    return reasons.length ? reasons.join('; ') : 'no event source';
  }
}

export async function explainAlert(
  event: FluxEvent,
  compiled: CompiledAlert,
  labels: LabelLookup,
  warnings: MatchWarning[] = [],
  policy: AllNamespacePolicy = AllNamespacePolicy.none,
): Promise<MatchVerdict> {
  const { alert } = compiled;
  if (alert.spec.suspend === true) return { matched: false, rule: 'the Alert is suspended' };
  const severity = alert.spec.eventSeverity ?? 'info';
  let matchedSource: EventSource | undefined;
  const reasons: string[] = [];
  for (const source of alert.spec.eventSources) {
    const why = sourceMatchesStatically(event, source, alert.metadata.namespace, severity, policy);
    if (why) {
      reasons.push(`eventSources[${source.kind}/${source.name}]: ${why}`);
      continue;
    }
    if (source.matchLabels == null) {
      matchedSource = source;
      break;
    }
    const ns = source.namespace || alert.metadata.namespace;
    const entries = Object.entries(source.matchLabels);
    if (entries.some(([k, v]) => !validLabelKey(k) || !validLabelValue(v))) {
      warnings.push({ reason: 'InvalidConfig', message: `error using matchLabels from event source ${source.kind}/${ns}/${source.name}` });
      reasons.push(`eventSources[${source.kind}/${source.name}]: matchLabels is not a valid label selector`);
      continue;
    }
    const ref = event.involvedObject;
    let objectLabels: Record<string, string> | undefined;
    try {
      objectLabels = await labels(ref);
    } catch {
      objectLabels = undefined;
    }
    if (objectLabels === undefined) {
      warnings.push({ reason: 'SourceFetchFailed', message: `error getting source object ${ref.kind}/${ref.namespace}/${ref.name}` });
      reasons.push(`eventSources[${source.kind}/${source.name}]: the involved object's labels could not be read`);
      continue;
    }
    const missing = entries.find(([k, v]) => objectLabels![k] !== v);
    if (missing) {
      reasons.push(`eventSources[${source.kind}/${source.name}]: label ${missing[0]}=${missing[1]} not on the object`);
      continue;
    }
    matchedSource = source;
    break;
  }
  if (!matchedSource) return { matched: false, rule: reasons.length ? reasons.join('; ') : 'no event source' };
  const timedOut = (list: string, p: CompiledPattern, busy?: boolean) => warnings.push({
    reason: 'InvalidConfig',
    message: busy
      ? `${list} regex ${JSON.stringify(p.pattern)} was not matched against a message of ${event.message.length} characters: ${MAX_BACKLOG} long matches are already waiting; it counts as not matching`
      : `${list} regex ${JSON.stringify(p.pattern)} took longer than ${MATCH_BUDGET_MS} ms on a message of ${event.message.length} characters and was stopped; it counts as not matching`,
  });
  if (compiled.inclusion.length > 0) {
    let included = false;
    for (const p of compiled.inclusion) {
      const r = await findPattern(p, event.message);
      if (r.timedOut) timedOut('inclusion', p, r.busy);
      if (r.found) {
        included = true;
        break;
      }
    }
    if (!included) return { matched: false, rule: 'message matches no inclusionList pattern' };
  }
  for (const p of compiled.exclusion) {
    const r = await findPattern(p, event.message);
    if (r.timedOut) timedOut('exclusion', p, r.busy);
    if (r.found) return { matched: false, rule: `message matches exclusionList pattern ${JSON.stringify(p.pattern)}` };
  }
  return { matched: true, source: matchedSource };
}

/**
 * Empty list includes; otherwise the first valid pattern that finds a match includes. Invalid patterns never match.
 * Synchronous, for short messages only: the event path uses findPattern, which bounds the cost.
 */
export function isIncluded(message: string, patterns: CompiledPattern[]): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((p) => p.regex !== undefined && p.regex.matcher(message).find());
}

export function exclusionMatch(message: string, patterns: CompiledPattern[]): string | undefined {
  for (const p of patterns) if (p.regex !== undefined && p.regex.matcher(message).find()) return p.pattern;
  return undefined;
}

/** The Alerts that receive this event, in list order. Warnings are for Kubernetes Events on the Alert. */
export async function selectAlerts(
  event: FluxEvent,
  candidates: CompiledAlert[],
  labels: LabelLookup,
  policy: AllNamespacePolicy = AllNamespacePolicy.none,
  /** Called with every candidate's verdict (the live trace records them). */
  onVerdict?: (alert: CompiledAlert, verdict: MatchVerdict | StaticRejections) => void,
): Promise<{ matched: CompiledAlert[]; warnings: Array<MatchWarning & { alert: CompiledAlert }> }> {
  const matched: CompiledAlert[] = [];
  const warnings: Array<MatchWarning & { alert: CompiledAlert }> = [];
  let rejections: StaticRejections | undefined;
  for (const c of candidates) {
    if (!couldMatchStatically(event, c, policy)) {
      // The common case with all-namespace Alerts (candidates for every event of their kind): rejected without an
      // await or any text; the trace gets explainAlert's rule from `rejections`, built only if the trace is read.
      if (onVerdict) onVerdict(c, (rejections ??= new StaticRejections(event, policy)));
      continue;
    }
    const w: MatchWarning[] = [];
    const verdict = await explainAlert(event, c, labels, w, policy);
    onVerdict?.(c, verdict);
    for (const x of w) warnings.push({ ...x, alert: c });
    if (verdict.matched) matched.push(c);
  }
  return { matched, warnings };
}
