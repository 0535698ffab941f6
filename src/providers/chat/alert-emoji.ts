// The severity emoji of telegram, lark and matrix messages: 🚨 for error, 💫 for anything else.
import type { FluxEvent } from '../../api/event.js';

export function alertEmoji(event: Pick<FluxEvent, 'severity'>): string {
  return event.severity === 'error' ? '\u{1F6A8}' : '\u{1F4AB}';
}
