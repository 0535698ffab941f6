import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Provider } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { ProviderCache } from '../../../src/delivery/provider-cache.js';
import { createLogger } from '../../../src/logger.js';
import { ResourceStore } from '../../../src/resources/store.js';
import { ConfigError } from '../../../src/providers/types.js';
import { testRuntime } from '../../helpers/providers.js';

const runtime = testRuntime();

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const dest = new Writable({ write(chunk, _e, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
  return { log: createLogger({ level: 'debug', destination: dest }), lines };
}

const provider = (spec: Partial<Provider['spec']> = {}): Provider => ({
  apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Provider',
  metadata: { name: 'hook', namespace: 'apps', uid: 'u1' },
  spec: { type: 'generic', address: 'https://hooks.example.com/x', ...spec },
});
const secret = (data: Record<string, string>): Secret => ({
  apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'apps', uid: 's1' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
});

describe('ProviderCache', () => {
  it('builds a config once per Provider/Secret version and rebuilds when the Secret changes', () => {
    const store = new ResourceStore();
    const { log } = capture();
    const cache = new ProviderCache(store, log, runtime);
    const p = provider({ secretRef: { name: 's' } });
    store.upsert(p);
    store.upsert(secret({ headers: 'X-A: one' }));
    const first = cache.resolve(p);
    expect(cache.resolve(p)).toBe(first);
    expect(first.settings.headers).toEqual({ 'X-A': 'one' });
    store.upsert(secret({ headers: 'X-A: two' }));
    const second = cache.resolve(p);
    expect(second).not.toBe(first);
    expect(second.settings.headers).toEqual({ 'X-A': 'two' });
  });

  it("wraps errors in Flux's words and reports an unsupported type", () => {
    const store = new ResourceStore();
    const cache = new ProviderCache(store, capture().log, runtime);
    expect(() => cache.resolve(provider({ secretRef: { name: 'missing' } }))).toThrow(ConfigError);
    expect(() => cache.resolve(provider({ secretRef: { name: 'missing' } }))).toThrow(/^failed to initialize notifier for provider 'hook': failed to get secret 'apps\/missing'/);
    // A type outside this build's registry (only reachable past the CRD schema, e.g. from a newer Flux).
    expect(() => cache.resolve(provider({ type: 'carrier-pigeon' as Provider['spec']['type'] }))).toThrow("failed to initialize notifier for provider 'hook': failed to initialize notifier: provider carrier-pigeon not supported");
  });

  it('logs the deprecated proxy settings once per Provider version, as Flux does on every event', () => {
    const store = new ResourceStore();
    const { log, lines } = capture();
    const cache = new ProviderCache(store, log, runtime);
    const p = provider({ proxy: 'http://proxy.internal:3128', secretRef: { name: 's' } });
    store.upsert(p);
    store.upsert(secret({ proxy: 'http://legacy.internal:8080' }));
    cache.resolve(p);
    cache.resolve(p);
    const msgs = lines.map((l) => String(l['msg']));
    expect(msgs.filter((m) => m.startsWith('warning: spec.proxy is deprecated'))).toHaveLength(1);
    expect(msgs.filter((m) => m.startsWith("warning: specifying proxy with 'proxy' key"))).toHaveLength(1);
  });
});
