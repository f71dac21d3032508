// Deterministic test content that never has to exist whole in memory: block i of seed s is a
// pure function of (s, i), so any byte range of a multi-GiB object can be regenerated on its own,
// and expected digests are computed while the bytes stream past.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

const BLOCK = 64 * 1024;
export const MiB = 1024 * 1024;

function fillBlock(seed: number, index: number, words: Uint32Array): void {
  // splitmix32-style mixing of (seed, index) into a non-zero xorshift32 state.
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0 || 0x6d2b79f5;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
}

/**
 * Yields the bytes [offset, offset+length) of the object (seed, size) in fresh chunks of chunkSize
 * (fresh because a consumer such as a driver's write() may keep a chunk until it resolves).
 */
export function* contentChunks(seed: number, size: number, offset = 0, length = size - offset, chunkSize = MiB): Generator<Buffer> {
  const end = Math.min(size, offset + length);
  const words = new Uint32Array(BLOCK / 4);
  const block = Buffer.from(words.buffer);
  let current = -1;
  for (let pos = offset; pos < end; ) {
    const chunk = Buffer.allocUnsafe(Math.min(chunkSize, end - pos));
    for (let filled = 0; filled < chunk.length; ) {
      const index = Math.floor(pos / BLOCK);
      if (index !== current) {
        fillBlock(seed, index, words);
        current = index;
      }
      const from = pos - index * BLOCK;
      const n = block.copy(chunk, filled, from, Math.min(BLOCK, from + chunk.length - filled));
      filled += n;
      pos += n;
    }
    yield chunk;
  }
}

/** A small range of test content, whole (only for sizes that comfortably fit in memory). */
export function contentBytes(seed: number, size: number, offset = 0, length = size - offset): Buffer {
  return Buffer.concat([...contentChunks(seed, size, offset, length)]);
}

export interface Digest {
  sha256: string;
  size: number;
}

/** Digest of a range of test content, computed streaming. */
export function contentDigest(seed: number, size: number, offset = 0, length = size - offset): Digest {
  const h = createHash('sha256');
  let n = 0;
  for (const c of contentChunks(seed, size, offset, length)) {
    h.update(c);
    n += c.length;
  }
  return { sha256: h.digest('hex'), size: n };
}

export function digestOf(bytes: Uint8Array): Digest {
  return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength };
}

/** Digest of everything a stream yields, without keeping it; onChunk sees every chunk (sampling, probes). */
export async function streamDigest(stream: Readable, onChunk?: (n: number) => void): Promise<Digest> {
  const h = createHash('sha256');
  let n = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    h.update(b);
    n += b.length;
    onChunk?.(b.length);
  }
  return { sha256: h.digest('hex'), size: n };
}
