import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeDriverConformance } from '../../conformance/index.js';
import { contentBytes, contentChunks, contentDigest, streamDigest } from '../../conformance/content.js';
import { expectStorageError, walkPaths } from '../../conformance/probes.js';
import { createDriver } from '../../factory.js';
import { DriverConfigError } from '../../errors.js';
import type { StorageDriver } from '../../types.js';
import { FilesystemDriver } from './driver.js';
import { mapFilesystemError } from './errors.js';
// Only the built-in drivers this file needs: colleagues' cloud drivers are tested on their own.
import '../inmemory/index.js';
import './index.js';

const run = promisify(execFile);
const scratch = mkdtempSync(path.join(tmpdir(), 'kuik-fs-spec-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const conformanceRoot = path.join(scratch, 'conformance');
describeDriverConformance('filesystem', () => createDriver('filesystem', { rootdirectory: conformanceRoot }));

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

/** Runs the child-process fixture: a second registry process sharing the directory. */
async function child(root: string, ...args: string[]): Promise<unknown> {
  const { stdout } = await run(
    process.execPath,
    ['--no-warnings', '--import', path.join(fixtures, 'source-hooks.mjs'), path.join(fixtures, 'fs-writer-child.mjs'), root, ...args],
    { env: { ...process.env, NODE_OPTIONS: '' }, timeout: 120_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? 'null');
}

/** Whether bytes are exactly one complete write of the fixture's "overwrite" command. */
function completeWrite(bytes: Buffer, size: number): boolean {
  if (bytes.length !== size + 8) return false;
  const id = bytes.readUInt32BE(0);
  const round = bytes.readUInt32BE(4);
  return bytes.subarray(8).equals(Buffer.concat([...contentChunks(id * 1_000_003 + round, size, 0, size, 64 * 1024)]));
}

function freshRoot(name: string): string {
  return path.join(scratch, name);
}

describe('filesystem driver', () => {
  it(
    'two processes overwriting one key many times never produce a torn file, and leave no temporary files',
    async () => {
      const root = freshRoot('two-processes');
      const d = await createDriver('filesystem', { rootdirectory: root });
      const key = '/repo/_manifests/tags/latest/current/link';
      const size = 256 * 1024 + 3;
      const rounds = 60;
      let reads = 0;
      let torn = 0;
      let done = false;
      const writers = Promise.all([child(root, 'overwrite', key, '1', String(rounds), String(size)), child(root, 'overwrite', key, '2', String(rounds), String(size))]).finally(
        () => (done = true),
      );
      // Read continuously while both processes write: every read must be one whole write.
      while (!done) {
        try {
          const bytes = await d.getContent(key);
          reads++;
          if (!completeWrite(bytes, size)) torn++;
        } catch (e) {
          await expectStorageError(Promise.reject(e), 'PathNotFound'); // before the first commit only
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(await writers).toEqual([
        { id: 1, rounds },
        { id: 2, rounds },
      ]);
      expect({ reads: reads > 10, torn }).toEqual({ reads: true, torn: 0 });
      const final = await d.getContent(key);
      expect(completeWrite(final, size)).toBe(true);
      expect(final.readUInt32BE(4)).toBe(rounds - 1); // the last write of one of them won
      // Every temporary and session file was renamed into place or removed.
      expect(readdirSync(path.join(root, 'repo/_manifests/tags/latest/current'))).toEqual(['link']);
    },
    120_000,
  );

  it('another process resumes an upload closed by this one, and commits it', async () => {
    const root = freshRoot('resume');
    const d = await createDriver('filesystem', { rootdirectory: root });
    const key = '/uploads/abc/data';
    const w = await d.writer(key, false);
    const first = contentBytes(5, 3_000_001);
    await w.write(first);
    await w.close();
    expect(await child(root, 'append', key, '6', '2000000')).toEqual({ before: first.length, after: first.length + 2_000_000 });
    const got = await streamDigest(await d.reader(key));
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256').update(first);
    for (const c of contentChunks(6, 2_000_000)) h.update(c);
    expect(got).toEqual({ sha256: h.digest('hex'), size: 5_000_001 });
  });

  it('only one of two concurrent reopeners gets the upload; the other finds nothing to append to', async () => {
    const root = freshRoot('reopen-race');
    const [a, b] = [await createDriver('filesystem', { rootdirectory: root }), await createDriver('filesystem', { rootdirectory: root })];
    const w = await a.writer('/u/data', false);
    await w.write(Buffer.from('hello'));
    await w.close();
    const results = await Promise.allSettled([a.writer('/u/data', true), b.writer('/u/data', true)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    await expectStorageError(Promise.reject((lost[0] as PromiseRejectedResult).reason), 'PathNotFound');
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<StorageDriver['writer']>>>).value;
    expect(winner.size).toBe(5);
    await winner.commit();
    expect((await a.getContent('/u/data')).toString()).toBe('hello');
  });

  it('stores keys as plain files under rootdirectory, with uploads in progress hidden', async () => {
    const root = freshRoot('layout');
    const d = await createDriver('filesystem', { rootdirectory: root });
    await d.putContent('/docker/registry/v2/blobs/sha256/ab/abc/data', Buffer.from('blob'));
    expect(readFileSync(path.join(root, 'docker/registry/v2/blobs/sha256/ab/abc/data'), 'utf8')).toBe('blob');
    const w = await d.writer('/docker/registry/v2/blobs/sha256/ab/abc/partial', false);
    await w.write(Buffer.from('part'));
    await w.close();
    const names = readdirSync(path.join(root, 'docker/registry/v2/blobs/sha256/ab/abc')).sort();
    expect(names).toEqual(['.partial~inprogress', 'data']);
    expect(await d.list('/docker/registry/v2/blobs/sha256/ab/abc')).toEqual(['/docker/registry/v2/blobs/sha256/ab/abc/data']);
    expect(await walkPaths(d, '/')).toEqual(['/docker/registry/v2/blobs/sha256/ab/abc/data']);
  });

  it('removes an aborted session’s file and prunes the directories it created', async () => {
    const root = freshRoot('abort-cleanup');
    const d = await createDriver('filesystem', { rootdirectory: root });
    const ac = new AbortController();
    const w = await d.writer('/a/b/c/data', false, { signal: ac.signal });
    await w.write(contentBytes(1, 100_000));
    expect(readdirSync(path.join(root, 'a/b/c'))).toHaveLength(1);
    ac.abort();
    await expect(w.commit()).rejects.toMatchObject({ name: 'AbortError' });
    for (let i = 0; i < 100 && existsSync(path.join(root, 'a')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(root)).toEqual([]);
  });

  it('never resolves a key outside rootdirectory, even when called without the base wrapper', async () => {
    const root = freshRoot('containment');
    const raw = new FilesystemDriver({ rootdirectory: root, sync: false });
    writeFileSync(path.join(scratch, 'outside'), 'secret');
    for (const key of ['/../outside', '/a/../../outside', '/..']) {
      await expectStorageError(raw.getContent(key), 'InvalidPath');
      await expectStorageError(raw.stat(key), 'InvalidPath');
    }
  });

  it('works with sync=false', async () => {
    const d = await createDriver('filesystem', { rootdirectory: freshRoot('nosync'), sync: 'false' });
    const w = await d.writer('/x', false);
    for (const c of contentChunks(3, 1_000_000)) await w.write(c);
    await w.commit();
    expect(await streamDigest(await d.reader('/x'))).toEqual(contentDigest(3, 1_000_000));
  });

  describe('configuration', () => {
    const configError = async (params: Record<string, unknown>) => {
      const e = await createDriver('filesystem', params).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(DriverConfigError);
      return e as DriverConfigError;
    };

    it('rejects a relative rootdirectory, naming the key', async () => {
      const e = await configError({ rootdirectory: 'var/lib/registry' });
      expect(e.key).toBe('rootdirectory');
      expect(e.message).toBe('storage.filesystem.rootdirectory: must be an absolute path, got "var/lib/registry"');
    });

    it('rejects a rootdirectory that is a file', async () => {
      const file = path.join(scratch, 'a-file');
      writeFileSync(file, 'x');
      const e = await configError({ rootdirectory: file });
      expect(e.key).toBe('rootdirectory');
      expect(e.message).toContain(file);
    });

    it('rejects bad values and unknown keys, naming them', async () => {
      expect((await configError({ rootdirectory: scratch, sync: 'maybe' })).key).toBe('sync');
      expect((await configError({ rootdirectory: scratch, maxthreads: 'lots' })).key).toBe('maxthreads');
      const unknown = await configError({ rootdirectory: scratch, rootdir: '/x' });
      expect(unknown.key).toBe('rootdir');
      expect(unknown.message).toContain('rootdirectory');
    });

    it('accepts distribution’s maxthreads and creates a missing rootdirectory', async () => {
      const root = path.join(scratch, 'created/deeply');
      const d = await createDriver('filesystem', { rootdirectory: root, maxthreads: 100 });
      await d.putContent('/k', Buffer.from('v'));
      expect(readFileSync(path.join(root, 'k'), 'utf8')).toBe('v');
    });

    it('names the known drivers when asked for an unknown one', async () => {
      const e = await createDriver('nope').catch((err: unknown) => err);
      expect(e).toBeInstanceOf(DriverConfigError);
      expect((e as Error).message).toMatch(/unknown storage driver "nope" \(known: .*filesystem.*inmemory/);
    });
  });

  describe('error mapping', () => {
    const sys = (code: string, syscall = 'open') => Object.assign(new Error(code), { code, syscall });
    it.each([
      ['ENOENT', 'PathNotFound'],
      ['ENOTDIR', 'PathNotFound'],
      ['EISDIR', 'PathNotFound'],
      ['ENAMETOOLONG', 'InvalidPath'],
      ['EMFILE', 'Transient'],
      ['ENFILE', 'Transient'],
      ['EAGAIN', 'Transient'],
      ['EBUSY', 'Transient'],
      ['ESTALE', 'Transient'],
    ])('%s → %s', (code, want) => {
      const e = mapFilesystemError(sys(code), '/k');
      expect(e).toMatchObject({ code: want, driver: 'filesystem' });
      expect(e?.message).toContain('/k');
    });

    it('maps EINVAL to InvalidOffset only for reads, and leaves unknown errors to the base wrapper', () => {
      expect(mapFilesystemError(sys('EINVAL', 'read'), '/k')?.code).toBe('InvalidOffset');
      expect(mapFilesystemError(sys('EINVAL', 'rename'), '/k')).toBeUndefined();
      expect(mapFilesystemError(sys('ENOSPC', 'write'), '/k')).toBeUndefined();
      expect(mapFilesystemError(new Error('plain'), '/k')).toBeUndefined();
    });

    it('reports ENOENT from the disk as PathNotFound through the wrapper, naming the key not the file', async () => {
      const d = await createDriver('filesystem', { rootdirectory: freshRoot('mapping') });
      const e = await expectStorageError(d.getContent('/missing/key'), 'PathNotFound');
      expect(e.message).toBe('filesystem: path not found: /missing/key');
    });
  });
});
