// Severity colours of the chat family: Slack's named ones (slack, discord) and the hex pair rocket and msteams share.
import type { FluxEvent } from '../../api/event.js';

export interface SeverityColours {
  error: string;
  other: string;
}

/** slack and discord: `danger` for error, `good` for anything else. */
export const SLACK_COLOURS: SeverityColours = { error: 'danger', other: 'good' };

/** Red for error, Flux blue otherwise, without `#` (msteams' themeColor; rocket prefixes `#`). */
export const HEX_COLOURS: SeverityColours = { error: 'FF0000', other: '0076D7' };

/** Only `error` is an error; `info`, `trace` or anything else gets the other colour (spec: "anything else"). */
export function severityColour(event: Pick<FluxEvent, 'severity'>, colours: SeverityColours): string {
  return event.severity === 'error' ? colours.error : colours.other;
}
