// The Slack message with one legacy attachment that slack, discord and rocket send (spec providers/slack.md, Request).
import type { FluxEvent } from '../../api/event.js';
import { dottedLabel, sortedMetadata } from '../labels.js';
import { severityColour, type SeverityColours } from './colours.js';
import { goJson } from '../../go/json.js';

export interface SlackMessageOptions {
  channel: string;
  username: string;
  /** Slack fills `fallback` with `<label>: <first line of the message>`; discord and rocket send `""`. */
  fallback: boolean;
  colours: SeverityColours;
}

/** The payload in Flux's field order; `text` is never set and so omitted, `fields` is `[]` without metadata. */
export function slackMessage(event: FluxEvent, opts: SlackMessageOptions): string {
  const label = dottedLabel(event);
  return goJson({
    channel: opts.channel,
    username: opts.username,
    icon_url: '',
    icon_emoji: '',
    attachments: [{
      fallback: opts.fallback ? `${label}: ${event.message.split('\n', 1)[0]}` : '',
      color: severityColour(event, opts.colours),
      author_name: label,
      text: event.message,
      mrkdwn_in: ['text'],
      fields: sortedMetadata(event).map(([title, value]) => ({ title, value, short: false })),
    }],
  });
}
