// Appending writers over block blobs, resumable by any process.
//
//   - Blocks are staged on the destination blob itself. Staged blocks are uncommitted: readers of
//     the blob (and listings) keep seeing what was committed before, or nothing; commit() is one
//     Put Block List, which replaces the blob atomically.
//   - Block ids are "kuik-<session>-<seq>" (same length for every block, as Azure requires), seq
//     zero-padded from 0. Azure lists uncommitted blocks in no guaranteed order, so the order is
//     rebuilt from seq; <session> (random per writer(path, false)) tells this upload's blocks from
//     those of earlier, abandoned ones on the same blob.
//   - One small state blob at layout.stateKey(path) names the session and what the last close()
//     had staged (blocks, bytes). It is what makes a write "in progress": writer(path, true) needs
//     it, writer(path, false) and cancel() delete it (and with it the session's claim on its blocks).
//     A reopen takes the session's blocks 0..n (n at least the recorded count, more when the writer
//     staged blocks after its last close before dying); fewer means they are gone — Azure discards
//     uncommitted blocks 7 days after the last one was staged, and whenever anyone commits or
//     uploads that blob — and the reopen fails rather than continue a hole.
//   - A writer buffers up to one block (BLOCK_SIZE) in memory; close() stages what it holds as a
//     (possibly short) block: blocks have no minimum size, so there is no tail to keep elsewhere.
//   - Content that never needed a block (no close(), under BLOCK_SIZE) is committed with one Put Blob.
//   - cancel() cannot drop the uncommitted blocks themselves: there is no API for that short of
//     committing. Committing an empty list would publish an empty blob where none existed (a reader
//     or a listing could see it before the delete that follows) or destroy the committed content
//     where one did; so the blocks are left to Azure, which discards them at the next commit of the
//     blob or after 7 days. Only the state blob goes.
import { type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { PathNotFoundError, StorageError } from '../../errors.js';
import type { CallOptions, FileWriter } from '../../types.js';
import { ChunkBuffer, WriterSession } from '../object-store/writer.js';
import { AZURE, MiB, type AzureConfig } from './config.js';
import { isNotFound } from './errors.js';
import type { KeyLayout } from './keys.js';

/** What the writer shares with the driver. */
export interface AzureContext {
  readonly cfg: AzureConfig;
  readonly container: ContainerClient;
  readonly layout: KeyLayout;
}

/** Bytes per staged block, which is also the most a writer buffers in memory. */
export const BLOCK_SIZE = 8 * MiB;
/** Azure commits at most 50,000 blocks per blob (8 MiB blocks: up to ~390 GiB). */
const MAX_BLOCKS = 50_000;
const SEQ_DIGITS = 6;

interface WriterState {
  v: 1;
  session: string;
  /** Blocks and bytes staged when the state was last written (at close()). */
  blocks: number;
  size: number;
}

function blockId(session: string, seq: number): string {
  return Buffer.from(`kuik-${session}-${String(seq).padStart(SEQ_DIGITS, '0')}`).toString('base64');
}

/** The seq of a block of this session, or null for anything else. */
function blockSeq(session: string, id: string): number | null {
  const m = /^kuik-([0-9a-f]+)-(\d+)$/.exec(Buffer.from(id, 'base64').toString('latin1'));
  return m && m[1] === session ? Number(m[2]) : null;
}

export async function openWriter(ctx: AzureContext, path: string, append: boolean, signal?: AbortSignal): Promise<FileWriter> {
  const blob = ctx.container.getBlockBlobClient(ctx.layout.key(path));
  const state = ctx.container.getBlockBlobClient(ctx.layout.stateKey(path));
  if (!append) {
    await state.deleteIfExists({ abortSignal: signal });
    return new AzureWriter(path, blob, state, signal, { session: randomBytes(8).toString('hex'), blocks: [], stateStored: false });
  }
  const saved = await readState(state, signal);
  if (!saved) throw new PathNotFoundError(AZURE, path);
  const blocks = await sessionBlocks(blob, saved.session, 'uncommitted', signal);
  if (blocks.length < saved.blocks) {
    if (blocks.length === 0 && (await sessionBlocks(blob, saved.session, 'committed', signal)).length > 0) {
      // A commit went through but its clean-up did not: nothing is in progress.
      await state.deleteIfExists({ abortSignal: signal });
      throw new PathNotFoundError(AZURE, path);
    }
    throw new StorageError(
      'Unknown',
      AZURE,
      `${AZURE}: the in-progress write of ${path} lost its staged blocks (${blocks.length} of ${saved.blocks} left): ` +
        'Azure discards uncommitted blocks after 7 days, or when the blob is committed or uploaded by another writer; start it afresh',
      { path },
    );
  }
  const recorded = blocks.slice(0, saved.blocks).reduce((n, b) => n + b.size, 0);
  if (recorded !== saved.size) {
    throw new StorageError('Unknown', AZURE, `${AZURE}: the in-progress write of ${path} has ${recorded} bytes in its first ${saved.blocks} blocks, ${saved.size} recorded: start it afresh`, { path });
  }
  return new AzureWriter(path, blob, state, signal, { session: saved.session, blocks, stateStored: true });
}

async function readState(state: BlockBlobClient, signal?: AbortSignal): Promise<WriterState | undefined> {
  let text: string;
  try {
    text = (await state.downloadToBuffer(0, undefined, { abortSignal: signal })).toString('utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const s = JSON.parse(text) as Partial<WriterState>;
  if (s.v !== 1 || typeof s.session !== 'string' || !Number.isSafeInteger(s.blocks) || !Number.isSafeInteger(s.size)) {
    throw new StorageError('Unknown', AZURE, `${AZURE}: unreadable writer state at ${state.name}`);
  }
  return s as WriterState;
}

interface Block {
  id: string;
  size: number;
}

/** The session's blocks of one list, in seq order from 0, up to the first gap. */
async function sessionBlocks(blob: BlockBlobClient, session: string, list: 'uncommitted' | 'committed', signal?: AbortSignal): Promise<Block[]> {
  let res;
  try {
    res = await blob.getBlockList(list, { abortSignal: signal });
  } catch (err) {
    if (isNotFound(err)) return []; // no blob and no staged block at all
    throw err;
  }
  const bySeq = new Map<number, Block>();
  for (const b of (list === 'uncommitted' ? res.uncommittedBlocks : res.committedBlocks) ?? []) {
    const seq = blockSeq(session, b.name);
    if (seq !== null) bySeq.set(seq, { id: b.name, size: b.size });
  }
  const out: Block[] = [];
  for (let seq = 0; bySeq.has(seq); seq++) out.push(bySeq.get(seq) as Block);
  return out;
}

class AzureWriter implements FileWriter {
  private readonly sessionId: string;
  private readonly blocks: Block[];
  private blocksBytes: number;
  private stateStored: boolean;
  private readonly buffer = new ChunkBuffer(BLOCK_SIZE);
  private readonly session: WriterSession;

  constructor(
    private readonly path: string,
    private readonly blob: BlockBlobClient,
    private readonly stateBlob: BlockBlobClient,
    sessionSignal: AbortSignal | undefined,
    initial: { session: string; blocks: Block[]; stateStored: boolean },
  ) {
    this.session = new WriterSession(AZURE, path, sessionSignal, this.buffer);
    this.sessionId = initial.session;
    this.blocks = initial.blocks;
    this.blocksBytes = initial.blocks.reduce((n, b) => n + b.size, 0);
    this.stateStored = initial.stateStored;
  }

  get size(): number {
    return this.blocksBytes + this.buffer.length;
  }

  write(chunk: Uint8Array, options?: CallOptions): Promise<void> {
    return this.session.run(options, false, (signal) => this.buffer.append(chunk, () => this.stageBuffer(signal)));
  }

  close(options?: CallOptions): Promise<void> {
    return this.session.run(options, true, async (signal) => {
      if (this.buffer.length > 0) await this.stageBuffer(signal);
      await this.saveState(signal);
    });
  }

  commit(options?: CallOptions): Promise<void> {
    return this.session.run(options, true, async (signal) => {
      if (this.blocks.length === 0) {
        await this.blob.upload(this.buffer.bytes, this.buffer.length, {
          abortSignal: signal,
          blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
        });
      } else {
        if (this.buffer.length > 0) await this.stageBuffer(signal);
        await this.blob.commitBlockList(
          this.blocks.map((b) => b.id),
          { abortSignal: signal, blobHTTPHeaders: { blobContentType: 'application/octet-stream' } },
        );
      }
      // Published; a state left behind is recognised as committed by the next reopen (see openWriter).
      if (this.stateStored) await this.stateBlob.deleteIfExists({ abortSignal: signal }).catch(() => undefined);
    });
  }

  cancel(options?: CallOptions): Promise<void> {
    return this.session.run(options, true, async (signal) => {
      await this.stateBlob.deleteIfExists({ abortSignal: signal });
    });
  }

  /** Stages the buffer as the next block and empties it. */
  private async stageBuffer(signal: AbortSignal | undefined): Promise<void> {
    if (this.blocks.length >= MAX_BLOCKS) {
      throw new StorageError('Unknown', AZURE, `${AZURE}: ${this.path} needs more than ${MAX_BLOCKS} blocks`, { path: this.path });
    }
    const id = blockId(this.sessionId, this.blocks.length);
    await this.blob.stageBlock(id, this.buffer.bytes, this.buffer.length, { abortSignal: signal });
    this.blocks.push({ id, size: this.buffer.length });
    this.blocksBytes += this.buffer.length;
    this.buffer.clear();
  }

  private async saveState(signal: AbortSignal | undefined): Promise<void> {
    const s: WriterState = { v: 1, session: this.sessionId, blocks: this.blocks.length, size: this.blocksBytes };
    const body = JSON.stringify(s);
    await this.stateBlob.upload(body, Buffer.byteLength(body), {
      abortSignal: signal,
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
    this.stateStored = true;
  }
}
