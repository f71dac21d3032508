// Readers polling during an overwrite see the old or the new content whole, never a mix or a
// truncation; reads that start after commit() resolved see the new content.
import { describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../context.js';
import { contentBytes, contentChunks, contentDigest, digestOf, MiB, streamDigest, type Digest } from '../content.js';
import type { StorageDriver } from '../../types.js';

interface Observation {
  digest: string;
  afterCommit: boolean;
}

/**
 * Reader loops polling `read` while the test overwrites the object through write(). Between writes
 * the readers loop freely; while a write is in progress each reader starts at most one more read
 * (racing the write), then waits for the write to end. Three free-running loops always keep a read
 * in flight, and an object store that holds a lock on an object for as long as a GET streams
 * (MinIO does, and its writers do not take precedence) would never let the overwrite take its write
 * lock: the commit then waits for the store's lock timeout, which is minutes. No real workload reads
 * one object back to back without pause, and the race under test (reads in flight while the write
 * commits) is kept. Stops once every reader has seen one read that started after committed().
 */
function pollers(readers: number, read: () => Promise<Digest>, committed: () => boolean) {
  const seen: Observation[] = [];
  let stopping = false;
  let writing: Promise<void> | undefined;
  const loops = Array.from({ length: readers }, async () => {
    let after = 0;
    while (!stopping || after < 1) {
      const afterCommit = committed();
      const raced = writing;
      const d = await read();
      seen.push({ digest: `${d.sha256}/${d.size}`, afterCommit });
      if (afterCommit) after++;
      if (raced) await raced;
      // A driver answering from memory never leaves the microtask queue: let timers and I/O run.
      await new Promise((r) => setImmediate(r));
    }
  });
  return {
    seen,
    /** Runs one overwrite (or commit) with the readers racing it. */
    async write(fn: () => Promise<void>): Promise<void> {
      let done!: () => void;
      writing = new Promise<void>((r) => (done = r));
      try {
        await fn();
      } finally {
        writing = undefined;
        done();
      }
    },
    async stop(): Promise<Observation[]> {
      stopping = true;
      await Promise.all(loops);
      return seen;
    },
  };
}

const key = (d: Digest) => `${d.sha256}/${d.size}`;

export function atomicityTests(ctx: SuiteContext): void {
  describe('atomicity', () => {
    it(
      'commit() of a large overwrite is atomic for concurrent readers',
      () =>
        ctx.withRoot(async (root) => {
          const d: StorageDriver = ctx.driver();
          const p = `${root}/blob`;
          const oldSize = ctx.opts.atomicSizeMiB * MiB;
          const newSize = oldSize + 4099; // a torn or truncated read cannot match either digest
          const oldDigest = contentDigest(21, oldSize);
          const newDigest = contentDigest(22, newSize);

          const w0 = await d.writer(p, false);
          for (const c of contentChunks(21, oldSize)) await w0.write(c);
          await w0.commit();
          expect(await streamDigest(await d.reader(p))).toEqual(oldDigest);

          let committed = false;
          const poll = pollers(3, async () => streamDigest(await d.reader(p)), () => committed);
          const w = await d.writer(p, false);
          for (const c of contentChunks(22, newSize)) await w.write(c);
          // Readers must have had the chance to read the old content while the new one was written.
          while (!poll.seen.length) await new Promise((r) => setTimeout(r, 5));
          await poll.write(() => w.commit());
          committed = true;
          const seen = await poll.stop();

          const allowed = new Set([key(oldDigest), key(newDigest)]);
          expect(seen.filter((o) => !allowed.has(o.digest))).toEqual([]);
          expect(seen.some((o) => !o.afterCommit && o.digest === key(oldDigest))).toBe(true);
          expect(seen.filter((o) => o.afterCommit && o.digest !== key(newDigest))).toEqual([]);
        }),
      ctx.opts.largeTimeoutMs,
    );

    it('putContent overwrites are atomic for concurrent getContent and reader calls', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/tag/current`;
        const a = contentBytes(31, 200_000);
        const b = contentBytes(32, 300_001);
        const rounds = 40;
        const contentOf = (round: number) => (round % 2 ? a : b);
        await d.putContent(p, a);
        const allowed = new Set([key(digestOf(a)), key(digestOf(b))]);
        let writes = 0;
        const poll = pollers(
          4,
          async () => (writes % 2 ? digestOf(await d.getContent(p)) : streamDigest(await d.reader(p))),
          () => writes >= rounds,
        );
        for (; writes < rounds; writes++) await poll.write(() => d.putContent(p, contentOf(writes)));
        const seen = await poll.stop();
        expect(seen.length).toBeGreaterThan(4);
        expect(seen.filter((o) => !allowed.has(o.digest))).toEqual([]);
        const last = key(digestOf(contentOf(rounds - 1)));
        expect(seen.filter((o) => o.afterCommit && o.digest !== last)).toEqual([]);
      }));
  });
}
