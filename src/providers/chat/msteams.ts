// The `msteams` provider (spec providers/msteams.md): an Adaptive Card for Workflows (Power Automate) webhooks, the
// legacy MessageCard for Office 365 connector hosts (`*.webhook.office.com`).
import type { FluxEvent } from '../../api/event.js';
import { parseGoUrl } from '../../go/url.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { dottedLabel, sortedMetadata } from '../labels.js';
import { renderedText, renderedTitle } from '../rendered.js';
import type { Notification } from '../types.js';
import { checkAddress, webhookSecrets, withMaskedErrors } from './address.js';
import { HEX_COLOURS, severityColour } from './colours.js';
import { goJson } from '../../go/json.js';

export type TeamsSchema = 'adaptive-card' | 'message-card';

export interface TeamsConfig {
  url: string;
  schema: TeamsSchema;
  masked: string[];
}

/**
 * Flux's choice: the URL's host up to its first `:` ends with `.webhook.office.com` (case-sensitive, as Go's
 * strings.HasSuffix) → MessageCard; anything else, look-alikes such as `xxx-webhook.office.com` or
 * `webhook.office.com.example.net` included → Adaptive Card.
 */
export function teamsSchema(address: string): TeamsSchema {
  let host: string;
  try {
    host = parseGoUrl(address).host;
  } catch {
    return 'adaptive-card';
  }
  const colon = host.indexOf(':');
  if (colon >= 0) host = host.slice(0, colon);
  return host.endsWith('.webhook.office.com') ? 'message-card' : 'adaptive-card';
}

/** Adaptive Card facts: `summary` first when present, then the others by key. */
function adaptiveFacts(event: FluxEvent): { title: string; value: string }[] {
  const facts = sortedMetadata(event).filter(([k]) => k !== 'summary').map(([title, value]) => ({ title, value }));
  const summary = event.metadata['summary'];
  return summary !== undefined ? [{ title: 'summary', value: summary }, ...facts] : facts;
}

export function adaptiveCard(event: FluxEvent, n: Pick<Notification, 'rendered'> = {}): string {
  const facts = adaptiveFacts(event);
  return goJson({
    type: 'message',
    attachments: [{
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
        type: 'AdaptiveCard',
        version: '1.4',
        body: [{
          type: 'Container',
          items: [
            { type: 'TextBlock', text: renderedTitle(n, dottedLabel(event)), size: 'large', weight: 'bolder', wrap: true },
            { type: 'TextBlock', text: renderedText(n, event.message), ...(event.severity === 'error' ? { color: 'attention' } : {}), wrap: true },
            { type: 'FactSet', ...(facts.length > 0 ? { facts } : {}) },
          ],
        }],
        msteams: { width: 'Full' },
      },
    }],
  });
}

export function messageCard(event: FluxEvent, n: Pick<Notification, 'rendered'> = {}): string {
  const label = renderedTitle(n, dottedLabel(event));
  return goJson({
    '@type': 'MessageCard',
    '@context': 'http://schema.org/extensions',
    themeColor: severityColour(event, HEX_COLOURS),
    summary: label,
    sections: [{
      activityTitle: renderedText(n, event.message),
      activitySubtitle: label,
      facts: sortedMetadata(event).map(([name, value]) => ({ name, value })),
    }],
  });
}

export const MsTeamsProvider = withMaskedErrors(defineHttpProvider<TeamsConfig>({
  type: 'msteams',
  category: 'chat',
  transport: { proxy: true, tls: true },
  parse(settings) {
    const url = checkAddress(settings, { what: 'MS Teams webhook URL' });
    return { url, schema: teamsSchema(url), masked: webhookSecrets(url) };
  },
  request(n, config) {
    return jsonPost(config.url, config.schema === 'message-card' ? messageCard(n.event, n) : adaptiveCard(n.event, n));
  },
}));
