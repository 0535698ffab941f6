// The object labels providers print (providers/README.md §7.1), shared by the chat, incident and git families.
import type { FluxEvent } from '../api/event.js';
import { goToLower, splitCamelcase } from '../go/strings.js';

/** `kustomization/webapp` and `health check failed` for a Kustomization webapp with reason HealthCheckFailed. */
export function formatNameAndDescription(event: Pick<FluxEvent, 'involvedObject' | 'reason'>): { name: string; description: string } {
  return {
    name: goToLower(`${event.involvedObject.kind}/${event.involvedObject.name}`),
    description: goToLower(splitCamelcase(event.reason).join(' ')),
  };
}
