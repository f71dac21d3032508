import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
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
import { parseFilesystemConfig } from './config.js';
// Only the built-in drivers this file needs: colleagues' cloud drivers are tested on their own.
import '../inmemory/index.js';
import './index.js';

const run = promisify(execFile);
const scratch = mkdtempSync(path.join(tmpdir(), 'kuik-fs-spec-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const conformanceRoot = path.join(scratch, 'conformance');
describeDriverConformance('filesystem', () => createDriver('filesystem', { rootdirectory: conformanceRoot }));

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

const childArgs = (root: string, args: string[]) => ['--no-warnings', '--import', path.join(fixtures, 'source-hooks.mjs'), path.join(fixtures, 'fs-writer-child.mjs'), root, ...args];
const childEnv = { ...process.env, NODE_OPTIONS: '' };

/** Runs the child-process fixture: a second registry process sharing the directory. */
async function child(root: string, ...args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, childArgs(root, args), { env: childEnv, timeout: 120_000 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? 'null');
}

const holders = new Set<ChildProcess>();
afterAll(() => holders.forEach((c) => c.kill('SIGKILL')));

interface Holder {
  process: ChildProcess;
  /** What the writer held once open and written: {before, size}. */
  opened: Record<string, unknown>;
  /** Sends one step ("write <seed> <size>", "close") and returns the answer ({size} or {error}). */
  step(line: string): Promise<Record<string, unknown>>;
}

/** The fixture's "hold": another process with an open writer, to kill or stop mid-session. */
async function holder(root: string, key: string, append: boolean, seed: number, size: number, sessiontimeout: string): Promise<Holder> {
  const args = ['hold', key, append ? '1' : '0', String(seed), String(size), sessiontimeout];
  const proc = spawn(process.execPath, childArgs(root, args), { env: childEnv, stdio: ['pipe', 'pipe', 'inherit'] });
  holders.add(proc);
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the holder process ended');
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  return {
    process: proc,
    opened: await next(),
    step: (line) => (proc.stdin!.write(`${line}\n`), next()),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sha256(...parts: Iterable<Uint8Array>[]): string {
  const h = createHash('sha256');
  for (const part of parts) for (const c of part) h.update(c);
  return h.digest('hex');
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
    expect(got).toEqual({ sha256: sha256([first], contentChunks(6, 2_000_000)), size: 5_000_001 });
  });

  it('only one of two concurrent reopeners gets the upload; the other is told to retry', async () => {
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
    // The winner holds it now: the upload exists, it is just busy.
    await expectStorageError(Promise.reject((lost[0] as PromiseRejectedResult).reason), 'Transient');
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
    const raw = new FilesystemDriver({ rootdirectory: root, sync: false, sessiontimeout: 60_000 });
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

  describe('sessions of writers that died or stalled', () => {
    it(
      'takes over the session of a killed process once it is older than sessiontimeout, keeping its bytes',
      async () => {
        const root = freshRoot('takeover-killed');
        const d = await createDriver('filesystem', { rootdirectory: root, sessiontimeout: '1s' });
        const key = '/uploads/killed/data';
        const w = await d.writer(key, false);
        for (const c of contentChunks(1, 1_000_001)) await w.write(c);
        await w.close();
        const h = await holder(root, key, true, 2, 700_000, '1s');
        expect(h.opened).toEqual({ before: 1_000_001, size: 1_700_001 });
        h.process.kill('SIGKILL');
        await new Promise((r) => h.process.once('exit', r));

        // Just killed: its session still looks alive, and the reopen says so instead of "not found".
        const busy = await expectStorageError(d.writer(key, true), 'Transient');
        expect(busy.message).toMatch(/is being written by another writer .*retry .* in \d+\.\d s if that writer died/);
        let resumed: Awaited<ReturnType<StorageDriver['writer']>> | undefined;
        for (let i = 0; i < 100 && !resumed; i++) {
          await sleep(50);
          try {
            resumed = await d.writer(key, true);
          } catch (e) {
            await expectStorageError(Promise.reject(e), 'Transient'); // until the session is old enough
          }
        }
        expect(resumed?.size).toBe(1_700_001);
        for (const c of contentChunks(3, 300_000)) await resumed!.write(c);
        await resumed!.commit();
        expect(await streamDigest(await d.reader(key))).toEqual({
          sha256: sha256(contentChunks(1, 1_000_001), contentChunks(2, 700_000), contentChunks(3, 300_000)),
          size: 2_000_001,
        });
        expect(readdirSync(path.join(root, 'uploads/killed'))).toEqual(['data']);
      },
      60_000,
    );

    it('keeps an idle open writer alive with its heartbeat: a reopen is told to retry, and works after close', async () => {
      const root = freshRoot('heartbeat');
      const [a, b] = [
        await createDriver('filesystem', { rootdirectory: root, sessiontimeout: '400ms' }),
        await createDriver('filesystem', { rootdirectory: root, sessiontimeout: '400ms' }),
      ];
      const w = await a.writer('/u/data', false);
      await w.write(Buffer.from('abc'));
      await sleep(1_500); // idle for several timeouts
      const busy = await expectStorageError(b.writer('/u/data', true), 'Transient');
      expect(busy.message).toContain('is being written by another writer');
      await w.write(Buffer.from('def'));
      await w.close();
      const next = await b.writer('/u/data', true);
      expect(next.size).toBe(6);
      await next.commit();
      expect((await a.getContent('/u/data')).toString()).toBe('abcdef');
    });

    it('lets exactly one of several concurrent reopeners take over an abandoned session', async () => {
      const root = freshRoot('takeover-race');
      // What a killed process leaves: its bytes under its private session name, nothing in progress.
      const dir = path.join(root, 'u');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, '.data~session-0123456789abcdef'), 'abandoned');
      await sleep(300);
      const drivers = await Promise.all([1, 2, 3].map(() => createDriver('filesystem', { rootdirectory: root, sessiontimeout: '200ms' })));
      const results = await Promise.allSettled(drivers.map((d) => d.writer('/u/data', true)));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const r of lost) await expectStorageError(Promise.reject(r.reason), 'Transient');
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<StorageDriver['writer']>>>).value;
      expect(winner.size).toBe(9);
      await winner.write(Buffer.from(', resumed'));
      await winner.commit();
      expect((await drivers[0]!.getContent('/u/data')).toString()).toBe('abandoned, resumed');
      expect(readdirSync(dir)).toEqual(['data']);
    });

    it(
      'fails a stalled writer whose session was taken over, on write and on close, without touching the new holder’s file',
      async () => {
        const root = freshRoot('takeover-stalled');
        const d = await createDriver('filesystem', { rootdirectory: root, sessiontimeout: '400ms' });
        const key = '/uploads/stalled/data';
        const h = await holder(root, key, false, 4, 200_000, '400ms');
        expect(h.opened).toEqual({ before: 0, size: 200_000 });
        h.process.kill('SIGSTOP'); // stalled, not dead: it will come back
        await sleep(1_200);
        const w = await d.writer(key, true);
        expect(w.size).toBe(200_000);
        for (const c of contentChunks(5, 100_000)) await w.write(c);

        h.process.kill('SIGCONT');
        expect((await h.step('write 6 50000')).error).toMatch(/^StorageError\(Transient\): filesystem: the writer of .* lost its session/);
        expect((await h.step('close')).error).toMatch(/lost its session/);
        // Its bytes went nowhere, and nothing was renamed: the new holder's session is intact.
        const [session] = readdirSync(path.join(root, 'uploads/stalled'));
        expect(session).toMatch(/^\.data~session-[0-9a-f]{16}$/);
        expect(readFileSync(path.join(root, 'uploads/stalled', session!)).length).toBe(300_000);
        await w.commit();
        expect(await streamDigest(await d.reader(key))).toEqual({ sha256: sha256(contentChunks(4, 200_000), contentChunks(5, 100_000)), size: 300_000 });
        expect(readdirSync(path.join(root, 'uploads/stalled'))).toEqual(['data']);
      },
      60_000,
    );
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
      const soon = await configError({ rootdirectory: scratch, sessiontimeout: 'soon' });
      expect(soon.message).toBe('storage.filesystem.sessiontimeout: must be a duration like 60s, 1m30s or 500ms, got "soon"');
      expect((await configError({ rootdirectory: scratch, sessiontimeout: '50ms' })).message).toContain('at least 100ms');
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

    it('reads sessiontimeout as a duration or seconds, 60 s by default', async () => {
      const timeout = async (v?: unknown) => (await parseFilesystemConfig({ rootdirectory: scratch, sessiontimeout: v })).sessiontimeout;
      expect(await timeout()).toBe(60_000);
      expect(await timeout('1m30s')).toBe(90_000);
      expect(await timeout('250ms')).toBe(250);
      expect(await timeout('2')).toBe(2_000);
      expect(await timeout(1.5)).toBe(1_500);
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
