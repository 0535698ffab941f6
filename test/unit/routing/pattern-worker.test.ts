// The off-thread matcher: cheap matches inline, long ones in the worker, a budget that stops a runaway match and
// leaves the worker usable, and a bounded backlog.
import { afterAll, describe, expect, it } from 'vitest';
import { compilePattern } from '../../../src/resources/store.js';
import { findPattern, INLINE_COST, MAX_BACKLOG, PatternMatcher } from '../../../src/routing/pattern-worker.js';

describe('PatternMatcher', () => {
  const matcher = new PatternMatcher(300);
  afterAll(() => matcher.close());

  it('matches inline when cheap and in the worker when not, with the same answers', async () => {
    const p = compilePattern('fail(ed|ure)');
    expect(p.instructions).toBeGreaterThan(0);
    expect(await findPattern(p, 'the build failed', matcher)).toEqual({ found: true });
    const long = `${'x'.repeat(Math.ceil(INLINE_COST / p.instructions!) + 10)} failure`;
    expect(matcher.backlog).toBe(0);
    const pending = findPattern(p, long, matcher);
    expect(matcher.backlog).toBe(1); // sent to the worker
    expect(await pending).toEqual({ found: true });
    expect(await findPattern(p, 'x'.repeat(long.length), matcher)).toEqual({ found: false });
  });

  it('stops a match over budget, counts it as not matching, and keeps serving', async () => {
    const t = Date.now();
    expect(await matcher.match('(.*a){20}$', `${'a'.repeat(1_000_000)}b`)).toEqual({ found: false, timedOut: true });
    expect(Date.now() - t).toBeLessThan(2000);
    expect(await matcher.match('b$', `${'a'.repeat(1000)}b`)).toEqual({ found: true });
  });

  it('refuses to queue beyond the backlog', async () => {
    const jobs = Array.from({ length: MAX_BACKLOG }, () => matcher.match('(.*a){20}$', `${'a'.repeat(200_000)}b`));
    expect(await matcher.match('a', 'a')).toEqual({ found: false, timedOut: true, busy: true });
    await matcher.close();
    await Promise.all(jobs);
  }, 20_000);
});
