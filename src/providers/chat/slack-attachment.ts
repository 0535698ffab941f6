// The Slack message with one legacy attachment that slack, discord and rocket send (spec providers/slack.md, Request).
import type { FluxEvent } from '../../api/event.js';
import type { RenderedText } from '../rendered.js';
import type { Notification } from '../types.js';
import { dottedLabel, sortedMetadata } from '../labels.js';
import { severityColour, type SeverityColours } from './colours.js';
import { goJson } from '../../go/json.js';

export interface SlackMessageOptions {
  channel: string;
  username: string;
  /** Slack fills `fallback` with `<label>: <first line of the message>`; discord and rocket send `""`. */
  fallback: boolean;
  colours: SeverityColours;
  /** An Alert template's output: replaces the attachment text (and, with a title, author_name). */
  rendered?: RenderedText;
}

/** The payload in Flux's field order; `text` is never set and so omitted, `fields` is `[]` without metadata. */
export function slackMessage(event: FluxEvent, opts: SlackMessageOptions): string {
  const label = opts.rendered?.title ?? dottedLabel(event);
  const text = opts.rendered?.text ?? event.message;
  return goJson({
    channel: opts.channel,
    username: opts.username,
    icon_url: '',
    icon_emoji: '',
    attachments: [{
      fallback: opts.fallback ? `${label}: ${text.split('\n', 1)[0]}` : '',
      color: severityColour(event, opts.colours),
      author_name: label,
      text,
      mrkdwn_in: ['text'],
      fields: sortedMetadata(event).map(([title, value]) => ({ title, value, short: false })),
    }],
  });
}

/** `{ rendered }` when the notification carries a template's text, else nothing (Flux's payload). */
export function textOf(n: Pick<Notification, 'rendered'>): { rendered?: RenderedText } {
  return n.rendered !== undefined && 'text' in n.rendered ? { rendered: n.rendered } : {};
}
