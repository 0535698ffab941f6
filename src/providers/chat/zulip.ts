// The `zulip` provider (spec providers/zulip.md): a stream message, form-encoded, with the bot's e-mail and API key.
import { goEncodeQuery } from '../../go/query.js';
import { parseGoUrl } from '../../go/url.js';
import { basicAuth, mergeHeaders } from '../http/headers.js';
import { defineHttpProvider } from '../http/provider.js';
import { formatMarkdownPost } from '../markdown.js';
import { renderedText } from '../rendered.js';
import { addressSource } from '../errors.js';
import { ConfigError } from '../types.js';
import { providerRef } from './address.js';
import { missingSecretKey } from './config-context.js';

export interface ZulipConfig {
  /** The address with its path replaced by `/api/v1/messages`. */
  url: string;
  stream: string;
  topic: string;
  /** `Basic base64(username:password)`. */
  authorization: string;
}

/** Scheme, user info, host and query of the address, with the path `/api/v1/messages` (Flux's `u.Path = ...`). */
export function zulipMessagesUrl(address: string): string {
  const u = parseGoUrl(address);
  if (u.scheme !== 'http' && u.scheme !== 'https') throw new Error(`${address} is not an http(s) URL`);
  if (u.host === '') throw new Error(`${address} has no host`);
  const userinfo = u.userinfo !== undefined ? `${u.userinfo}@` : '';
  const query = u.rawQuery !== '' || u.forceQuery ? `?${u.rawQuery}` : '';
  return `${u.scheme}://${userinfo}${u.host}/api/v1/messages${query}`;
}

/** `<stream>/<topic>`, split at the first `/`; undefined when either part is empty. */
export function splitZulipChannel(channel: string): { stream: string; topic: string } | undefined {
  const slash = channel.indexOf('/');
  if (slash <= 0 || slash === channel.length - 1) return undefined;
  return { stream: channel.slice(0, slash), topic: channel.slice(slash + 1) };
}

export const ZulipProvider = defineHttpProvider<ZulipConfig>({
  type: 'zulip',
  category: 'chat',
  // Flux returns zulip's errors without the `postMessage failed: ` prefix.
  errorPrefix: '',
  parse(settings) {
    const where = providerRef(settings);
    let url: string;
    try {
      url = zulipMessagesUrl(settings.address);
    } catch (err) {
      throw new ConfigError(`${addressSource(settings)}: invalid Zulip endpoint URL: ${(err as Error).message}`);
    }
    const channel = splitZulipChannel(settings.channel);
    if (!channel) {
      throw new ConfigError(`${where}: invalid Zulip channel format, expected <channel>/<topic>, got '${settings.channel}'`);
    }
    // Flux sends without credentials (or with half of them) and Zulip refuses every message; Herald says so here.
    if (settings.username === '') {
      throw new ConfigError(`${where}: empty Zulip bot e-mail (${missingSecretKey(settings, 'username')}, and spec.username is empty)`);
    }
    if (settings.password === '') throw new ConfigError(`${where}: empty Zulip API key (${missingSecretKey(settings, 'password')})`);
    return { url, ...channel, authorization: `Basic ${basicAuth(settings.username, settings.password)}` };
  },
  request(n, config) {
    const body = goEncodeQuery({ content: renderedText(n, formatMarkdownPost(n.event)), to: config.stream, topic: config.topic, type: 'stream' });
    return {
      method: 'POST',
      url: config.url,
      headers: mergeHeaders({ 'Content-Type': 'application/x-www-form-urlencoded' }, { Authorization: config.authorization }),
      body,
    };
  },
});
