import { describe, expect, it } from '@jest/globals';
import { parseCron } from './cron.js';

const at = (iso: string) => new Date(iso);

describe('cron schedule', () => {
  it('finds the next matching minute, in UTC', () => {
    expect(parseCron('0 3 * * 0').next(at('2026-11-25T10:00:00Z'))?.toISOString()).toBe('2026-11-29T03:00:00.000Z');
    expect(parseCron('@weekly').next(at('2026-11-29T00:00:00Z'))?.toISOString()).toBe('2026-12-06T00:00:00.000Z');
    expect(parseCron('*/15 * * * *').next(at('2026-11-25T10:07:30Z'))?.toISOString()).toBe('2026-11-25T10:15:00.000Z');
    expect(parseCron('30 1-3/2 * * *').next(at('2026-11-25T01:30:00Z'))?.toISOString()).toBe('2026-11-25T03:30:00.000Z');
    expect(parseCron('0 0 29 2 *').next(at('2026-03-01T00:00:00Z'))?.toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(parseCron('0 0 1,15 * 7').next(at('2026-11-25T00:00:00Z'))?.toISOString()).toBe('2026-11-29T00:00:00.000Z');
  });

  it('refuses what it cannot read, saying which field', () => {
    expect(() => parseCron('* * * *')).toThrow(/5 fields/);
    expect(() => parseCron('60 * * * *')).toThrow(/minute/);
    expect(() => parseCron('* * * 13 *')).toThrow(/month/);
    expect(() => parseCron('* * * * mon')).toThrow(/day of week/);
    expect(() => parseCron('*/0 * * * *')).toThrow(/minute/);
  });

  it('gives up on an impossible date rather than looping', () => {
    expect(parseCron('0 0 31 2 *').next(at('2026-01-01T00:00:00Z'))).toBeNull();
  });
});
