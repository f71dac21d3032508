// list, walk and stat of directories: lexical order of full paths (where '-' and '.' sort before
// '/'), thousands of keys (past any backend's page size), resumable walks.
import { describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../context.js';
import { collect, expectDate, expectRecentDate, expectStorageError, inParallel, walkPaths } from '../probes.js';

const lexical = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function listingTests(ctx: SuiteContext): void {
  describe('list, walk and directories', () => {
    it('walks in lexical order of full paths and lists direct children sorted', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const t = `${root}/t`;
        // A naive depth-first walk yields a/b before a-c; lexical order is a-c, a.d, a/b, a0.
        const rel = ['a/b', 'a/b.c', 'a/x/y', 'a-c', 'a.d', 'a0', 'B', '_z', 'z/z/z/deep', 'zz'];
        const files = rel.map((r) => `${t}/${r}`);
        await inParallel(files, 8, (p, i) => d.putContent(p, Buffer.alloc(i + 1, i)));
        const sorted = [...files].sort(lexical);

        const walked = await collect(d.walk(t));
        expect(walked.map((f) => f.path)).toEqual(sorted);
        for (const f of walked) {
          expect(f.isDir).toBe(false);
          expect(f.size).toBe(files.indexOf(f.path) + 1);
          expectRecentDate(f.modTime);
        }
        expect(await walkPaths(d, root)).toEqual(sorted);
        expect(await d.list(t)).toEqual(['B', '_z', 'a', 'a-c', 'a.d', 'a0', 'z', 'zz'].map((n) => `${t}/${n}`).sort(lexical));
        expect(await d.list(`${t}/a`)).toEqual([`${t}/a/b`, `${t}/a/b.c`, `${t}/a/x`]);
        expect(await d.list(`${t}/z/z`)).toEqual([`${t}/z/z/z`]);
        expect(await d.list(root)).toEqual([t]);
        expect(await d.list('/')).toContain(root);

        // Resume after every key and after paths that are not keys (directories, gaps, prefixes).
        const starts = [...sorted, root, t, `${t}/a`, `${t}/a/`, `${t}/a/c`, `${t}/a/x`, `${t}/A`, `${t}/zzz`, '/'];
        for (const after of starts) {
          expect({ after, paths: await walkPaths(d, t, after) }).toEqual({ after, paths: sorted.filter((p) => p > after) });
        }
      }));

    it('stat of a directory, of a file, and of the root', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        await d.putContent(`${root}/dir/sub/file`, Buffer.from('12345'));
        for (const dir of [root, `${root}/dir`, `${root}/dir/sub`]) {
          const info = await d.stat(dir);
          expect(info).toMatchObject({ path: dir, isDir: true, size: 0 });
          expectDate(info.modTime);
        }
        expect(await d.stat(`${root}/dir/sub/file`)).toMatchObject({ path: `${root}/dir/sub/file`, isDir: false, size: 5 });
        expect((await d.stat('/')).isDir).toBe(true);
        // A sibling that only shares a name prefix is not a directory entry.
        await expectStorageError(d.stat(`${root}/di`), 'PathNotFound');
        await expectStorageError(d.stat(`${root}/dir/su`), 'PathNotFound');
      }));

    it('list of a missing directory, or of a file, is PathNotFound; walk of either yields nothing', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        await d.putContent(`${root}/file`, Buffer.from('x'));
        await expectStorageError(d.list(`${root}/nothing`), 'PathNotFound');
        await expectStorageError(d.list(`${root}/file`), 'PathNotFound');
        await expectStorageError(d.list(`${root}/fil`), 'PathNotFound');
        expect(await walkPaths(d, `${root}/nothing`)).toEqual([]);
        expect(await walkPaths(d, `${root}/file`)).toEqual([]);
        expect(await walkPaths(d, `${root}/fil`)).toEqual([]);
      }));

    it(
      'lists and walks thousands of keys in one directory (pagination), resumes, and deletes them as a prefix',
      () =>
        ctx.withRoot(async (root) => {
          const d = ctx.driver();
          const n = ctx.opts.manyKeys;
          const dir = `${root}/many`;
          // Unpadded numbers: lexical order (k10 < k2) differs from numeric order.
          const keys = Array.from({ length: n }, (_, i) => `${dir}/k${i}`);
          await inParallel(keys, 32, (p, i) => d.putContent(p, Buffer.from(String(i))));
          const sorted = [...keys].sort(lexical);

          expect(await d.list(dir)).toEqual(sorted);
          const walked = await collect(d.walk(root));
          expect(walked.map((f) => f.path)).toEqual(sorted);
          const sizeOf = new Map(keys.map((k, i) => [k, String(i).length]));
          expect(walked.filter((f) => f.isDir || f.size !== sizeOf.get(f.path))).toEqual([]);
          for (const at of [0, Math.floor(n / 2), n - 2, n - 1]) {
            const rest = await walkPaths(d, root, sorted[at]);
            expect({ at, first: rest[0], count: rest.length }).toEqual({ at, first: sorted[at + 1], count: n - at - 1 });
          }

          await d.delete(dir);
          expect(await walkPaths(d, root)).toEqual([]);
          await expectStorageError(d.list(dir), 'PathNotFound');
          await expectStorageError(d.stat(dir), 'PathNotFound');
          await expectStorageError(d.stat(keys[0]), 'PathNotFound');
        }),
      180_000,
    );
  });
}
