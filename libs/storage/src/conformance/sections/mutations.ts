// move and delete: new and existing destinations, missing sources, single files and prefixes,
// and prefixes that must not take their name-sharing siblings with them.
import { describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../context.js';
import { contentBytes } from '../content.js';
import { expectStorageError, walkPaths } from '../probes.js';

export function mutationTests(ctx: SuiteContext): void {
  describe('move and delete', () => {
    it('moves to a new destination (creating its directories) and removes the source', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const src = `${root}/uploads/u/data`;
        const dest = `${root}/blobs/sha256/ab/abcdef/data`;
        const bytes = contentBytes(41, 70_001);
        await d.putContent(src, bytes);
        await d.move(src, dest);
        expect((await d.getContent(dest)).equals(bytes)).toBe(true);
        await expectStorageError(d.stat(src), 'PathNotFound');
        await expectStorageError(d.list(`${root}/uploads/u`), 'PathNotFound');
        expect(await walkPaths(d, root)).toEqual([dest]);
      }));

    it('moves over an existing destination, replacing it', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        await d.putContent(`${root}/a`, Buffer.from('new content'));
        await d.putContent(`${root}/b`, contentBytes(42, 100_000));
        await d.move(`${root}/a`, `${root}/b`);
        expect((await d.getContent(`${root}/b`)).toString()).toBe('new content');
        expect((await d.stat(`${root}/b`)).size).toBe(11);
        expect(await walkPaths(d, root)).toEqual([`${root}/b`]);
      }));

    it('moving a missing source is PathNotFound and leaves the destination alone', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        await d.putContent(`${root}/dest`, Buffer.from('keep'));
        const e = await expectStorageError(d.move(`${root}/missing`, `${root}/dest`), 'PathNotFound');
        expect(e.message).toContain(`${root}/missing`);
        expect((await d.getContent(`${root}/dest`)).toString()).toBe('keep');
        await expectStorageError(d.move(`${root}/missing`, `${root}/new`), 'PathNotFound');
        await expectStorageError(d.stat(`${root}/new`), 'PathNotFound');
      }));

    it('deletes a single file; deleting it again is PathNotFound', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        await d.putContent(`${root}/dir/one`, Buffer.from('1'));
        await d.putContent(`${root}/dir/two`, Buffer.from('2'));
        await d.delete(`${root}/dir/one`);
        await expectStorageError(d.stat(`${root}/dir/one`), 'PathNotFound');
        expect(await d.list(`${root}/dir`)).toEqual([`${root}/dir/two`]);
        await expectStorageError(d.delete(`${root}/dir/one`), 'PathNotFound');
        await expectStorageError(d.delete(`${root}/never`), 'PathNotFound');
      }));

    it('deletes a prefix with everything under it, but not siblings sharing its name as a prefix', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const doomed = [`${root}/repo/a`, `${root}/repo/sub/b`, `${root}/repo/sub/deeper/c`];
        const kept = [`${root}/repo-other/x`, `${root}/repo.x`, `${root}/repository/y`, `${root}/rep`];
        for (const p of [...doomed, ...kept]) await d.putContent(p, Buffer.from(p));
        await d.delete(`${root}/repo`);
        for (const p of doomed) await expectStorageError(d.stat(p), 'PathNotFound');
        await expectStorageError(d.stat(`${root}/repo`), 'PathNotFound');
        await expectStorageError(d.list(`${root}/repo`), 'PathNotFound');
        expect(await walkPaths(d, root)).toEqual([...kept].sort());
        for (const p of kept) expect((await d.getContent(p)).toString()).toBe(p);
        await expectStorageError(d.delete(`${root}/repo`), 'PathNotFound');
      }));
  });
}
