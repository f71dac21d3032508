// Many operations in flight at once on one driver instance: nothing is lost, mixed up or refused.
import { describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../context.js';
import { contentBytes, contentDigest, digestOf, streamDigest } from '../content.js';
import { walkPaths } from '../probes.js';

export function concurrencyTests(ctx: SuiteContext): void {
  describe('concurrency', () => {
    it('runs many parallel putContent, getContent, stat, reader, writer and delete calls', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const n = ctx.opts.concurrency;
        const ids = Array.from({ length: n }, (_, i) => i);
        const small = (i: number) => `${root}/small/${i}`;
        const big = (i: number) => `${root}/big/${i}`;
        const sizeOf = (i: number) => 1000 + i * 997;

        await Promise.all(ids.map((i) => d.putContent(small(i), contentBytes(100 + i, sizeOf(i)))));
        const results = await Promise.all(
          ids.map(async (i) => ({
            i,
            content: digestOf(await d.getContent(small(i))),
            size: (await d.stat(small(i))).size,
            streamed: await streamDigest(await d.reader(small(i), 1)),
          })),
        );
        for (const r of results) {
          expect(r).toEqual({
            i: r.i,
            content: contentDigest(100 + r.i, sizeOf(r.i)),
            size: sizeOf(r.i),
            streamed: contentDigest(100 + r.i, sizeOf(r.i), 1),
          });
        }

        // Parallel writers, each in three chunks, interleaving on the event loop.
        await Promise.all(
          ids.map(async (i) => {
            const w = await d.writer(big(i), false);
            for (let part = 0; part < 3; part++) await w.write(contentBytes(200 + i, 3 * 50_000, part * 50_000, 50_000));
            await w.commit();
          }),
        );
        const bigDigests = await Promise.all(ids.map(async (i) => streamDigest(await d.reader(big(i)))));
        bigDigests.forEach((got, i) => expect(got).toEqual(contentDigest(200 + i, 3 * 50_000)));

        await Promise.all(ids.map((i) => d.delete(small(i))));
        expect(await walkPaths(d, `${root}/small`)).toEqual([]);
        expect((await walkPaths(d, `${root}/big`)).length).toBe(n);
      }));
  });
}
