// The `discord` provider (spec providers/discord.md): the Slack attachment payload to the webhook's `/slack` endpoint.
import { goEscapedPath, goPathClean, parseGoRequestUri } from '../../go/url.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { ConfigError } from '../types.js';
import { checkAddress, providerRef, webhookSecrets, withMaskedErrors } from './address.js';
import { SLACK_COLOURS } from './colours.js';
import { slackMessage, textOf } from './slack-attachment.js';

export interface DiscordConfig {
  url: string;
  username: string;
  masked: string[];
}

/**
 * Flux's target: the address as is when the whole string ends with `/slack` (so `.../slack?wait=true` gets a second
 * `/slack`, as upstream), else Go's `path.Join(u.Path, "slack")` re-serialised with the query kept.
 */
export function discordTarget(address: string): string {
  if (address.endsWith('/slack')) return address;
  const u = parseGoRequestUri(address);
  const joined = u.path === '' ? 'slack' : goPathClean(`${u.path}/slack`);
  let path = goEscapedPath({ path: joined, rawPath: u.rawPath });
  if (u.opaque !== '') return `${u.scheme}:${u.opaque}${u.rawQuery !== '' || u.forceQuery ? `?${u.rawQuery}` : ''}`;
  let out = u.scheme !== '' ? `${u.scheme}:` : '';
  if (u.scheme !== '' || u.host !== '' || u.userinfo !== undefined) {
    out += `//${u.userinfo !== undefined ? `${u.userinfo}@` : ''}${u.host}`;
    if (!path.startsWith('/')) path = `/${path}`;
  }
  out += path;
  if (u.rawQuery !== '' || u.forceQuery) out += `?${u.rawQuery}`;
  return out;
}

export const DiscordProvider = withMaskedErrors(defineHttpProvider<DiscordConfig>({
  type: 'discord',
  category: 'chat',
  // Flux never hands this type its certSecretRef TLS config.
  transport: { proxy: true, tls: false },
  parse(settings) {
    const address = checkAddress(settings, { what: 'Discord hook URL' });
    let url: string;
    try {
      url = discordTarget(address);
    } catch {
      throw new ConfigError(`${providerRef(settings)}: invalid Discord hook URL: it does not parse as a URL (the URL is not shown: it carries the webhook's key)`);
    }
    return { url, username: settings.username, masked: [...new Set([...webhookSecrets(address), ...webhookSecrets(url)])] };
  },
  request(n, config) {
    // The webhook fixes the channel: spec.channel is never sent.
    const body = slackMessage(n.event, {
      channel: '',
      username: config.username || n.event.reportingController,
      fallback: false,
      colours: SLACK_COLOURS,
      ...textOf(n),
    });
    return jsonPost(config.url, body);
  },
}));
