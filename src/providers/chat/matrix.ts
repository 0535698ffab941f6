// The `matrix` provider (spec providers/matrix.md): an `m.text` message PUT into a room with a deterministic txn id.
import { createHash } from 'node:crypto';
import { encodeEvent, type FluxEvent } from '../../api/event.js';
import { goJson } from '../../go/json.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { dottedLabel, sortedMetadata } from '../labels.js';
import { renderedText } from '../rendered.js';
import { ConfigError } from '../types.js';
import { alertEmoji } from './alert-emoji.js';
import { checkAddress, providerRef } from './address.js';
import { hasLineBreak, missingSecretKey, secretKeyLabel } from './config-context.js';

export interface MatrixConfig {
  /** Homeserver base URL, verbatim (a trailing `/` gives `//`, as in Flux). */
  address: string;
  room: string;
  token: string;
}

/** Lower-case hex SHA-1 of the event as Flux serialises it: a retry or a re-sent identical event reuses it. */
export function matrixTxnId(event: FluxEvent): string {
  return createHash('sha1').update(encodeEvent(event), 'utf8').digest('hex');
}

/** `<emoji> <dotted label>`, the message, one `- key: value` line per metadata entry (sorted). */
export function matrixText(event: Pick<FluxEvent, 'involvedObject' | 'severity' | 'message' | 'metadata'>): string {
  let text = `${alertEmoji(event)} ${dottedLabel(event)}\n${event.message}\n`;
  for (const [key, value] of sortedMetadata(event)) text += `- ${key}: ${value}\n`;
  return text;
}

export const MatrixProvider = defineHttpProvider<MatrixConfig>({
  type: 'matrix',
  category: 'chat',
  secretKeys: [{ key: 'token', sensitive: true }],
  // Flux applies certSecretRef but not the Provider's proxy (environment proxy variables still apply).
  transport: { proxy: false, tls: true },
  parse(settings) {
    const where = providerRef(settings);
    // A homeserver URL is public: printed in the error, as Flux does.
    const address = checkAddress(settings, { what: 'Matrix homeserver URL', public: true });
    // Flux sends these anyway and the homeserver refuses every event; Herald says so when the Provider loads.
    if (settings.channel === '') throw new ConfigError(`${where}: empty Matrix room (set spec.channel to the room ID, !<id>:<server>)`);
    if (settings.channel.startsWith('#')) {
      throw new ConfigError(`${where}: spec.channel ${settings.channel} is a room alias; Matrix needs the room ID (!<id>:<server>, Room settings > Advanced)`);
    }
    if (settings.token === '') throw new ConfigError(`${where}: empty Matrix access token (${missingSecretKey(settings, 'token')})`);
    if (hasLineBreak(settings.token)) {
      throw new ConfigError(`${where}: ${secretKeyLabel(settings, 'token')} contains a line break, which cannot be sent in the Authorization header`);
    }
    return { address, room: settings.channel, token: settings.token };
  },
  request(n, config) {
    const url = `${config.address}/_matrix/client/r0/rooms/${config.room}/send/m.room.message/${matrixTxnId(n.event)}`;
    const body = goJson({ body: renderedText(n, matrixText(n.event)), msgtype: 'm.text' });
    return { ...jsonPost(url, body, { Authorization: `Bearer ${config.token}` }), method: 'PUT' };
  },
});
