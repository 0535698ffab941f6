// Flux's markdown status post, shared by zulip and the git change-request comment types.
import { compareBytes, type FluxEvent } from '../api/event.js';

/** Flux's markdown status post (zulip and the change-request comment types), metadata sorted by byte order, `change_request` left out. */
export function formatMarkdownPost(event: Pick<FluxEvent, 'involvedObject' | 'severity' | 'message' | 'metadata'>): string {
  const emoji = event.severity === 'error' ? '\u26a0\ufe0f' : '\u2139\ufe0f';
  const ref = event.involvedObject;
  let out = `## Flux Status\n\n${emoji} ${ref.kind}/${ref.namespace}/${ref.name}\n\n${event.message}\n\nMetadata:\n`;
  for (const key of Object.keys(event.metadata).sort(compareBytes)) {
    if (key === 'change_request') continue;
    out += `* \`${key}\`: ${event.metadata[key]}\n`;
  }
  return out;
}
