import { describe, expect, it } from '@jest/globals';
import { digestOf } from '@kuik/oci';
import { HashCache } from './hash-cache.js';
import { KeyedMutex } from './locks.js';

describe('HashCache', () => {
  it('hands out a running hash only while it covers exactly the stored bytes', () => {
    const cache = new HashCache(2);
    cache.start('a').digester.update(Buffer.from('abc'));
    expect(cache.take('a', 3)?.digester.digest()).toBe(digestOf(Buffer.from('abc')));
    // Storage says otherwise (another replica appended): dropped for good.
    expect(cache.take('a', 5)).toBeUndefined();
    expect(cache.take('a', 3)).toBeUndefined();
  });

  it('is bounded, evicting the oldest sessions', () => {
    const cache = new HashCache(2);
    cache.start('a');
    cache.start('b');
    cache.start('c');
    expect(cache.size).toBe(2);
    expect(cache.take('a', 0)).toBeUndefined();
    expect(cache.take('c', 0)).toBeDefined();
  });
});

describe('KeyedMutex', () => {
  it('runs work for one key one at a time, other keys in parallel', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const job = (key: string, name: string, ms: number) =>
      mutex.run(key, async () => {
        events.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        events.push(`end ${name}`);
      });
    await Promise.all([job('k', 'a', 30), job('k', 'b', 1), job('other', 'c', 1)]);
    expect(events.indexOf('end a')).toBeLessThan(events.indexOf('start b'));
    expect(events.indexOf('start c')).toBeLessThan(events.indexOf('end a'));
  });
});
