// Aborting frees everything: readers and writers interrupted by an AbortSignal (or a reader simply
// destroyed) give back their file descriptors and sockets, and an aborted writer publishes nothing.
import { describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../context.js';
import { contentBytes, contentChunks, MiB } from '../content.js';
import { collect, eventually, expectAborted, expectStorageError, openFds, walkPaths } from '../probes.js';
import type { StorageDriver } from '../../types.js';

/** Runs rounds of fn and asserts the process ends with no more descriptors than before (plus slack). */
async function withoutFdLeak(ctx: SuiteContext, fn: (round: number) => Promise<void>): Promise<void> {
  await fn(-1); // warm-up: let pools open the connections they keep anyway
  const before = openFds();
  for (let round = 0; round < ctx.opts.abortRounds; round++) await fn(round);
  const limit = before + ctx.opts.fdSlack;
  await eventually(
    () => openFds() <= limit,
    () => `${openFds()} descriptors open after ${ctx.opts.abortRounds} aborted rounds, ${before} before (slack ${ctx.opts.fdSlack})`,
  );
}

const LARGE_ENOUGH = 8 * MiB; // more than any read-ahead, so the stream is really mid-way

async function seed(d: StorageDriver, p: string): Promise<void> {
  const w = await d.writer(p, false);
  for (const c of contentChunks(51, LARGE_ENOUGH)) await w.write(c);
  await w.commit();
}

export function resourceTests(ctx: SuiteContext): void {
  describe('aborts and resources', () => {
    it('a reader aborted mid-stream errors with AbortError and frees its descriptors', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/blob`;
        await seed(d, p);
        await withoutFdLeak(ctx, async () => {
          const ac = new AbortController();
          const r = await d.reader(p, 0, { signal: ac.signal });
          const it = r[Symbol.asyncIterator]();
          const first = await it.next();
          expect(first.done).toBe(false);
          ac.abort();
          await expectAborted(async () => {
            for (let next = await it.next(); !next.done; next = await it.next());
          });
        });
      }));

    it('a reader destroyed mid-stream (no signal) frees its descriptors', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/blob`;
        await seed(d, p);
        await withoutFdLeak(ctx, async (round) => {
          const r = await d.reader(p, round % 2 ? MiB : 0);
          await new Promise<void>((resolve, reject) => {
            r.once('data', () => {
              r.destroy();
              resolve();
            });
            r.once('error', reject);
          });
          await new Promise((resolve) => r.once('close', resolve));
        });
      }));

    it('a writer aborted mid-way frees its descriptors and leaves nothing visible', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        await withoutFdLeak(ctx, async (round) => {
          const p = `${root}/aborted-${round + 1}`;
          const ac = new AbortController();
          const w = await d.writer(p, false, { signal: ac.signal });
          await w.write(contentBytes(52, MiB));
          // Half of the rounds abort while a write is in flight, half between writes.
          const inFlight = round % 2 === 0 ? w.write(contentBytes(53, 6 * MiB)) : undefined;
          ac.abort();
          if (inFlight) await inFlight.catch(() => undefined);
          await expectAborted(w.write(Buffer.from('after abort')));
          await expectStorageError(d.stat(p), 'PathNotFound');
        });
        expect(await walkPaths(d, root)).toEqual([]);
      }));

    it('a write() aborted through its own signal ends the session and publishes nothing', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/per-call`;
        const w = await d.writer(p, false);
        await w.write(Buffer.from('first'));
        await expectAborted(w.write(Buffer.from('second'), { signal: AbortSignal.abort() }));
        await expect(w.commit()).rejects.toThrow();
        await expectStorageError(d.stat(p), 'PathNotFound');
      }));

    it('calls with an already aborted signal fail with AbortError and change nothing', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/x`;
        await d.putContent(p, Buffer.from('before'));
        const signal = AbortSignal.abort();
        await expectAborted(d.getContent(p, { signal }));
        await expectAborted(d.putContent(p, Buffer.from('after'), { signal }));
        await expectAborted(d.reader(p, 0, { signal }));
        await expectAborted(d.writer(`${root}/y`, false, { signal }));
        await expectAborted(d.stat(p, { signal }));
        await expectAborted(d.list(root, { signal }));
        await expectAborted(d.move(p, `${root}/z`, { signal }));
        await expectAborted(d.delete(p, { signal }));
        await expectAborted(collect(d.walk(root, { signal })));
        expect((await d.getContent(p)).toString()).toBe('before');
        expect(await walkPaths(d, root)).toEqual([p]);
      }));
  });
}
