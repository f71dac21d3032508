// The running digest of upload sessions this process has seen from their first byte, so the
// final PUT can verify without re-reading the upload from storage. Purely an optimisation: an
// entry is used only when its byte count equals the size storage reports, and any doubt drops
// it (the verifier then re-reads the stored bytes). Bounded: oldest entries are evicted first.
import { Digester } from '@kuik/oci';

export interface RunningHash {
  digester: Digester;
}

export class HashCache {
  private readonly entries = new Map<string, RunningHash>();
  constructor(private readonly maxEntries = 1024) {}

  /** A fresh running hash for a session at byte 0. */
  start(key: string): RunningHash {
    const entry = { digester: new Digester('sha256') };
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  /** The running hash if it covers exactly `size` bytes; otherwise drops it and returns undefined. */
  take(key: string, size: number): RunningHash | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.digester.size === size) return entry;
    this.entries.delete(key);
    return undefined;
  }

  drop(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
