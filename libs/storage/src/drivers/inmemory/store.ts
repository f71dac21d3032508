// The in-memory tree. Like an object store, it holds files only; directories exist through the
// paths of what they contain. Committed files and in-progress (closed, uncommitted) writes live in
// separate maps, so nothing in progress is ever visible.
export interface StoredFile {
  readonly chunks: readonly Buffer[];
  readonly size: number;
  readonly modTime: Date;
}

export class MemoryStore {
  readonly files = new Map<string, StoredFile>();
  readonly inProgress = new Map<string, StoredFile>();

  /** Committed paths strictly under a directory ('/' for all), unsorted. */
  pathsUnder(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const out: string[] = [];
    for (const p of this.files.keys()) if (p.startsWith(prefix)) out.push(p);
    return out;
  }
}

// Named stores let several driver instances of one process share a tree, the way two processes
// share a disk: tests use it to reopen a write from a "restarted" driver.
const named = new Map<string, MemoryStore>();

export function memoryStore(name: string | undefined): MemoryStore {
  if (name === undefined) return new MemoryStore();
  let store = named.get(name);
  if (!store) named.set(name, (store = new MemoryStore()));
  return store;
}
