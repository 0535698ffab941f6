// The `slack` provider (spec providers/slack.md): one legacy attachment, to an incoming webhook or chat.postMessage.
import type { HttpResponse } from '../http/client.js';
import { defineHttpProvider, jsonPost } from '../http/provider.js';
import { DeliveryError, type FailureReason } from '../types.js';
import { checkAddress, webhookSecrets, withMaskedErrors } from './address.js';
import { SLACK_COLOURS } from './colours.js';
import { slackMessage, textOf } from './slack-attachment.js';

/** The Web API method; only this exact string (no trailing `/`, no query) switches to Web API answers. */
export const SLACK_WEB_API = 'https://slack.com/api/chat.postMessage';

export interface SlackConfig {
  url: string;
  channel: string;
  /** spec.username or the Secret's; '' means the event's reporting controller. */
  username: string;
  token: string;
  webApi: boolean;
  masked: string[];
}

/** Slack Web API errors that mean the token is wrong or lacks rights (metrics reason `auth`). */
const AUTH_ERRORS = new Set([
  'not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'token_expired', 'no_permission',
  'missing_scope', 'not_allowed_token_type', 'ekm_access_denied', 'org_login_required',
]);

const jsonKind = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'boolean' ? 'bool' : typeof v);

/**
 * Go's json.Unmarshal of the answer into Flux's `{Ok bool; Error string}`: field names match case-insensitively,
 * `null` and absent fields leave false/''. Throws the decode error's text.
 */
export function decodeSlackAnswer(body: string): { ok: boolean; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (err) {
    throw new Error(body.trim() === '' ? 'unexpected end of JSON input' : (err as Error).message);
  }
  const out = { ok: false, error: '' };
  if (raw === null) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type notifier.SlackResponse`);
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const field = k.toLowerCase();
    if ((field !== 'ok' && field !== 'error') || v === null) continue;
    if (field === 'ok') {
      if (typeof v !== 'boolean') throw new Error(`json: cannot unmarshal ${jsonKind(v)} into Go struct field SlackResponse.ok of type bool`);
      out.ok = v;
    } else {
      if (typeof v !== 'string') throw new Error(`json: cannot unmarshal ${jsonKind(v)} into Go struct field SlackResponse.error of type string`);
      out.error = v;
    }
  }
  return out;
}

/** Web API mode: a 2xx is delivered only when its body says `"ok": true`. */
function checkWebApiAnswer(res: HttpResponse): void {
  let answer: { ok: boolean; error: string };
  try {
    answer = decodeSlackAnswer(res.body);
  } catch (err) {
    throw new DeliveryError(`unable to unmarshal response body: ${(err as Error).message}`, { retryable: false, reason: 'server' });
  }
  if (answer.ok) return;
  const reason: FailureReason = AUTH_ERRORS.has(answer.error) ? 'auth' : answer.error === 'ratelimited' ? 'rate-limited' : 'client';
  throw new DeliveryError(`Slack responded with error: ${answer.error}`, { retryable: false, reason });
}

export const SlackProvider = withMaskedErrors(defineHttpProvider<SlackConfig>({
  type: 'slack',
  category: 'chat',
  transport: { proxy: true, tls: true },
  parse(settings) {
    const url = checkAddress(settings, { what: 'Slack hook URL' });
    const webApi = url === SLACK_WEB_API;
    return {
      url,
      channel: settings.channel,
      username: settings.username,
      token: settings.token,
      webApi,
      // chat.postMessage is a public endpoint (its credential is the token); a webhook URL is the credential.
      masked: webApi ? [] : webhookSecrets(url),
    };
  },
  request(n, config) {
    const body = slackMessage(n.event, {
      channel: config.channel,
      username: config.username || n.event.reportingController,
      fallback: true,
      colours: SLACK_COLOURS,
      ...textOf(n),
    });
    return jsonPost(config.url, body, config.token !== '' ? { Authorization: `Bearer ${config.token}` } : undefined);
  },
  checkResponse(res, config) {
    if (config.webApi) checkWebApiAnswer(res);
  },
}));
