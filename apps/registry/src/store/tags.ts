// Tags: a tag is a directory holding a "current" link to a manifest digest (and, like
// distribution, an index of every digest it pointed at).
import { type Digest, type Page, type PageResult } from '@kuik/oci';
import type { CallOptions, StorageDriver } from '@kuik/storage';
import { layout } from './layout.js';
import { deleteIfExists, listOrEmpty, readLink, writeLink } from './storage-util.js';

export class TagStore {
  constructor(private readonly driver: StorageDriver) {}

  resolve(repo: string, tag: string, options?: CallOptions): Promise<Digest | null> {
    return readLink(this.driver, layout.tagCurrentLink(repo, tag), options);
  }

  async set(repo: string, tag: string, digest: Digest, options?: CallOptions): Promise<void> {
    await writeLink(this.driver, layout.tagIndexLink(repo, tag, digest), digest, options);
    await writeLink(this.driver, layout.tagCurrentLink(repo, tag), digest, options);
  }

  /** False when there was no such tag. */
  delete(repo: string, tag: string, options?: CallOptions): Promise<boolean> {
    return deleteIfExists(this.driver, layout.tagDir(repo, tag), options);
  }

  /** Every tag of the repository, in lexical (byte) order. */
  async all(repo: string, options?: CallOptions): Promise<string[]> {
    const dirs = await listOrEmpty(this.driver, layout.tagsDir(repo), options);
    return dirs.map((d) => layout.basename(d)).sort(byteOrder);
  }

  async page(repo: string, page: Page, options?: CallOptions): Promise<PageResult> {
    return paginate(await this.all(repo, options), page);
  }

  /** Tags whose current link is the digest. */
  async pointingAt(repo: string, digest: Digest, options?: CallOptions): Promise<string[]> {
    const tags = await this.all(repo, options);
    const targets = await Promise.all(tags.map((t) => this.resolve(repo, t, options)));
    return tags.filter((_t, i) => targets[i] === digest);
  }
}

export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One page of a sorted list: entries after `last`, at most `n`. */
export function paginate(sorted: string[], page: Page): PageResult {
  const from = page.last === undefined ? sorted : sorted.filter((x) => x > page.last!);
  if (page.n === undefined) return { items: from, more: false };
  return { items: from.slice(0, page.n), more: from.length > page.n };
}
