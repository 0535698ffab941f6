// telegram against the real host name: api.telegram.org:443 reached through a CONNECT proxy that routes it to a local
// HTTPS server with a certificate for api.telegram.org (test CA trusted as a system root in this process).
import { describe, expect, it } from 'vitest';
import type { ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { escapeMarkdownV2, splitTelegramChannel, telegramText } from '../../../src/providers/chat/telegram.js';
import { maskError } from '../../../src/providers/masking.js';
import { configErrorOf, upstreamChatEvent } from '../../helpers/chat.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { trustTestCaAsSystemRoot } from '../../helpers/fixed-host.js';
import { canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';
import { startProxy } from '../../helpers/proxy.js';
import { startRecordingServer, type ScriptedResponse } from '../../helpers/recording-server.js';
import { makeTestPki, serverCertFor } from '../../helpers/tls.js';

trustTestCaAsSystemRoot();
const track = closeAfterEach();
const runtime = testRuntime();
const TOKEN = '123456:ABC-DEF1234';
const hostTls = () => serverCertFor(['api.telegram.org']);

/** A Telegram API stand-in and a proxy (with credentials) that routes api.telegram.org:443 to it. */
async function telegram(respond?: (n: number) => ScriptedResponse, tls: { key: string; cert: string } = hostTls()) {
  const api = track(await startRecordingServer({ tls, ...(respond ? { respond: (_r, n) => respond(n) } : {}) }));
  const auth = `Basic ${Buffer.from('px:px-pass').toString('base64')}`;
  const proxy = track(await startProxy(auth, { route: () => ({ host: '127.0.0.1', port: api.port }) }));
  const proxySecret = secretObject('egress', { address: proxy.url, username: 'px', password: 'px-pass' });
  return { api, proxy, proxySecret };
}

function provider(spec: Partial<ProviderSpec>, token: string | undefined = TOKEN) {
  const secrets: Secret[] = [];
  if (token !== undefined) secrets.push(secretObject('bot', { token }));
  return { p: providerObject('telegram', { secretRef: { name: 'bot' }, proxySecretRef: { name: 'egress' }, ...spec }), secrets };
}

describe('telegram: the request at api.telegram.org', () => {
  it('POSTs the canonical body, byte for byte in Flux field order, to /bot<token>/sendMessage through the proxy', async () => {
    const { api, proxy, proxySecret } = await telegram();
    const { p, secrets } = provider({ channel: '-1001234567890:42' });
    await deliverOnce(runtime, p, [...secrets, proxySecret], canonicalEvent('error'));
    expect(proxy.used.map((u) => `${u.method} ${u.target}`)).toEqual(['CONNECT api.telegram.org:443']);
    const [req] = api.requests;
    expect(`${req!.method} ${req!.url}`).toBe('POST /bot123456:ABC-DEF1234/sendMessage');
    expect(req!.headers['host']).toBe('api.telegram.org');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.text).toBe('{"chat_id":"-1001234567890","message_thread_id":"42","text":"*🚨 kustomization/webapp/apps*\\nHealth check failed after 2m\\n'
      + '\\\\- *cluster*: prod\\\\-eu\\n\\\\- *revision*: main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567\\n\\\\- *summary*: Production cluster\\n","parse_mode":"MarkdownV2"}');
  });

  it('marks info with 💫 and error with 🚨, nothing else changes', async () => {
    const { api, proxySecret } = await telegram();
    const { p, secrets } = provider({ channel: '-100' });
    await deliverOnce(runtime, p, [...secrets, proxySecret], canonicalEvent('info'));
    await deliverOnce(runtime, p, [...secrets, proxySecret], canonicalEvent('error'));
    const [info, error] = api.requests.map((r) => JSON.parse(r.text) as { text: string });
    expect(info!.text.startsWith('*💫 kustomization/webapp/apps*\n')).toBe(true);
    expect(error!.text.startsWith('*🚨 kustomization/webapp/apps*\n')).toBe(true);
    expect(info!.text.slice(info!.text.indexOf('\n'))).toBe(error!.text.slice(error!.text.indexOf('\n')));
  });

  it('upstream vectors 1 and 2: channel, channel:thread, escaped metadata lines', async () => {
    const { api, proxySecret } = await telegram();
    const event = upstreamChatEvent({ test: 'metadata', 'kubernetes.io/somekey': 'some.value' });
    for (const channel of ['channel', 'channel:thread']) {
      const { p, secrets } = provider({ channel });
      await deliverOnce(runtime, p, [...secrets, proxySecret], event);
    }
    const [one, two] = api.requests.map((r) => JSON.parse(r.text) as Record<string, string>);
    expect(Object.keys(one!)).toEqual(['chat_id', 'text', 'parse_mode']);
    expect(one!['chat_id']).toBe('channel');
    expect(one!['parse_mode']).toBe('MarkdownV2');
    const parts = one!['text']!.split('\n');
    expect(parts).toHaveLength(5);
    expect(parts.slice(0, 2)).toEqual(['*💫 gitrepository/webapp/gitops\\-system*', 'message']);
    expect(new Set(parts.slice(2, 4))).toEqual(new Set(['\\- *kubernetes\\.io/somekey*: some\\.value', '\\- *test*: metadata']));
    expect(parts[4]).toBe('');
    expect(Object.keys(two!)).toEqual(['chat_id', 'message_thread_id', 'text', 'parse_mode']);
    expect([two!['chat_id'], two!['message_thread_id']]).toEqual(['channel', 'thread']);
  });

  it('ignores spec.address, a Secret address and certSecretRef: the host is fixed and verified with the system roots', async () => {
    const { api, proxy, proxySecret } = await telegram();
    const other = secretObject('other-ca', { 'ca.crt': makeTestPki().otherCa });
    const p = providerObject('telegram', {
      channel: '@flux', address: 'https://example.invalid/x', secretRef: { name: 'bot' }, proxySecretRef: { name: 'egress' }, certSecretRef: { name: 'other-ca' },
    });
    await deliverOnce(runtime, p, [secretObject('bot', { token: TOKEN, address: 'https://also.invalid/y' }), proxySecret, other], canonicalEvent());
    expect(proxy.used.map((u) => u.target)).toEqual(['api.telegram.org:443']);
    expect(api.requests[0]!.url).toBe('/bot123456:ABC-DEF1234/sendMessage');
  });
});

describe('telegram: text and channel', () => {
  it('escapes each of the 19 MarkdownV2 characters exactly once', () => {
    const all = '\\.-_[]()~>`#+=|{}!*';
    expect(escapeMarkdownV2(all)).toBe(all.split('').map((c) => `\\${c}`).join(''));
    expect(escapeMarkdownV2('a\\b')).toBe('a\\\\b');
    expect(escapeMarkdownV2('already \\. escaped')).toBe('already \\\\\\. escaped');
    expect(escapeMarkdownV2('plain text, with: commas; @ & % $ ^ " \' / ? < ü 🚀')).toBe('plain text, with: commas; @ & % $ ^ " \' / ? < ü 🚀');
    expect(escapeMarkdownV2('v1.2.3-rc_1 (x) [y] {z} a+b=c |d| e! f* g~ >h #i `j`'))
      .toBe('v1\\.2\\.3\\-rc\\_1 \\(x\\) \\[y\\] \\{z\\} a\\+b\\=c \\|d\\| e\\! f\\* g\\~ \\>h \\#i \\`j\\`');
  });

  it('escapes heading, message, keys and values; without metadata the text ends after the message', () => {
    const event = upstreamChatEvent({}, 'error');
    event.involvedObject.name = 'web_app.v2';
    event.message = 'failed (exit 1)!';
    expect(telegramText(event)).toBe('*🚨 gitrepository/web\\_app\\.v2/gitops\\-system*\nfailed \\(exit 1\\)\\!\n');
    event.metadata = { 'b.key': 'x-y', a: '1*2' };
    expect(telegramText(event)).toBe('*🚨 gitrepository/web\\_app\\.v2/gitops\\-system*\nfailed \\(exit 1\\)\\!\n\\- *a*: 1\\*2\n\\- *b\\.key*: x\\-y\n');
  });

  it('splits the channel at the first colon and drops an empty thread', () => {
    expect(splitTelegramChannel('-1001234567890')).toEqual({ chatId: '-1001234567890' });
    expect(splitTelegramChannel('-1001234567890:42')).toEqual({ chatId: '-1001234567890', threadId: '42' });
    expect(splitTelegramChannel('-100:')).toEqual({ chatId: '-100' });
    expect(splitTelegramChannel('a:b:c')).toEqual({ chatId: 'a', threadId: 'b:c' });
    expect(splitTelegramChannel('@channelname')).toEqual({ chatId: '@channelname' });
  });
});

describe('telegram: configuration errors', () => {
  it('refuses an empty channel, then an empty token, naming Provider, Secret and key (address not required)', () => {
    expect(configErrorOf(runtime, providerObject('telegram', { secretRef: { name: 'bot' } }), [secretObject('bot', { token: TOKEN })]))
      .toBe('provider apps/ops: empty Telegram channel (set spec.channel to <chat_id> or <chat_id>:<message_thread_id>)');
    expect(configErrorOf(runtime, providerObject('telegram', { channel: 'c', secretRef: { name: 'bot' } }), [secretObject('bot', { other: 'x' })]))
      .toBe("provider apps/ops: empty Telegram token (secret apps/bot has no 'token' (or it is empty))");
    expect(configErrorOf(runtime, providerObject('telegram', { channel: 'c' })))
      .toBe("provider apps/ops: empty Telegram token (spec.secretRef is not set, so there is no Secret 'token')");
  });

  it('refuses a token with a trailing newline without quoting it', () => {
    const msg = configErrorOf(runtime, providerObject('telegram', { channel: 'c', secretRef: { name: 'bot' } }), [secretObject('bot', { token: `${TOKEN}\n` })]);
    expect(msg).toBe("provider apps/ops: secret apps/bot key 'token' cannot be used in the Telegram API URL https://api.telegram.org/bot*****/sendMessage: net/url: invalid control character in URL");
    expect(msg).not.toContain('ABC-DEF');
  });
});

describe('telegram: errors never carry the bot token', () => {
  it('a refusal is returned without the postMessage prefix, and the echoed token is gone before any masking', async () => {
    const { proxySecret } = await telegram(() => ({ status: 400, body: '{"ok":false,"error_code":400,"description":"Bad Request: chat not found","echo":"/bot123456:ABC-DEF1234/sendMessage"}' }));
    const { p, secrets } = provider({ channel: 'nope' });
    const err = await deliveryFailure(deliverOnce(runtime, p, [...secrets, proxySecret], canonicalEvent()));
    expect(err.message).toBe('request failed with status code 400: {"ok":false,"error_code":400,"description":"Bad Request: chat not found","echo":"/bot*****/sendMessage"}');
    expect([err.retryable, err.reason]).toEqual([false, 'client']);
  });

  it('a transport error shows the URL as bot*****', async () => {
    const closed = track(await startRecordingServer());
    const port = closed.port;
    await closed.close();
    const proxy = track(await startProxy(undefined, { route: () => ({ host: '127.0.0.1', port }) }));
    const { p, secrets } = provider({ channel: 'c' });
    const err = await deliveryFailure(deliverOnce(runtime, p, [...secrets, secretObject('egress', { address: proxy.url })], canonicalEvent(), { timeoutMs: 3000 }));
    expect(err.message).toContain('Post "https://api.telegram.org/bot*****/sendMessage": ');
    expect(err.message).not.toContain('ABC-DEF');
    expect(err.retryable || err.reason === 'timeout').toBe(true);
  });

  it('a certificate the system roots do not trust fails for good, without the token', async () => {
    const pki = makeTestPki();
    // The localhost certificate is signed by the trusted test CA but does not name api.telegram.org.
    const { proxySecret } = await telegram(undefined, { key: pki.serverKey, cert: pki.serverCert });
    const { p, secrets } = provider({ channel: 'c' });
    const err = await deliveryFailure(deliverOnce(runtime, p, [...secrets, proxySecret], canonicalEvent()));
    expect(err.message).toMatch(/^Post "https:\/\/api\.telegram\.org\/bot\*\*\*\*\*\/sendMessage": tls: failed to verify certificate/);
    expect(err.retryable).toBe(false);
  });

  it('a token with URL-escaped characters is masked in its escaped form too', async () => {
    const token = '123456:AB CD%';
    // '%' alone does not parse in a URL path: refused up front, without the token.
    const msg = configErrorOf(runtime, providerObject('telegram', { channel: 'c', secretRef: { name: 'bot' } }), [secretObject('bot', { token })]);
    expect(msg).not.toContain('AB CD');
    const spaced = '123456:AB CD';
    const { proxySecret } = await telegram(() => ({ status: 401, body: 'echo /bot123456:AB%20CD/sendMessage and 123456:AB CD' }));
    const { p, secrets } = provider({ channel: 'c' }, spaced);
    const err = await deliveryFailure(deliverOnce(runtime, p, [...secrets, proxySecret], canonicalEvent()));
    expect(err.message).toBe('request failed with status code 401: echo /bot*****/sendMessage and *****');
    expect(maskError(err.message, { token: spaced, sensitive: [] })).toBe(err.message);
  });
});
