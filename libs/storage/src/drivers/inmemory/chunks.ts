// Content kept as a list of immutable buffers: appending never copies what is already stored, and
// readers slice without copying. Small writes are packed into pages so that a writer fed one byte at
// a time does not cost a Buffer header per byte.
const PAGE = 64 * 1024;

export class ChunkList {
  private readonly chunks: Buffer[];
  private tail: Buffer | undefined; // partly filled page, owned by this list, last in `chunks`
  private tailUsed = 0;
  size: number;

  constructor(from: readonly Buffer[] = []) {
    this.chunks = [...from];
    this.size = from.reduce((n, c) => n + c.length, 0);
  }

  /** Copies the bytes in: the caller may reuse its buffer afterwards. */
  append(bytes: Uint8Array): void {
    if (bytes.byteLength >= PAGE / 2) {
      this.seal();
      this.chunks.push(Buffer.from(bytes));
    } else {
      let src = 0;
      while (src < bytes.byteLength) {
        if (!this.tail || this.tailUsed === this.tail.length) {
          this.seal();
          this.tail = Buffer.allocUnsafe(PAGE);
          this.tailUsed = 0;
          this.chunks.push(this.tail.subarray(0, 0));
        }
        const n = Math.min(bytes.byteLength - src, this.tail.length - this.tailUsed);
        this.tail.set(bytes.subarray(src, src + n), this.tailUsed);
        this.tailUsed += n;
        src += n;
        this.chunks[this.chunks.length - 1] = this.tail.subarray(0, this.tailUsed);
      }
    }
    this.size += bytes.byteLength;
  }

  /** The stored buffers, frozen: a partly filled page is trimmed to what it holds. */
  freeze(): readonly Buffer[] {
    this.seal();
    return Object.freeze([...this.chunks]);
  }

  private seal(): void {
    if (!this.tail) return;
    // Copy a mostly empty page down to its content so a small object does not pin 64 KiB.
    if (this.tailUsed < this.tail.length / 2) this.chunks[this.chunks.length - 1] = Buffer.from(this.tail.subarray(0, this.tailUsed));
    this.tail = undefined;
  }
}

/** The bytes [start, end) of a chunk list, as zero-copy slices. */
export function* slices(chunks: readonly Buffer[], start: number, end: number): Generator<Buffer> {
  let pos = 0;
  for (const c of chunks) {
    const from = pos;
    pos += c.length;
    if (pos <= start) continue;
    if (from >= end) return;
    yield c.subarray(Math.max(0, start - from), Math.min(c.length, end - from));
  }
}
