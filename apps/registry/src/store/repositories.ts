// Repositories exist implicitly: a directory under the repositories root is one when it holds
// _layers or _manifests. Names nest ("a" and "a/b" can both be repositories), and no name
// component starts with "_", so the walk descends into every other child.
import type { Page, PageResult } from '@kuik/oci';
import type { CallOptions, StorageDriver } from '@kuik/storage';
import { layout } from './layout.js';
import { listOrEmpty } from './storage-util.js';
import { byteOrder, paginate } from './tags.js';

// Names are at most 255 characters, so at most 128 components.
const MAX_DEPTH = 128;

export class RepositoryStore {
  constructor(private readonly driver: StorageDriver) {}

  async exists(repo: string, options?: CallOptions): Promise<boolean> {
    const children = await listOrEmpty(this.driver, layout.repository(repo), options);
    return children.some((c) => {
      const base = layout.basename(c);
      return base === '_layers' || base === '_manifests';
    });
  }

  /** Every repository name, sorted. Also used by maintenance, hence `withUploads`. */
  async all(options?: CallOptions & { withUploads?: boolean }): Promise<string[]> {
    const names: string[] = [];
    const visit = async (dir: string, depth: number): Promise<void> => {
      if (depth > MAX_DEPTH) return;
      const children = await listOrEmpty(this.driver, dir, options);
      const bases = children.map((c) => layout.basename(c));
      const marked = bases.some((b) => b === '_layers' || b === '_manifests' || (options?.withUploads === true && b === '_uploads'));
      if (marked && depth > 0) names.push(layout.repositoryNameOf(dir));
      for (const child of children) {
        if (!layout.basename(child).startsWith('_')) await visit(child, depth + 1);
      }
    };
    await visit(layout.repositoriesRoot, 0);
    return names.sort(byteOrder);
  }

  async page(page: Page, options?: CallOptions): Promise<PageResult> {
    return paginate(await this.all(options), page);
  }
}
