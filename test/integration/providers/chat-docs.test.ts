// The chat doc pages carry working examples: each first YAML example parses as Herald parses manifests, its Provider
// and Secret pass the type's parse, and the same Provider, pointed at a local endpoint, delivers.
import { describe, expect, it } from 'vitest';
import type { Provider } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
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
