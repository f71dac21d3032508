import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '@kuik/observability';
import { WorkQueue } from './workqueue.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('runs one reconcile per key at a time, merges adds, and re-runs a key added while in flight', async () => {
    const q = new WorkQueue({ name: 't', concurrency: 4, logger: silentLogger });
    const runs: string[] = [];
    const inFlight = new Set<string>();
    let overlap = false;
    const ac = new AbortController();
    const done = q.run(async (key) => {
      if (inFlight.has(key)) overlap = true;
      inFlight.add(key);
      runs.push(key);
      await tick(20);
      inFlight.delete(key);
    }, ac.signal);
    q.add('a');
    q.add('a');
    q.add('b');
    await tick(5);
    q.add('a'); // in flight: queued again once, after the current run
    q.add('a');
    await tick(80);
    ac.abort();
    await done;
    expect(overlap).toBe(false);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
  });

  it('bounds concurrency', async () => {
    const q = new WorkQueue({ name: 't', concurrency: 3, logger: silentLogger });
    let now = 0;
    let max = 0;
    const ac = new AbortController();
    const done = q.run(async () => {
      max = Math.max(max, ++now);
      await tick(10);
      now--;
    }, ac.signal);
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    await tick(150);
    ac.abort();
    await done;
    expect(max).toBe(3);
  });

  it('retries failures with growing back-off and honours requeueAfter', async () => {
    const q = new WorkQueue({ name: 't', concurrency: 1, logger: silentLogger, baseDelayMs: 10, maxDelayMs: 1000 });
    const at: number[] = [];
    let periodic = 0;
    const ac = new AbortController();
    const start = performance.now();
    const done = q.run(async (key) => {
      if (key === 'p') {
        periodic++;
        return { requeueAfterMs: 15 };
      }
      at.push(performance.now() - start);
      if (at.length < 4) throw new Error('fail');
      return undefined;
    }, ac.signal);
    q.add('f');
    q.add('p');
    await tick(300);
    ac.abort();
    await done;
    expect(at).toHaveLength(4);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!); // 10, 20, 40 ms (±20 %)
    expect(periodic).toBeGreaterThan(5);
  });
});
