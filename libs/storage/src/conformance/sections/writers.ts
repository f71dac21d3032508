// Appending writers: size across close and reopen (by this instance and by a fresh one, as after a
// process restart), nothing visible before commit, cancel discarding every session.
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import type { SuiteContext } from '../context.js';
import { contentBytes, contentChunks, MiB, streamDigest } from '../content.js';
import { expectStorageError, walkPaths } from '../probes.js';
import type { FileWriter, StorageDriver } from '../../types.js';
import { parentPath } from '../../paths.js';

/** Writes seed's bytes in uneven chunk sizes (exercises drivers that buffer into parts). */
async function writeUneven(w: FileWriter, seed: number, size: number, hash: ReturnType<typeof createHash>): Promise<void> {
  const sizes = [1, 4093, 256 * 1024, 3 * MiB + 17, MiB - 1];
  let i = 0;
  for (let done = 0; done < size; ) {
    const n = Math.min(sizes[i++ % sizes.length], size - done);
    for (const c of contentChunks(seed, size, done, n, n)) {
      hash.update(c);
      await w.write(c);
    }
    done += n;
  }
}

async function expectInvisible(d: StorageDriver, root: string, p: string): Promise<void> {
  await expectStorageError(d.stat(p), 'PathNotFound');
  await expectStorageError(d.getContent(p), 'PathNotFound');
  await expectStorageError(d.list(parentPath(p)), 'PathNotFound');
  expect(await walkPaths(d, root)).toEqual([]);
}

export function writerTests(ctx: SuiteContext): void {
  describe('writers', () => {
    it(
      'appends across close and reopen, also by a fresh driver instance (process restart), with size right',
      () =>
        ctx.withRoot(async (root) => {
          const d = ctx.driver();
          const p = `${root}/uploads/u1/data`;
          const h = createHash('sha256');
          const sessions = [3 * MiB + 1, 6 * MiB + 7, 10]; // below, above and far below a 5 MiB part
          const total = sessions.reduce((a, b) => a + b, 0);

          const w1 = await d.writer(p, false);
          await writeUneven(w1, 1, sessions[0], h);
          expect(w1.size).toBe(sessions[0]);
          await w1.close();
          await expectInvisible(d, root, p);

          const restarted = await ctx.makeDriver();
          try {
            const w2 = await restarted.writer(p, true);
            expect(w2.size).toBe(sessions[0]);
            await writeUneven(w2, 2, sessions[1], h);
            expect(w2.size).toBe(sessions[0] + sessions[1]);
            await w2.close();
          } finally {
            await restarted.close?.();
          }
          await expectInvisible(d, root, p);

          const w3 = await d.writer(p, true);
          expect(w3.size).toBe(sessions[0] + sessions[1]);
          await writeUneven(w3, 3, sessions[2], h);
          expect(w3.size).toBe(total);
          await w3.commit();

          expect((await d.stat(p)).size).toBe(total);
          expect(await streamDigest(await d.reader(p))).toEqual({ sha256: h.digest('hex'), size: total });
          // Committed content is not "in progress": there is nothing left to append to.
          await expectStorageError(d.writer(p, true), 'PathNotFound');
        }),
      120_000,
    );

    it('reopening with append=true where nothing is in progress is PathNotFound', () =>
      ctx.withRoot(async (root) => {
        await expectStorageError(ctx.driver().writer(`${root}/never`, true), 'PathNotFound');
      }));

    it('append=false discards an earlier in-progress session', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/restart`;
        const w1 = await d.writer(p, false);
        await w1.write(Buffer.from('stale'));
        await w1.close();
        const w2 = await d.writer(p, false);
        expect(w2.size).toBe(0);
        await w2.write(Buffer.from('fresh'));
        await w2.commit();
        expect((await d.getContent(p)).toString()).toBe('fresh');
      }));

    it('cancel discards this and earlier sessions and leaves nothing (stat, list, walk, append)', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/cancelled/data`;
        const w1 = await d.writer(p, false);
        await w1.write(contentBytes(8, 100_000));
        await w1.close();
        const w2 = await d.writer(p, true);
        await w2.write(contentBytes(9, 50_000));
        await w2.cancel();
        await expectInvisible(d, root, p);
        await expectStorageError(d.writer(p, true), 'PathNotFound');

        // A writer cancelled before any close, too.
        const w3 = await d.writer(p, false);
        await w3.write(Buffer.from('x'));
        await w3.cancel();
        await expectInvisible(d, root, p);
      }));

    it('a writer cannot be used after commit', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/done`;
        const w = await d.writer(p, false);
        await w.write(Buffer.from('abc'));
        await w.commit();
        await expect(w.write(Buffer.from('def'))).rejects.toThrow();
        expect((await d.getContent(p)).toString()).toBe('abc');
      }));
  });
}
