import { describe, expect, it } from '@jest/globals';
import { TagFreshness } from './tag-freshness.js';

describe('TagFreshness', () => {
  it('is fresh for the refresh interval, and retries a failed revalidation sooner', () => {
    let now = 1_000_000;
    const t = new TagFreshness(60_000, () => now);
    expect(t.isFresh('r:latest')).toBe(false);
    t.markValidated('r:latest');
    now += 59_999;
    expect(t.isFresh('r:latest')).toBe(true);
    now += 1;
    expect(t.isFresh('r:latest')).toBe(false);
    t.retryLater('r:latest', 5_000);
    now += 4_999;
    expect(t.isFresh('r:latest')).toBe(true);
    now += 1;
    expect(t.isFresh('r:latest')).toBe(false);
  });
});
