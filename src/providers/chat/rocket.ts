// The `rocket` provider (spec providers/rocket.md): the Slack attachment payload to a Rocket.Chat incoming webhook.
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { checkAddress, webhookSecrets, withMaskedErrors } from './address.js';
import { HEX_COLOURS } from './colours.js';
import { slackMessage, textOf } from './slack-attachment.js';

export interface RocketConfig {
  url: string;
  channel: string;
  username: string;
  masked: string[];
}

const ROCKET_COLOURS = { error: `#${HEX_COLOURS.error}`, other: `#${HEX_COLOURS.other}` };

export const RocketProvider = withMaskedErrors(defineHttpProvider<RocketConfig>({
  type: 'rocket',
  category: 'chat',
  transport: { proxy: true, tls: true },
  parse(settings) {
    const url = checkAddress(settings, { what: 'Rocket hook URL' });
    return { url, channel: settings.channel, username: settings.username, masked: webhookSecrets(url) };
  },
  request(n, config) {
    // Channel and username verbatim: no fallback to the reporting controller.
    const body = slackMessage(n.event, { channel: config.channel, username: config.username, fallback: false, colours: ROCKET_COLOURS, ...textOf(n) });
    return jsonPost(config.url, body);
  },
}));
