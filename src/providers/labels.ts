// The object labels providers print (providers/README.md §7.1), shared by the chat, incident and git families.
import { compareBytes, type FluxEvent } from '../api/event.js';
import { goToLower, splitCamelcase } from '../go/strings.js';

/** `kustomization/webapp` and `health check failed` for a Kustomization webapp with reason HealthCheckFailed. */
export function formatNameAndDescription(event: Pick<FluxEvent, 'involvedObject' | 'reason'>): { name: string; description: string } {
  return {
    name: goToLower(`${event.involvedObject.kind}/${event.involvedObject.name}`),
    description: goToLower(splitCamelcase(event.reason).join(' ')),
  };
}

type Labelled = Pick<FluxEvent, 'involvedObject'>;

/** `kustomization/webapp.apps`: slack, discord, rocket, msteams, googlechat, webex, lark, matrix, grafana, zoom, incident.io. */
export function dottedLabel(event: Labelled): string {
  const o = event.involvedObject;
  return `${goToLower(o.kind)}/${o.name}.${o.namespace}`;
}

/** `kustomization/webapp/apps`: telegram. */
export function slashedLabel(event: Labelled): string {
  const o = event.involvedObject;
  return `${goToLower(o.kind)}/${o.name}/${o.namespace}`;
}

/** `Kustomization/apps/webapp` (original case): zulip and the git comment types. */
export function markdownId(event: Labelled): string {
  const o = event.involvedObject;
  return `${o.kind}/${o.namespace}/${o.name}`;
}

/** `Kustomization: apps/webapp`: sentry's transaction, otel's span name. */
export function summaryLabel(event: Labelled): string {
  const o = event.involvedObject;
  return `${o.kind}: ${o.namespace}/${o.name}`;
}

/**
 * Metadata as `[key, value]` pairs sorted by key in byte order (§7.4: Flux's order is Go's random map order; Herald's
 * is sorted, which every list-shaped output uses).
 */
export function sortedMetadata(event: Pick<FluxEvent, 'metadata'>): [string, string][] {
  return Object.keys(event.metadata).sort(compareBytes).map((k) => [k, event.metadata[k]!]);
}
