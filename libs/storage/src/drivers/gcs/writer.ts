// Appending writers over composed part objects, resumable by any process.
//
// Why not resumable-upload sessions with the session URI kept in a side object (what distribution
// does)? A session can only take chunks that are multiples of 256 KiB until its final one, so the
// tail of a close() would need a side object anyway, and a crash between a chunk and the update of
// that side object can only be repaired by asking the session for its committed offset. That query
// (PUT with "Content-Range: bytes */*") is exactly what fake-gcs-server cannot do: it ignores the
// range, treats the empty PUT as the final chunk and publishes the object half-written; it also
// ignores chunk offsets, so a replayed chunk is appended twice. The tests must run against it, so:
//
//   - every full buffer (chunksize, 16 MiB by default; the most a writer holds in memory) and the
//     rest at each close() is uploaded as its own object, "part" n, at
//     layout.partKey(path, n) = <root>~kuik/uploads/<path>/~part-00000001, ... in one request: a part
//     exists whole or not at all, and the list of parts *is* the writer's state — no side object to
//     keep in step with it, nothing to repair after a crash;
//   - writer(path, append=true) lists the parts (numbers must run 1..n), size = the sum of theirs;
//   - commit() composes the parts into the path. Compose takes at most 32 sources, so more parts are
//     composed in rounds into temporaries (32 → 1) first; the last compose writes the path, which
//     appears atomically (a new generation, as any upload). Parts and temporaries are deleted after.
//     Content that never needed a part (no close(), under chunksize) is one plain upload instead;
//   - cancel() and writer(path, false) delete everything under layout.uploadPrefix(path); deleting a
//     directory drops the in-progress writes under it too (layout.uploadTreePrefix).
//
// Works the same on GCS (compose transfers no data there, and composite objects have no component
// limit that matters here) and on fake-gcs-server (which concatenates in memory: there a commit
// costs about as much as uploading the object again). On buckets with soft delete (GCS's default
// 7-day retention) the deleted parts are billed for that retention: use a bucket without soft delete,
// or accept up to twice the storage for recent uploads.
import type { Bucket } from '@google-cloud/storage';
import { PathNotFoundError, StorageError } from '../../errors.js';
import type { CallOptions, FileWriter } from '../../types.js';
import { inParallel } from '../object-store/abort.js';
import { ChunkBuffer, WriterSession } from '../object-store/writer.js';
import { untilAborted } from './abort.js';
import { GCS, type GcsConfig } from './config.js';
import type { KeyLayout } from './keys.js';
import { deleteNames, deletePrefix, listNames, putObject } from './objects.js';

/** What the writer shares with the driver. */
export interface GcsContext {
  readonly cfg: GcsConfig;
  readonly bucket: Bucket;
  readonly layout: KeyLayout;
}

interface Part {
  n: number;
  name: string;
  size: number;
}

/** GCS compose takes 1 to 32 source objects per call. */
export const MAX_COMPOSE_SOURCES = 32;
const COMPOSE_CONCURRENCY = 8;

export async function openWriter(ctx: GcsContext, path: string, append: boolean, signal?: AbortSignal): Promise<FileWriter> {
  if (!append) {
    await deletePrefix(ctx.bucket, ctx.layout.uploadPrefix(path), signal);
    return new GcsWriter(ctx, path, signal, []);
  }
  const parts = await listParts(ctx, path, signal);
  if (parts.length === 0) throw new PathNotFoundError(GCS, path);
  return new GcsWriter(ctx, path, signal, parts);
}

async function listParts(ctx: GcsContext, path: string, signal?: AbortSignal): Promise<Part[]> {
  const parts: Part[] = [];
  for (const o of await listNames(ctx.bucket, ctx.layout.partPrefix(path), signal)) {
    const n = ctx.layout.partNumber(path, o.name);
    if (n !== null) parts.push({ n, name: o.name, size: o.size });
  }
  parts.sort((a, b) => a.n - b.n);
  parts.forEach((p, i) => {
    if (p.n !== i + 1) {
      throw new StorageError('Unknown', GCS, `${GCS}: the in-progress write of ${path} lacks part ${i + 1}: start it afresh`, { path });
    }
  });
  return parts;
}

