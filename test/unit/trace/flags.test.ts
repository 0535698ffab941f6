// The two flags of the beyond-Flux trace and all-namespace features, as loadConfig parses them.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { parseTraceArgs } from '../../../src/trace/cli.js';

describe('flags', () => {
  it('--cross-namespace-alert-namespaces: none by default, a comma-separated list otherwise', () => {
    expect(loadConfig([], {}).crossNamespaceAlertNamespaces).toEqual([]);
    expect(loadConfig(['--cross-namespace-alert-namespaces', 'platform, ops,'], {}).crossNamespaceAlertNamespaces).toEqual(['platform', 'ops']);
  });

  it('--trace-events: 1000 by default, 0 turns the trace off, negatives and fractions are refused', () => {
    expect(loadConfig([], {}).traceEvents).toBe(1000);
    expect(loadConfig(['--trace-events=0'], {}).traceEvents).toBe(0);
    expect(() => loadConfig(['--trace-events=-1'], {})).toThrow(/--trace-events/);
    expect(() => loadConfig(['--trace-events=1.5'], {})).toThrow(/--trace-events/);
  });

  it('herald trace arguments', () => {
    expect(parseTraceArgs(['--follow', '--alert=ns/a', '--metrics-url', 'http://x:1'])).toMatchObject({ follow: true, metricsUrl: 'http://x:1', filter: { alert: 'ns/a' } });
    expect(() => parseTraceArgs(['--bogus'])).toThrow(/unknown argument/);
    expect(() => parseTraceArgs(['--alert'])).toThrow(/needs a value/);
  });
});
