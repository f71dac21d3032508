import { describe, expect, it } from '@jest/globals';
import { createDriver } from '@kuik/storage';
import { randomUUID } from 'node:crypto';
import { pacedDriver } from './throttle.js';

describe('the collector’s paced storage', () => {
  it('issues at most the configured operations per second after a second’s burst, a walk a token per 100 entries', async () => {
    const driver = await createDriver('inmemory', { name: randomUUID() });
    for (let i = 0; i < 2500; i++) await driver.putContent(`/t/f${String(i).padStart(5, '0')}`, Buffer.from('x'));
    const paced = pacedDriver(driver, 40);
    const t0 = performance.now();
    // 40 in the burst, then 40 more at 40/s: about one second.
    await Promise.all(Array.from({ length: 80 }, (_, i) => paced.stat(`/t/f${String(i).padStart(5, '0')}`)));
    const statMs = performance.now() - t0;
    expect(statMs).toBeGreaterThanOrEqual(900);
    expect(statMs).toBeLessThan(5000);
    // 2,500 entries are 25 tokens: about 0.6 s at 40/s once the burst is spent.
    const t1 = performance.now();
    let n = 0;
    for await (const _f of paced.walk('/t')) n++;
    expect(n).toBe(2500);
    const walkMs = performance.now() - t1;
    expect(walkMs).toBeGreaterThanOrEqual(500);
    expect(walkMs).toBeLessThan(5000);
    // Unpaced when the limit is 0.
    expect(pacedDriver(driver, 0)).toBe(driver);
  });
});