class GcsWriter implements FileWriter {
  private readonly parts: Part[];
  private partsBytes: number;
  private readonly buffer: ChunkBuffer;
  private readonly session: WriterSession;

  constructor(
    private readonly ctx: GcsContext,
    private readonly path: string,
    sessionSignal: AbortSignal | undefined,
    parts: Part[],
  ) {
    this.parts = parts;
    this.partsBytes = parts.reduce((n, p) => n + p.size, 0);
    this.buffer = new ChunkBuffer(ctx.cfg.chunkSize);
    this.session = new WriterSession(GCS, path, sessionSignal, this.buffer);
  }

  get size(): number {
    return this.partsBytes + this.buffer.length;
  }

  write(chunk: Uint8Array, options?: CallOptions): Promise<void> {
    return this.session.run(options, false, (signal) => this.buffer.append(chunk, () => this.uploadPart(signal)));
  }

  close(options?: CallOptions): Promise<void> {
    // An empty part still records that a write is in progress (reopenable with size 0).
    return this.session.run(options, true, async (signal) => {
      if (this.buffer.length > 0 || this.parts.length === 0) await this.uploadPart(signal);
    });
  }

  commit(options?: CallOptions): Promise<void> {
    return this.session.run(options, true, async (signal) => {
      const { bucket, layout } = this.ctx;
      const dest = layout.key(this.path);
      if (this.parts.length === 0) {
        await putObject(bucket, dest, this.buffer.bytes, signal);
        return;
      }
      if (this.buffer.length > 0) await this.uploadPart(signal);
      const temporaries = await this.compose(dest, signal);
      // The content is published; what is left is litter that a later writer(path, false), cancel()
      // or delete of a parent directory removes, so a failure here does not fail the commit.
      await deleteNames(bucket, [...this.parts.map((p) => p.name), ...temporaries], signal).catch(() => undefined);
    });
  }

  cancel(options?: CallOptions): Promise<void> {
    // Every part at this path, including ones this writer never saw.
    return this.session.run(options, true, (signal) => deletePrefix(this.ctx.bucket, this.ctx.layout.uploadPrefix(this.path), signal));
  }

  /** Composes the parts into dest, in rounds of at most 32 sources; returns the temporaries made. */
  private async compose(dest: string, signal: AbortSignal | undefined): Promise<string[]> {
    const { bucket, layout } = this.ctx;
    const temporaries: string[] = [];
    let sources = this.parts.map((p) => p.name);
    for (let round = 1; sources.length > MAX_COMPOSE_SOURCES; round++) {
      const groups: string[][] = [];
      for (let i = 0; i < sources.length; i += MAX_COMPOSE_SOURCES) groups.push(sources.slice(i, i + MAX_COMPOSE_SOURCES));
      const next: string[] = groups.map((g, i) => (g.length === 1 ? g[0] : layout.composeKey(this.path, round, i)));
      await inParallel(
        groups.map((g, i) => ({ g, target: next[i] })),
        COMPOSE_CONCURRENCY,
        async ({ g, target }) => {
          if (g.length === 1) return;
          await untilAborted(bucket.combine(g, target), signal);
          temporaries.push(target);
        },
      );
      sources = next;
    }
    await untilAborted(bucket.combine(sources, dest), signal);
    return temporaries;
  }

  /** Uploads the buffer as the next part and empties it. */
  private async uploadPart(signal: AbortSignal | undefined): Promise<void> {
    const n = this.parts.length + 1;
    const name = this.ctx.layout.partKey(this.path, n);
    await putObject(this.ctx.bucket, name, this.buffer.bytes, signal);
    this.parts.push({ n, name, size: this.buffer.length });
    this.partsBytes += this.buffer.length;
    this.buffer.clear();
  }
}
