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

/** Polls `read` from `readers` loops until stop() and at least `minAfter` reads started after commit. */
function pollers(readers: number, read: () => Promise<Digest>, committed: () => boolean) {
  const seen: Observation[] = [];
  let stopping = false;
  const loops = Array.from({ length: readers }, async () => {
    let after = 0;
    while (!stopping || after < 1) {
      const afterCommit = committed();
      const d = await read();
      seen.push({ digest: `${d.sha256}/${d.size}`, afterCommit });
      if (afterCommit) after++;
      // A driver answering from memory never leaves the microtask queue: let timers and I/O run.
      await new Promise((r) => setImmediate(r));
    }
  });
  return {
    seen,
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
          await w.commit();
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
        for (; writes < rounds; writes++) await d.putContent(p, contentOf(writes));
        const seen = await poll.stop();
        expect(seen.length).toBeGreaterThan(4);
        expect(seen.filter((o) => !allowed.has(o.digest))).toEqual([]);
        const last = key(digestOf(contentOf(rounds - 1)));
        expect(seen.filter((o) => o.afterCommit && o.digest !== last)).toEqual([]);
      }));
  });
}
