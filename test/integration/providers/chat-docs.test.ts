// The chat doc pages carry working examples: each first YAML example parses as Herald parses manifests, its Provider
// and Secret pass the type's parse, and the same Provider, pointed at a local endpoint, delivers.
import { describe, expect, it } from 'vitest';
import type { Provider } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import type { LarkConfig } from '../../../src/providers/chat/lark.js';
import type { MatrixConfig } from '../../../src/providers/chat/matrix.js';
import type { TelegramConfig } from '../../../src/providers/chat/telegram.js';
import type { ZoomConfig } from '../../../src/providers/chat/zoom.js';
import type { ZulipConfig } from '../../../src/providers/chat/zulip.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { docExample } from '../../helpers/doc-example.js';
import { canonicalEvent, deliverOnce, parseProvider, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer } from '../../helpers/recording-server.js';

const track = closeAfterEach();
const runtime = testRuntime();

/** The example's address (Secret or spec) with its scheme and host replaced by the local endpoint's. */
function pointedAt(p: Provider, secrets: Secret[], base: string): { p: Provider; secrets: Secret[] } {
  const local = (address: string) => address.replace(/^https:\/\/[^/]+/, base);
  return {
    p: { ...p, spec: { ...p.spec, ...(p.spec.address ? { address: local(p.spec.address) } : {}) } },
    secrets: secrets.map((s) => (s.data['address'] ? { ...s, data: { ...s.data, address: Buffer.from(local(s.data['address'].toString())) } } : s)),
  };
}

const EXPECTED: Record<string, { path: RegExp; field: (body: Record<string, unknown>) => unknown; value: unknown }> = {
  slack: { path: /^\/services\/T0000\/B0000\//, field: (b) => b['channel'], value: 'flux-alerts' },
  discord: { path: /^\/api\/webhooks\/123456789012345678\/.+\/slack$/, field: (b) => b['username'], value: 'flux' },
  rocket: { path: /^\/hooks\/6a1b2c3d4e5f\//, field: (b) => b['channel'], value: '#flux' },
  msteams: { path: /^\/workflows\/0123abcd\/triggers\/manual\/paths\/invoke\?api-version=/, field: (b) => b['type'], value: 'message' },
  googlechat: { path: /^\/v1\/spaces\/AAAAxxxxxxx\/messages\?key=/, field: (b) => (b['cards'] as unknown[]).length, value: 1 },
  webex: { path: /^\/v1\/messages$/, field: (b) => b['roomId'], value: 'Y2lzY29zcGFyazovL3VzL1JPT00vYWJj' },
};

describe('chat: doc page examples', () => {
  it.each(Object.keys(EXPECTED))('docs/providers/%s.md has a working example', async (type) => {
    const { provider, secrets, problems } = docExample(type);
    expect(problems).toEqual([]);
    expect(provider.spec.type).toBe(type);
    parseProvider(runtime, provider, secrets);
    const srv = track(await startRecordingServer());
    const local = pointedAt(provider, secrets, srv.url);
    await deliverOnce(runtime, local.p, local.secrets, canonicalEvent());
    const [req] = srv.requests;
    const want = EXPECTED[type]!;
    expect(req!.url).toMatch(want.path);
    expect(want.field(JSON.parse(req!.text))).toBe(want.value);
  });
});

function configOf<C>(type: string): C {
  const { provider, secrets, problems } = docExample(type);
  expect(problems).toEqual([]);
  expect(provider.spec.type).toBe(type);
  return (parseProvider(runtime, provider, secrets).config as { config: C }).config;
}

describe('chat: doc page examples parse to the configs the pages describe', () => {
  it('telegram', () => {
    const c = configOf<TelegramConfig>('telegram');
    expect(c.url).toBe('https://api.telegram.org/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/sendMessage');
    expect([c.chatId, c.threadId]).toEqual(['-1001234567890', '42']);
  });

  it('lark', () => {
    expect(configOf<LarkConfig>('lark').url).toBe('https://open.larksuite.com/open-apis/bot/v2/hook/3f2a9c1e-0000-4b1d-9c3a-5e7f00112233');
  });

  it('matrix', () => {
    const c = configOf<MatrixConfig>('matrix');
    expect([c.address, c.room]).toEqual(['https://matrix.example.org', '!abcdef:example.org']);
  });

  it('zulip', () => {
    const c = configOf<ZulipConfig>('zulip');
    expect([c.url, c.stream, c.topic]).toEqual(['https://my-org.zulipchat.com/api/v1/messages', 'platform', 'flux alerts']);
    expect(c.authorization).toBe(`Basic ${Buffer.from('flux-bot@my-org.zulipchat.com:zk-0123456789abcdef').toString('base64')}`);
  });

  it('zoom', () => {
    const c = configOf<ZoomConfig>('zoom');
    expect(c.url).toBe('https://integrations.zoom.us/chat/webhooks/incomingwebhook/aBcDeFgHiJkLmNoP?format=full');
    expect(c.token).toBe('0a1b2c3d4e5f6a7b8c9d0e1f');
  });
});
